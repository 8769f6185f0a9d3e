/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the two halves of console capture share: console.c reads the
 * datagrams (netlog, extended netconsole, the oops scan, boots);
 * console_files.c names each boot's directory and writes its log. Private
 * to the two.
 */
#ifndef ND_CONSOLE_INT_H
#define ND_CONSOLE_INT_H

#include <sys/queue.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "console.h"
#include "linux_wire.h"
#include "log.h"

#define LOG_QUIET	60	/* s between log lines of one kind */
#define MAX_GAPS	16	/* netlog gaps remembered per client */
#define LINE_MAX_LEN	1024	/* oops scan line buffer; longer lines cut */
#define OOPS_MAX	200	/* the oops line kept */
#define RELEASE_MAX	64
/*
 * Extended messages remembered as written, by sequence number: more
 * than SEQ_BACK (console.c), past which an older one is a new boot.
 */
#define EXT_SEEN	1024
#define TIME_LEN	16	/* "YYYY-MM-DD-HH:MM" */
#define DIR_NAME_MAX	(INET_ADDRSTRLEN + 1 + TIME_LEN + 5)
/* s: past every timer, and within a 32-bit time_t */
#define LONG_AGO	((time_t)1 << 30)

/*
 * Seconds from then to now on the console's clock (nd_console_now). A
 * time after now counts as long ago: a timer never waits for a "then"
 * that has not come, whatever a caller passed.
 */
static inline time_t
con_elapsed(time_t now, time_t then)
{
	return now >= then ? now - then : LONG_AGO;
}

struct gap {
	uint64_t	start;
	uint64_t	end;
};

/* One extended netconsole message being reassembled from ncfrag parts. */
struct frag {
	uint8_t		*buf;		/* total bytes */
	uint8_t		*have;		/* a bit per byte received */
	uint32_t	 total;
	uint32_t	 got;
	uint64_t	 seq;
	uint64_t	 usec;
	time_t		 since;
};

struct client {
	TAILQ_ENTRY(client) lru;
	uint32_t	 addr;
	time_t		 heard;		/* its last datagram */
	time_t		 heard_before;	/* the one before it */
	char		 ip[INET_ADDRSTRLEN];
	char		 dir[DIR_NAME_MAX];	/* "" until it has one */
	bool		 scanned;	/* looked for a directory to reuse */
	time_t		 dir_made;	/* 0: reused, not made by this run */
	bool		 marker_known;	/* marker_at is the last marker's */
	uint64_t	 marker_at;	/* netlog offset or ext seq */
	time_t		 dir_tried;	/* last failed attempt to make one */
	int		 fd;
	uint64_t	 log_bytes;
	bool		 at_bol;	/* the file ends with a newline */
	time_t		 written;
	/* netlog */
	bool		 nl_on;
	uint64_t	 nl_next;	/* the next offset expected */
	bool		 nl_resume;	/* late text written since */
	struct gap	 gaps[MAX_GAPS];
	unsigned	 ngaps;
	/* extended netconsole */
	bool		 ext_on;
	uint64_t	 ext_seq;	/* the newest one written */
	/*
	 * Which of the EXT_SEEN seqs up to ext_seq were written, by seq %
	 * EXT_SEEN: an older one not written is late, not a copy.
	 */
	uint64_t	 ext_seen[EXT_SEEN / 64];
	struct frag	 frag;		/* buf != NULL while one is waiting */
	char		 release[RELEASE_MAX + 1];
	/* the oops scan */
	char		 line[LINE_MAX_LEN];
	size_t		 line_len;
	char		 oops[OOPS_MAX + 1];
	char		 first_oops[OOPS_MAX + 1];	/* of this boot */
	bool		 crashed;	/* an oops not yet told (crashed()) */
	bool		 crash_told;	/* ... once per boot */
	time_t		 oops_logged;
	unsigned	 oops_quiet;	/* oops lines not logged since */
	/* write errors */
	time_t		 err_logged;
	uint64_t	 err_dropped;	/* bytes since the last report */
};

TAILQ_HEAD(client_list, client);

struct stats {
	uint64_t	dup;		/* netlog chunks and ext messages */
	uint64_t	missing;	/* netlog bytes never seen (yet) */
	uint64_t	late;		/* netlog chunks filling a gap */
	uint64_t	incomplete;	/* ext messages flushed incomplete */
	uint64_t	dropped;	/* bytes not stored: errors, memory */
	uint64_t	evicted;
	uint64_t	refused;	/* new clients past NEW_PER_SEC */
	uint64_t	full;		/* new clients while none could go */
	uint64_t	no_dir;		/* boots past the directory budget */
};

struct nd_console {
	struct nd_console_conf conf;
	struct client_list clients;	/* most recently seen first */
	unsigned	 nclients;
	uint8_t		*scratch;	/* one ext line: prefix, text, '\n' */
	struct stats	 st;
	struct stats	 st_logged;
	time_t		 st_time;
	time_t		 new_second;	/* new clients heard in it */
	unsigned	 new_count;
	unsigned	 dir_tokens;	/* new directories allowed now */
	time_t		 dir_refill;
};


/* console_files.c */
/* <ip>-YYYY-MM-DD-HH:MM, or with -1, -2 ... when that name is taken. */
int	con_make_dir(struct nd_console *, struct client *, time_t now);
void	con_close_log(struct client *);
/* Count what could not be stored; say why at most once a minute. */
void	con_dropped(struct nd_console *, struct client *, size_t len,
	    time_t now, const char *what, int err);
/*
 * The client's directory: the one of this boot, else (first time this
 * run) the newest one it has, else a new one, tried once a second.
 */
int	con_ensure_dir(struct nd_console *, struct client *, time_t now);
/* Append to the client's log, rotating first if it would grow too big. */
void	con_raw_write(struct nd_console *, struct client *, const void *buf,
	    size_t len, time_t now);
/* A line of the server's own, on a line of its own. */
void	con_note_write(struct nd_console *, struct client *, time_t now,
	    const char *fmt, ...) ND_PRINTF(4, 5);

#endif /* ND_CONSOLE_INT_H */
