/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * file: what retention shares between finding the dumps (scan.c) and
 * choosing and removing them (retention.c); private to the module.
 */
#ifndef SINK_FILE_RETENTION_H
#define SINK_FILE_RETENTION_H

#include "file.h"

/* How deep retention looks beneath the sink's directory. */
#define MAX_DEPTH	32
/* Other file sinks whose directories retention stays out of. */
#define MAX_OTHERS	32
/* A manifest lists at most 1000 gaps: far below this. */
#define MANIFEST_MAX	(1024 * 1024)

struct ret_file {
	char		*name;
	uint64_t	 size;
	bool		 manifest;
	bool		 core;		/* vmcore, key or archive: what a
					 * repeat's summary leaves out */
	bool		 keep;		/* stays when the dump is removed */
	bool		 taking;	/* this removal's, for the log */
	bool		 gone;		/* removed */
};

/* One finished dump found beneath the sink's directory. */
struct ret_dump {
	char		*dir;		/* from the sink's directory; "." */
	char		*sub;		/* redhat: the dump's own, in dir */
	char		*client;
	const char	*label;		/* one of files, for the log */
	enum file_layout layout;	/* its manifest's name tells */
	struct ret_file	*files;
	size_t		 nfiles;
	dev_t		 dev;		/* of the files' directory */
	ino_t		 ino;
	unsigned int	 number;
	bool		 numbered;	/* number is its names' */
	struct timespec	 mtime;		/* of the manifest */
	uint64_t	 size;		/* disk usage of what is left */
	bool		 complete;
	bool		 unfinished;	/* its manifest is the one of begin */
	char		 sig[NDS_SIGNATURE_SIZE]; /* its panic's; "" none */
	bool		 has_core;	/* one of files is core */
	bool		 summary;	/* its manifest lists a core that is
					 * gone: a repeat's summary */
	bool		 mine;		/* of the client that dumped */
	bool		 active;	/* between begin and end */
	bool		 tried;		/* removal attempted */
	bool		 gone;		/* removed, all of it */
};

struct ret_scan {
	const struct file_dump	*d;	/* the dump that ended */
	const struct file_sink	*fs;
	enum file_layout	 layout;	/* the sink's, for FreeBSD dumps */
	int			 root;	/* the sink's directory */
	char			 base[NDS_WHERE_SIZE];	/* root, as "where"
							 * spells it */
	struct ret_dump		*v;
	struct ret_dump		**p;	/* room for n pointers into v */
	char			*text;	/* MANIFEST_MAX bytes, for one */
	size_t			 n, cap;
	/* The directories of the other instances, not to go into. */
	struct { dev_t dev; ino_t ino; } others[MAX_OTHERS];
	size_t			 nothers;
};

/* "retention: <path>: <what>: <strerror(e)>" */
void	ret_warn(const struct file_sink *, const char *path, const char *what,
	    int e);
/* "<stem>.last<ext>" (savecore) or "<stem>.<client>.last" (netdumpd). */
bool	last_link_name(enum file_layout, const char *name);
void	free_ret_dump(struct ret_dump *);
/* The directories of the other file sinks of this process, into sc. */
void	find_others(struct ret_scan *sc, int dumpdir_fd, const struct stat *);
/*
 * The dumps in the directory fd and beneath it, into sc->v (path from
 * the sink's directory; parent its parent's, NULL for the sink's; dname
 * its last component). -1 only when out of memory.
 */
int	scan_dir(struct ret_scan *sc, int fd, const char *path,
	    const char *parent, const char *dname, int depth);

#endif /* SINK_FILE_RETENTION_H */
