/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Console and oops capture (see console.h). Each client has at most one
 * open file, a line buffer for the oops scan, a fixed list of netlog gaps
 * and at most one extended netconsole message being reassembled; clients
 * beyond max_clients are evicted least recently seen first. Nothing from
 * a datagram reaches a file name: directories are named from the address
 * and the clock only.
 */
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "console.h"
#include "linux_wire.h"
#include "log.h"

#define FRAG_WAIT	5	/* s an incomplete ext message waits */
#define IDLE_CLOSE	60	/* s a log file stays open unused */
#define LOG_QUIET	60	/* s between log lines of one kind */
#define BOOT_SETTLE	60	/* s a new directory absorbs any boot sign */
#define DIR_TRIES	100	/* names tried for a new directory */
#define DIR_BURST	256	/* new directories at once ... */
#define DIR_EVERY	1	/* ... then one per this many seconds */
#define MAX_GAPS	16	/* netlog gaps remembered per client */
#define LINE_MAX_LEN	1024	/* oops scan line buffer; longer lines cut */
#define OOPS_MAX	200	/* the oops line kept */
#define RELEASE_MAX	64
#define SEQ_BACK	1000	/* an ext seq this far back is a reboot */
/*
 * Netlog offset 0 after this many bytes is a reboot, not a duplicate: a
 * copy of the first chunk comes within the boot's burst, long before.
 * Smaller than a boot's messages, so a host rebooting soon after its
 * last boot still gets its replay into the new directory.
 */
#define NL_FAR		16384
#define TIME_LEN	16	/* "YYYY-MM-DD-HH:MM" */
#define DIR_NAME_MAX	(INET_ADDRSTRLEN + 1 + TIME_LEN + 5)

static const char nl_marker[] = "[...network console startup...]";
static const char nc_marker[] = "netconsole: network logging started";

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
	uint64_t	 ext_seq;	/* the last one written */
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

#define SCRATCH_SIZE	(LX_EXT_MAX_MESSAGE + 64)
#define NEW_PER_SEC	16	/* clients first heard in one second */

static void	text_write(struct nd_console *, struct client *, const void *,
		    size_t, time_t);
static void	note_write(struct nd_console *, struct client *, time_t,
		    const char *, ...) ND_PRINTF(4, 5);

/* Directory names */

/* "YYYY-MM-DD-HH:MM" then nothing or "-N"; N into *n. */
static bool
time_part_ok(const char *s, unsigned long *n)
{
	static const char pat[] = "dddd-dd-dd-dd:dd";
	size_t i;
	char *end;

	for (i = 0; i < TIME_LEN; i++)
		if (pat[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != pat[i])
			return false;
	*n = 0;
	if (s[TIME_LEN] == '\0')
		return true;
	if (s[TIME_LEN] != '-' || s[TIME_LEN + 1] < '1' ||
	    s[TIME_LEN + 1] > '9' || strlen(s + TIME_LEN + 1) > 4)
		return false;
	errno = 0;
	*n = strtoul(s + TIME_LEN + 1, &end, 10);
	return errno == 0 && *end == '\0';
}

/* A real directory (no symlink) holding a regular file "log". */
static bool
has_log(int dfd, const char *name)
{
	char path[DIR_NAME_MAX + 8];
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISDIR(st.st_mode))
		return false;
	snprintf(path, sizeof(path), "%s/log", name);
	return fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
}

/*
 * The newest "<ip>-..." directory with a log: the latest time, then the
 * highest suffix. A restarted server keeps appending where it left off.
 */
static bool
find_newest(struct nd_console *con, struct client *c)
{
	char prefix[INET_ADDRSTRLEN + 1], best[DIR_NAME_MAX] = "";
	unsigned long n, best_n = 0;
	struct dirent *de;
	size_t plen;
	DIR *d;
	int fd, cmp;

	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s-", c->ip);
	if ((fd = openat(con->conf.dumpdir_fd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return false;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return false;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    strlen(de->d_name) >= sizeof(best) ||
		    !time_part_ok(de->d_name + plen, &n) ||
		    !has_log(fd, de->d_name))
			continue;
		cmp = best[0] == '\0' ? 1 :
		    memcmp(de->d_name + plen, best + plen, TIME_LEN);
		if (cmp > 0 || (cmp == 0 && n > best_n)) {
			memcpy(best, de->d_name, strlen(de->d_name) + 1);
			best_n = n;
		}
	}
	closedir(d);
	if (best[0] == '\0')
		return false;
	memcpy(c->dir, best, sizeof(c->dir));
	return true;
}

/* <ip>-YYYY-MM-DD-HH:MM, or with -1, -2 ... when that name is taken. */
static int
make_dir(struct nd_console *con, struct client *c, time_t now)
{
	char stamp[TIME_LEN + 1], name[DIR_NAME_MAX];
	struct tm tm;
	unsigned i;

	/*
	 * Every directory is an inode of the dump file system, whoever
	 * asked: DIR_BURST at once, then one every DIR_EVERY seconds.
	 */
	if (con->dir_refill == 0)
		con->dir_tokens = DIR_BURST;
	else if (now > con->dir_refill) {
		uint64_t more = (uint64_t)(now - con->dir_refill) / DIR_EVERY;

		con->dir_tokens = more >= DIR_BURST - con->dir_tokens ?
		    DIR_BURST : con->dir_tokens + (unsigned)more;
	}
	con->dir_refill = now;
	if (con->dir_tokens == 0) {
		con->st.no_dir++;
		errno = 0;
		return -1;
	}
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H:%M", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "0000-00-00-00:00");
	for (i = 0; i < DIR_TRIES; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "%s-%s", c->ip, stamp);
		else
			snprintf(name, sizeof(name), "%s-%s-%u", c->ip, stamp,
			    i % 10000);
		if (mkdirat(con->conf.dumpdir_fd, name, 0700) == 0) {
			con->dir_tokens--;
			memcpy(c->dir, name, sizeof(c->dir));
			c->dir_made = now;
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	if (errno != EEXIST) {
		int e = errno;

		if (now - c->err_logged >= LOG_QUIET) {
			log_warnx("console: %s: cannot make directory %s: %s",
			    c->ip, name, strerror(e));
			c->err_logged = now;
		}
		errno = e;
	}
	return -1;
}

/* Files */

static void
close_log(struct client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/* The client's directory, opened without following a symlink. */
static int
open_dir(struct nd_console *con, struct client *c)
{
	return openat(con->conf.dumpdir_fd, c->dir, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
}

static int
open_log(struct nd_console *con, struct client *c)
{
	struct stat st;
	int dfd, fd = -1;

	if ((dfd = open_dir(con, c)) == -1)
		goto out;
	fd = openat(dfd, "log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600);
	if (fd == -1)
		goto out;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		fd = -1;
		errno = EINVAL;
		goto out;
	}
	c->fd = fd;
	c->log_bytes = (uint64_t)st.st_size;
	if (st.st_size == 0)		/* else as it was when closed */
		c->at_bol = true;
out:
	if (dfd != -1)
		close(dfd);
	return fd == -1 ? -1 : 0;
}

/* log.(N-1) -> log.N ... log -> log.1, then a fresh log. */
static int
rotate(struct nd_console *con, struct client *c)
{
	char from[32], to[32];
	unsigned i;
	int dfd, rv = -1;

	close_log(c);
	if ((dfd = open_dir(con, c)) == -1)
		return -1;
	for (i = con->conf.log_keep; i > 1; i--) {
		snprintf(from, sizeof(from), "log.%u", i - 1);
		snprintf(to, sizeof(to), "log.%u", i);
		if (renameat(dfd, from, dfd, to) == -1 && errno != ENOENT)
			goto out;
	}
	if (con->conf.log_keep > 0) {
		if (renameat(dfd, "log", dfd, "log.1") == -1 &&
		    errno != ENOENT)
			goto out;
	} else if (unlinkat(dfd, "log", 0) == -1 && errno != ENOENT)
		goto out;
	rv = 0;
out:
	close(dfd);
	return rv;
}

/* Count what could not be stored; say why at most once a minute. */
static void
dropped(struct nd_console *con, struct client *c, size_t len, time_t now,
    const char *what, int err)
{
	con->st.dropped += len;
	c->err_dropped += len;
	if (now - c->err_logged >= LOG_QUIET) {
		log_warnx("console: %s: %s%s%s%s%s", c->ip, what,
		    c->dir[0] != '\0' ? " " : "", c->dir, err != 0 ? ": " : "",
		    err != 0 ? strerror(err) : "");
		c->err_logged = now;
		c->err_dropped = 0;
	}
}

/*
 * The client's directory: the one of this boot, else (first time this
 * run) the newest one it has, else a new one, tried once a second.
 */
static int
ensure_dir(struct nd_console *con, struct client *c, time_t now)
{
	if (c->dir[0] != '\0')
		return 0;
	if (!c->scanned) {
		c->scanned = true;
		if (find_newest(con, c)) {
			log_debug("console: %s: console text appended to "
			    "%s/log", c->ip, c->dir);
			return 0;
		}
	} else if (c->dir_tried == now)
		return -1;
	if (make_dir(con, c, now) == -1) {
		c->dir_tried = now;
		return -1;
	}
	log_info("console: %s: new boot, console text in %s/log", c->ip,
	    c->dir);
	return 0;
}

/* Append to the client's log, rotating first if it would grow too big. */
static void
raw_write(struct nd_console *con, struct client *c, const void *buf,
    size_t len, time_t now)
{
	const uint8_t *p = buf;
	ssize_t n;

	if (len == 0)
		return;
	if (ensure_dir(con, c, now) == -1) {
		dropped(con, c, len, now, errno != 0 ? "no directory for "
		    "console text" : "no directory for console text: the "
		    "server makes 256 new ones at once, then one a second",
		    errno);
		return;
	}
	if (c->fd == -1 && open_log(con, c) == -1) {
		dropped(con, c, len, now, "cannot open log in", errno);
		return;
	}
	if (con->conf.log_size > 0 && c->log_bytes > 0 &&
	    c->log_bytes + len > con->conf.log_size) {
		if (rotate(con, c) == -1 && now - c->err_logged >= LOG_QUIET) {
			log_warn("console: %s: cannot rotate %s/log", c->ip,
			    c->dir);
			c->err_logged = now;
		}
		if (c->fd == -1 && open_log(con, c) == -1) {
			dropped(con, c, len, now, "cannot open log in", errno);
			return;
		}
	}
	c->written = now;
	while (len > 0) {
		if ((n = write(c->fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			dropped(con, c, len, now, "cannot write log in", errno);
			return;
		}
		p += n;
		len -= (size_t)n;
		c->log_bytes += (uint64_t)n;
		c->at_bol = p[-1] == '\n';
	}
}

/* A line of the server's own, on a line of its own. */
static void
note_write(struct nd_console *con, struct client *c, time_t now,
    const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	line[0] = '\n';
	va_start(ap, fmt);
	n = vsnprintf(line + 1, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n + 1] = '\n';
	if (c->at_bol)
		raw_write(con, c, line + 1, (size_t)n + 1, now);
	else
		raw_write(con, c, line, (size_t)n + 2, now);
}

/* The oops scan */

static void
oops_line(struct client *c, const char *line, time_t now)
{
	static const char *const pat[] = {
		"Kernel panic - not syncing", "Oops:", "BUG: unable to handle",
		"kernel BUG at", "general protection fault",
		"Unable to handle kernel", "BUG: soft lockup", "Call Trace:",
	};
	size_t i, n = sizeof(pat) / sizeof(pat[0]);

	for (i = 0; i < n; i++)
		if (strstr(line, pat[i]) != NULL)
			break;
	if (i == n)
		return;
	/* A trace follows the oops: it marks one only if none was seen. */
	if (i == n - 1 && c->oops[0] != '\0')
		return;
	snprintf(c->oops, sizeof(c->oops), "%.*s", OOPS_MAX, line);
	if (!c->crash_told)
		c->crashed = true;
	/* It goes to syslog and the manifest: no terminal controls. */
	for (i = 0; c->oops[i] != '\0'; i++)
		if ((unsigned char)c->oops[i] < 0x20 ||
		    (unsigned char)c->oops[i] == 0x7f)
			c->oops[i] = '?';
	/* The first says what happened; what follows, that it was fatal. */
	if (c->first_oops[0] == '\0')
		memcpy(c->first_oops, c->oops, sizeof(c->oops));
	if (c->oops_logged != 0 && now - c->oops_logged < LOG_QUIET) {
		c->oops_quiet++;
		return;
	}
	logit(LOG_NOTICE, "console: %s: %s (in %s/log)", c->ip, c->oops,
	    c->dir);
	c->oops_logged = now;
}

/* Feed text to the line buffer; each complete line is scanned. */
static void
oops_scan(struct client *c, const uint8_t *p, size_t len, time_t now)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n') {
			while (c->line_len > 0 && c->line[c->line_len - 1] ==
			    '\r')
				c->line_len--;
			c->line[c->line_len] = '\0';
			oops_line(c, c->line, now);
			c->line_len = 0;
		} else if (c->line_len < sizeof(c->line) - 1)
			c->line[c->line_len++] = p[i] == '\0' ? ' ' :
			    (char)p[i];
	}
}

/* Console text: into the file and through the oops scan. */
static void
text_write(struct nd_console *con, struct client *c, const void *buf,
    size_t len, time_t now)
{
	raw_write(con, c, buf, len, now);
	oops_scan(c, buf, len, now);
}

/* Extended netconsole */

static void
frag_free(struct client *c)
{
	free(c->frag.buf);
	free(c->frag.have);
	memset(&c->frag, 0, sizeof(c->frag));
}

/* "[%5llu.%06llu] text\n", as dmesg shows it. */
static void
ext_line(struct nd_console *con, struct client *c, uint64_t usec,
    const uint8_t *text, size_t len, time_t now)
{
	size_t n;

	n = (size_t)snprintf((char *)con->scratch, 64, "[%5" PRIu64 ".%06"
	    PRIu64 "] ", usec / 1000000, usec % 1000000);
	if (len > SCRATCH_SIZE - n - 1)
		len = SCRATCH_SIZE - n - 1;
	memcpy(con->scratch + n, text, len);
	n += len;
	if (len == 0 || text[len - 1] != '\n')
		con->scratch[n++] = '\n';
	text_write(con, c, con->scratch, n, now);
}

/* Write the waiting message as it is: the bytes that came, in order. */
static void
frag_flush(struct nd_console *con, struct client *c, time_t now)
{
	struct frag *f = &c->frag;
	uint32_t i, n = 0;

	if (f->buf == NULL)
		return;
	con->st.incomplete++;
	note_write(con, c, now, "[netdump-server: message %" PRIu64
	    " incomplete: %" PRIu32 " of %" PRIu32 " bytes came]", f->seq,
	    f->got, f->total);
	for (i = 0; i < f->total; i++)
		if (f->have[i / 8] & (1u << (i % 8)))
			f->buf[n++] = f->buf[i];
	ext_line(con, c, f->usec, f->buf, n, now);
	c->ext_on = true;
	c->ext_seq = f->seq;
	frag_free(c);
}

/* One ncfrag part; the message is written when every byte is in. */
static void
frag_add(struct nd_console *con, struct client *c, const struct lx_ext *e,
    time_t now)
{
	struct frag *f = &c->frag;
	uint32_t i, o;

	if (f->buf == NULL) {
		f->buf = malloc(e->frag_total);
		f->have = calloc(((size_t)e->frag_total + 7) / 8, 1);
		if (f->buf == NULL || f->have == NULL) {
			frag_free(c);
			dropped(con, c, e->text_len, now,
			    "no memory for a message to", ENOMEM);
			return;
		}
		f->total = e->frag_total;
		f->seq = e->seq;
		f->usec = e->usec;
		f->since = now;
	}
	if (e->frag_total != f->total) {
		con->st.dropped += e->text_len;	/* not of this message */
		return;
	}
	for (i = 0; i < e->text_len; i++) {
		o = e->frag_offset + i;
		if (f->have[o / 8] & (1u << (o % 8)))
			continue;
		f->have[o / 8] |= (uint8_t)(1u << (o % 8));
		f->buf[o] = e->text[i];
		f->got++;
	}
	if (f->got == f->total) {
		ext_line(con, c, f->usec, f->buf, f->total, now);
		c->ext_on = true;
		c->ext_seq = f->seq;
		frag_free(c);
	}
}

static void
ext_input(struct nd_console *con, struct client *c, const struct lx_ext *e,
    time_t now)
{
	if (e->release != NULL)
		snprintf(c->release, sizeof(c->release), "%.*s",
		    (int)e->release_len, e->release);
	/*
	 * A copy of what was written is dropped before it can touch the
	 * message being put together; only a newer message (or the same
	 * one, whole) ends that one, and an older one that comes late is
	 * written as it is.
	 */
	if (c->ext_on && e->seq <= c->ext_seq) {
		con->st.dup++;
		return;
	}
	if (c->frag.buf != NULL && (e->seq > c->frag.seq ||
	    (e->seq == c->frag.seq && !e->fragment) ||
	    (e->seq < c->frag.seq && e->fragment)))
		frag_flush(con, c, now);
	if (e->fragment)
		frag_add(con, c, e, now);
	else {
		ext_line(con, c, e->usec, e->text, e->text_len, now);
		if (!c->ext_on || e->seq > c->ext_seq)
			c->ext_seq = e->seq;
		c->ext_on = true;
	}
}

/* netlog */

/*
 * The stream offset of a netlog chunk: its 32-bit info read as the value
 * nearest the offset expected next (serial number arithmetic), so a
 * client that has sent more than 4 GiB since it booted goes on.
 */
static uint64_t
nl_offset(const struct client *c, uint32_t info)
{
	const uint64_t half = (uint64_t)1 << 31, wrap = (uint64_t)1 << 32;
	uint64_t base = c->nl_on ? c->nl_next : 0;
	uint64_t v = (base & ~(wrap - 1)) | info;

	if (v + half < base)
		v += wrap;
	else if (v >= wrap && v > base + half)
		v -= wrap;
	return v;
}

static void
gap_add(struct client *c, uint64_t start, uint64_t end)
{
	if (c->ngaps == MAX_GAPS) {	/* forget the oldest */
		memmove(&c->gaps[0], &c->gaps[1], (MAX_GAPS - 1) *
		    sizeof(c->gaps[0]));
		c->ngaps--;
	}
	c->gaps[c->ngaps++] = (struct gap){ start, end };
}

static bool
in_gap(const struct client *c, uint64_t off)
{
	unsigned i;

	for (i = 0; i < c->ngaps; i++)
		if (off >= c->gaps[i].start && off < c->gaps[i].end)
			return true;
	return false;
}

/*
 * The parts of [s, e) that fill remembered gaps, each with a marker; the
 * gaps shrink or split. Returns whether anything was written.
 */
static bool
nl_late(struct nd_console *con, struct client *c, uint64_t s, uint64_t e,
    const uint8_t *text, time_t now)
{
	struct gap g;
	uint64_t a, b;
	unsigned i = 0;
	bool any = false;

	while (i < c->ngaps) {
		g = c->gaps[i];
		a = s > g.start ? s : g.start;
		b = e < g.end ? e : g.end;
		if (a >= b) {
			i++;
			continue;
		}
		con->st.late++;
		note_write(con, c, now, "[netdump-server: late console text "
		    "from offset %" PRIu64 "]", a);
		text_write(con, c, text + (a - s), (size_t)(b - a), now);
		any = true;
		c->nl_resume = true;
		memmove(&c->gaps[i], &c->gaps[i + 1], (c->ngaps - i - 1) *
		    sizeof(c->gaps[0]));
		c->ngaps--;
		if (b < g.end)
			gap_add(c, b, g.end);
		if (g.start < a)
			gap_add(c, g.start, a);
		i = 0;		/* the list moved */
	}
	return any;
}

static void
nl_input(struct nd_console *con, struct client *c, const struct lx_reply *r,
    time_t now)
{
	uint64_t s = nl_offset(c, r->info), e = s + r->len;
	bool any;

	if (!c->nl_on) {
		c->nl_on = true;
		c->nl_next = s;
	}
	any = nl_late(con, c, s, e < c->nl_next ? e : c->nl_next, r->payload,
	    now);
	if (e > c->nl_next) {
		if (s > c->nl_next) {
			note_write(con, c, now, "[netdump-server: %" PRIu64
			    " bytes of console text missing here]",
			    s - c->nl_next);
			con->st.missing += s - c->nl_next;
			gap_add(c, c->nl_next, s);
			c->nl_next = s;
		} else if (c->nl_resume)
			note_write(con, c, now, "[netdump-server: console text "
			    "resumes at offset %" PRIu64 "]", c->nl_next);
		c->nl_resume = false;
		text_write(con, c, r->payload + (c->nl_next - s),
		    (size_t)(e - c->nl_next), now);
		c->nl_next = e;
	} else if (!any && r->len > 0)
		con->st.dup++;
}

/* Clients and boots */

static void
client_free(struct nd_console *con, struct client *c, time_t now)
{
	frag_flush(con, c, now);
	close_log(c);
	frag_free(c);
	TAILQ_REMOVE(&con->clients, c, lru);
	con->nclients--;
	free(c);
}

/* The client, made the most recent; NULL on ENOMEM. */
static struct client *
client_get(struct nd_console *con, uint32_t addr, time_t now)
{
	struct in_addr in = { .s_addr = addr };
	struct client *c;

	/* Linear: a few hundred clients at most, the busy ones in front. */
	TAILQ_FOREACH(c, &con->clients, lru)
		if (c->addr == addr)
			break;
	if (c != NULL) {
		TAILQ_REMOVE(&con->clients, c, lru);
		TAILQ_INSERT_HEAD(&con->clients, c, lru);
		return c;
	}
	/*
	 * A new client costs a look at the dump directory and maybe a new
	 * directory: a flood from forged addresses gets NEW_PER_SEC a
	 * second, not one per datagram.
	 */
	if (con->new_second != now) {
		con->new_second = now;
		con->new_count = 0;
	}
	if (con->new_count >= NEW_PER_SEC) {
		con->st.refused++;
		return NULL;
	}
	con->new_count++;
	if (con->nclients >= con->conf.max_clients) {
		con->st.evicted++;
		client_free(con, TAILQ_LAST(&con->clients, client_list), now);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->addr = addr;
	c->fd = -1;
	c->at_bol = true;
	inet_ntop(AF_INET, &in, c->ip, sizeof(c->ip));
	TAILQ_INSERT_HEAD(&con->clients, c, lru);
	con->nclients++;
	return c;
}

static struct client *
client_find(struct nd_console *con, uint32_t addr)
{
	struct client *c;

	TAILQ_FOREACH(c, &con->clients, lru)
		if (c->addr == addr)
			return c;
	return NULL;
}

/*
 * The old boot's waiting text goes to its file; the new one starts clean,
 * in a new directory (marked: made for a boot marker).
 */
static void
new_boot(struct nd_console *con, struct client *c, time_t now)
{
	frag_flush(con, c, now);
	close_log(c);
	c->dir[0] = '\0';
	c->scanned = true;	/* a new directory, never an old one */
	c->nl_on = c->ext_on = false;
	c->ngaps = 0;
	c->line_len = 0;
	c->oops[0] = c->first_oops[0] = '\0';
	c->crashed = c->crash_told = false;
	c->at_bol = true;
	(void)ensure_dir(con, c, now);
}

/*
 * The stream started over too soon for a directory of its own: what
 * comes is written on in this one, after a line that says so, rather than
 * taken for copies of what was.
 */
static void
restart(struct nd_console *con, struct client *c, time_t now)
{
	frag_flush(con, c, now);
	c->nl_on = c->ext_on = false;
	c->ngaps = 0;
	note_write(con, c, now, "[netdump-server: the client's console "
	    "started over]");
}

/*
 * A boot marker at pos (netlog offset, ext seq; has_pos false for plain
 * text). Seen again at the same place it is a duplicate. (A directory
 * made moments ago takes it as the same boot: boot_sign.)
 */
static bool
marker_boot(struct client *c, const uint8_t *text, size_t len, bool has_pos,
    uint64_t pos)
{
	if (memmem(text, len, nl_marker, sizeof(nl_marker) - 1) == NULL &&
	    memmem(text, len, nc_marker, sizeof(nc_marker) - 1) == NULL)
		return false;
	if (has_pos && c->marker_known && c->marker_at == pos)
		return false;
	c->marker_known = has_pos;
	c->marker_at = pos;
	return true;
}

/*
 * BOOT_RESTART: the stream started over within BOOT_SETTLE of the
 * directory: it goes on in the same one, its text kept.
 */
enum boot { BOOT_NONE, BOOT_RESET, BOOT_MARKER, BOOT_RESTART };

/*
 * Whether this datagram starts a boot: an ext seq or netlog offset gone
 * back, a client first seen whose stream starts at 0, or a marker.
 */
static enum boot
boot_sign(struct client *c, enum lx_kind kind, const struct lx_reply *r,
    const struct lx_ext *e, const uint8_t *text, size_t len, time_t now)
{
	bool first = !c->scanned && c->dir[0] == '\0', reset = false;
	enum boot boot = BOOT_NONE;
	uint64_t pos = 0, off;

	if (kind == LX_NETDUMP) {
		pos = off = nl_offset(c, r->info);
		/*
		 * Far behind what was written, and no gap left there: the
		 * stream started over (its first chunk may be the one lost).
		 */
		if (c->nl_on)
			reset = off + NL_FAR < c->nl_next && !in_gap(c, off);
		else
			reset = first && r->info == 0;
	} else if (kind == LX_NETCONSOLE_EXT) {
		pos = e->seq;
		if (c->ext_on)
			reset = e->seq + SEQ_BACK < c->ext_seq ||
			    (e->seq <= 1 && c->ext_seq > 1);
		else
			reset = first && e->seq <= 1;
	}
	if (marker_boot(c, text, len, kind != LX_NETCONSOLE, pos))
		boot = BOOT_MARKER;
	else if (reset)
		boot = BOOT_RESET;
	/*
	 * A directory this run made less than BOOT_SETTLE ago takes every
	 * sign as the same boot: RHEL 4 replays its log before its marker,
	 * and a client that repeats markers or sequence resets in every
	 * datagram gets one directory a minute, not one per datagram.
	 */
	if (boot != BOOT_NONE && c->dir[0] != '\0' && c->dir_made != 0 &&
	    now - c->dir_made < BOOT_SETTLE)
		return boot == BOOT_RESET ? BOOT_RESTART : BOOT_NONE;
	return boot;
}

/* API */

struct nd_console *
nd_console_new(const struct nd_console_conf *conf)
{
	struct nd_console *con;

	if ((con = calloc(1, sizeof(*con))) == NULL)
		return NULL;
	if ((con->scratch = malloc(SCRATCH_SIZE)) == NULL) {
		free(con);
		return NULL;
	}
	con->conf = *conf;
	if (con->conf.max_clients == 0)
		con->conf.max_clients = 1;
	TAILQ_INIT(&con->clients);
	return con;
}

void
nd_console_free(struct nd_console *con)
{
	time_t now = time(NULL);

	if (con == NULL)
		return;
	while (!TAILQ_EMPTY(&con->clients))
		client_free(con, TAILQ_FIRST(&con->clients), now);
	free(con->scratch);
	free(con);
}

bool
nd_console_input(struct nd_console *con, uint32_t addr, const uint8_t *buf,
    size_t len, time_t now)
{
	enum lx_kind kind = lx_classify(buf, len);
	struct lx_reply r;
	struct lx_ext e;
	struct client *c;
	enum boot boot;
	const uint8_t *text = buf;
	size_t tlen = len;

	if (kind == LX_EMPTY)
		return true;
	if (kind == LX_NETDUMP) {
		if (lx_reply_decode(buf, len, &r) != LX_DECODE_OK ||
		    r.code != LX_REPLY_LOG)
			return false;
		text = r.payload;
		tlen = r.len;
	} else if (kind == LX_NETCONSOLE_EXT) {
		if (lx_ext_parse(buf, len, &e) == -1)
			kind = LX_NETCONSOLE;	/* lx_classify said it was */
		else {
			text = e.text;
			tlen = e.text_len;
		}
	}
	if ((c = client_get(con, addr, now)) == NULL) {
		con->st.dropped += tlen;
		return true;
	}
	boot = boot_sign(c, kind, &r, &e, text, tlen, now);
	if (boot == BOOT_RESTART)
		restart(con, c, now);
	else if (boot != BOOT_NONE)
		new_boot(con, c, now);
	if (kind == LX_NETDUMP)
		nl_input(con, c, &r, now);
	else if (kind == LX_NETCONSOLE_EXT)
		ext_input(con, c, &e, now);
	else
		text_write(con, c, buf, len, now);
	return true;
}

/* What was counted and not logged line by line, once a minute. */
static void
tick_stats(struct nd_console *con, time_t now)
{
	struct stats *s = &con->st, *o = &con->st_logged;

	if (now - con->st_time < LOG_QUIET || memcmp(s, o, sizeof(*s)) == 0)
		return;
	log_info("console: %" PRIu64 " duplicates dropped, %" PRIu64
	    " bytes missing, %" PRIu64 " late chunks, %" PRIu64
	    " incomplete messages, %" PRIu64 " bytes not stored, %" PRIu64
	    " clients evicted, %" PRIu64 " datagrams from new clients past "
	    "%d a second, %" PRIu64 " new directories past the budget",
	    s->dup - o->dup, s->missing - o->missing,
	    s->late - o->late, s->incomplete - o->incomplete,
	    s->dropped - o->dropped, s->evicted - o->evicted,
	    s->refused - o->refused, NEW_PER_SEC, s->no_dir - o->no_dir);
	*o = *s;
	con->st_time = now;
}

void
nd_console_tick(struct nd_console *con, time_t now)
{
	struct client *c;

	TAILQ_FOREACH(c, &con->clients, lru) {
		if (c->frag.buf != NULL && now - c->frag.since >= FRAG_WAIT)
			frag_flush(con, c, now);
		if (c->fd != -1 && now - c->written >= IDLE_CLOSE)
			close_log(c);
		if (c->oops_quiet > 0 && now - c->oops_logged >= LOG_QUIET) {
			logit(LOG_NOTICE, "console: %s: %u more oops lines not "
			    "logged, the last: %s (in %s/log)", c->ip,
			    c->oops_quiet, c->oops, c->dir);
			c->oops_quiet = 0;
			c->oops_logged = now;
		}
		if (c->err_dropped > 0 && now - c->err_logged >= LOG_QUIET) {
			log_warnx("console: %s: %" PRIu64 " bytes of console "
			    "text not stored", c->ip, c->err_dropped);
			c->err_dropped = 0;
			c->err_logged = now;
		}
	}
	tick_stats(con, now);
}

const char *
nd_console_dir(struct nd_console *con, uint32_t addr)
{
	struct client *c = client_find(con, addr);

	return c != NULL && c->dir[0] != '\0' ? c->dir : NULL;
}

const char *
nd_console_oops(struct nd_console *con, uint32_t addr)
{
	struct client *c = client_find(con, addr);

	return c != NULL && c->oops[0] != '\0' ? c->oops : NULL;
}

const char *
nd_console_first_oops(struct nd_console *con, uint32_t addr)
{
	struct client *c = client_find(con, addr);

	return c != NULL && c->first_oops[0] != '\0' ? c->first_oops : NULL;
}

/*
 * A client that crashed: its directory of this boot, made now if it has
 * none yet in this run, so the dump goes beside the console text that
 * led to it.
 */
const char *
nd_console_boot_dir(struct nd_console *con, uint32_t addr, time_t now)
{
	struct client *c = client_get(con, addr, now);

	if (c == NULL)
		return NULL;
	/*
	 * Not heard since the server started: its newest directory may be
	 * of a boot long gone, so the crash gets a new one.
	 */
	if (c->dir[0] == '\0') {
		c->scanned = true;
		if (make_dir(con, c, now) == -1)
			return NULL;
	}
	return c->dir;
}

/*
 * A client whose console showed an oops or panic since the last call, once
 * per boot: its address and directory (the console's, valid as the
 * strings of nd_console_dir). False when there is none.
 */
bool
nd_console_crashed(struct nd_console *con, uint32_t *addr, const char **dir)
{
	struct client *c;

	TAILQ_FOREACH(c, &con->clients, lru)
		if (c->crashed && c->dir[0] != '\0') {
			c->crashed = false;
			c->crash_told = true;
			*addr = c->addr;
			*dir = c->dir;
			return true;
		}
	return false;
}
