/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the two halves of retention share: scan.c finds the finished dumps
 * beneath the sink's directory, retention.c picks those that go and
 * removes them. Private to the module.
 */
#ifndef SINK_FILE_RETENTION_H
#define SINK_FILE_RETENTION_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "netdump/sink.h"

#include "file.h"

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
	enum file_layout layout;	/* the scanning dump's */
	char		*client;
	const char	*label;		/* one of files, for the log */
	struct ret_file	*files;
	size_t		 nfiles;
	dev_t		 dev;		/* of the files' directory */
	ino_t		 ino;
	unsigned int	 number;
	bool		 numbered;	/* number is the manifest's */
	struct timespec	 mtime;		/* of the manifest */
	uint64_t	 size;		/* disk usage of what is left */
	bool		 complete;
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
	struct ret_dump		*v;
	size_t			 n, cap;
};

/*
 * Find the finished dumps in the directory fd (path from the sink's
 * directory; parent its parent's path, NULL for the sink's directory;
 * dname its last component) and beneath it, into sc. Takes fd; -1 only
 * when out of memory.
 */
int	scan_dir(struct ret_scan *, int, const char *, const char *,
	    const char *, int);
void	free_ret_dump(struct ret_dump *);
/* name is a "*.last" link of the layout. */
bool	last_link_name(enum file_layout, const char *);
/* "retention: <path>: <what>: <strerror(e)>" */
void	ret_warn(const struct file_sink *, const char *, const char *, int);

#endif /* SINK_FILE_RETENTION_H */
