/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the parts of the file sink share; private to the module. file.c
 * has the sink's ops and the names of the files, dirs.c finds and makes
 * the directories they go in, links.c moves the *.last links, active.c
 * knows the dumps in flight, retention.c removes old dumps, which scan.c
 * finds by their manifests.
 */
#ifndef SINK_FILE_H
#define SINK_FILE_H

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netdump/sink.h"
#include "sinkutil.h"

enum file_layout {
	LAYOUT_SAVECORE = 0,	/* in the order of the "layout" choices */
	LAYOUT_NETDUMPD,
	LAYOUT_REDHAT,
};

#define NKINDS		NDS_OBJ_NKINDS
/*
 * The tail of the manifest a dump has until it ends (the host's
 * manifest_unfinished): "manifest.3.json.unfinished".
 */
#define UNFINISHED_TAIL	".unfinished"
#define SUFFIX_MAX	32
/* The characters of a suffix set_suffix takes, and retention knows. */
#define SUFFIX_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789._-"
#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* The options, as the host fills them from file_options[]. */
struct file_config {
	int		 layout;	/* enum file_layout */
	const char	*dir;		/* NULL: the server's dump directory */
	bool		 sync;		/* fsync */
	const char	*mode;
	int64_t		 keep;		/* keep_per_client; 0: all */
	int64_t		 max_total;	/* max_total_size; 0: no limit */
	int64_t		 keep_sig;	/* keep_per_signature; 0: all */
	int		 repeats;	/* enum file_repeats */
};

/* What a repeat past keep_per_signature keeps ("repeats" choices). */
enum file_repeats {
	REPEATS_SUMMARY = 0,	/* info, msgbuf and manifest */
	REPEATS_REMOVE,		/* nothing */
};

/* One per [sink] section; read-only after create. */
struct file_sink {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	const struct file_config *cfg;	/* the host's, until destroy */
	mode_t			 mode;	/* cfg->mode, parsed */
	struct file_sink	*next_sink;	/* on the instances */
};

/* One per dump. */
struct file_dump {
	const struct file_sink	*fs;
	const struct nds_dump	*dump;
	enum file_layout	 layout;	/* the sink's; Red Hat's for Linux */
	bool			 claimed;	/* made vmcore-incomplete in a
						 * boot directory (dirs.c) */
	int			 dirfd;		/* where the files go */
	unsigned int		 number;	/* N (savecore, netdumpd) */
	char			 infix[NAME_MAX + 1]; /* ".N", ".<client>.N" */
	bool			 failed;	/* an op of this dump failed */
	bool			 opened;	/* an object was opened */
	int			 unfinished_fd;	/* its unfinished manifest,
						 * locked; -1 none */
	bool			 stored[NKINDS]; /* under its final name */
	char			 suffix[NKINDS][SUFFIX_MAX]; /* a transform's */
	char			 vmcore[NAME_MAX + 1]; /* final vmcore name */
	char			 rel[NDS_WHERE_SIZE]; /* dirfd, for "where" */
	dev_t			 dev;		/* dirfd's, for retention */
	ino_t			 ino;
	/*
	 * Other chains' copies of the same dump in the same directory (a
	 * route "local, z | local"): their numbers, kept from removal while
	 * this copy's chain still runs. Under active_lock.
	 */
	unsigned int		 siblings[32];
	size_t			 nsiblings;
	struct file_dump	*next_active;	/* on the active dumps */
};

/* snprintf that fails with ENAMETOOLONG instead of truncating. */
int	fmtname(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	xclose(int);

/* dirs.c: the directories of a dump; err is an NDS_ERRBUF_SIZE buffer. */
int	open_walk(int, const char *);
int	base_where(const char *, char *, size_t);
int	open_base(struct file_dump *, int *, char *);
int	open_herald_path(struct file_dump *, int, char *);
int	open_subdir(struct file_dump *, int, const char *, bool, char *);
int	open_redhat_dir(struct file_dump *, int, char *);

/* active.c: the dumps between begin and end, and the instances. */
int	register_dump(struct file_dump *);
void	unregister_dump(struct file_dump *);
void	register_sink(struct file_sink *);
void	unregister_sink(struct file_sink *);
bool	active_dump(enum file_layout, dev_t, ino_t, unsigned int,
	    const char *);
size_t	other_sink_dirs(const struct file_sink *, char **, size_t);

/* file.c: the host's name for an object of d (its final one, at close). */
int	host_name(const struct file_dump *d, enum nds_object_kind,
	    const char *suffix, const char *infix, char name[NAME_MAX + 1]);
int	final_name(const struct file_dump *d, enum nds_object_kind,
	    char name[NAME_MAX + 1]);
/* links.c: point the dump directory's *.last links at this dump. */
int	update_links(struct file_dump *d, char *err);

/* retention.c: retention, run when a dump ends. */
void	run_retention(const struct file_dump *);

#endif /* SINK_FILE_H */
