/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Console capture's files (see console_int.h): each boot of a client gets
 * a directory named from its address and the clock only, never from what
 * a datagram says, and a "log" in it, rotated when it grows too big.
 * Write errors drop the bytes with a count, logged at most once a minute.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console_int.h"

#define DIR_TRIES	100	/* names tried for a new directory */
#define DIR_BURST	256	/* new directories at once ... */
#define DIR_EVERY	1	/* ... then one per this many seconds */

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
int
con_make_dir(struct nd_console *con, struct client *c, time_t now)
{
	char stamp[TIME_LEN + 1], name[DIR_NAME_MAX];
	struct tm tm;
	time_t wall;
	unsigned i;

	/*
	 * Every directory is an inode of the dump file system, whoever
	 * asked: DIR_BURST at once, then one every DIR_EVERY seconds.
	 */
	if (con->dir_refill == 0)
		con->dir_tokens = DIR_BURST;
	else if (now != con->dir_refill) {
		uint64_t more = (uint64_t)con_elapsed(now, con->dir_refill) /
		    DIR_EVERY;

		con->dir_tokens = more >= DIR_BURST - con->dir_tokens ?
		    DIR_BURST : con->dir_tokens + (unsigned)more;
	}
	con->dir_refill = now;
	if (con->dir_tokens == 0) {
		con->st.no_dir++;
		errno = 0;
		return -1;
	}
	wall = con->conf.wall_clock != NULL ? con->conf.wall_clock() :
	    time(NULL);
	if (localtime_r(&wall, &tm) == NULL ||
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

		if (con_elapsed(now, c->err_logged) >= LOG_QUIET) {
			log_warnx("console: %s: cannot make directory %s: %s",
			    c->ip, name, strerror(e));
			c->err_logged = now;
		}
		errno = e;
	}
	return -1;
}

/* Files */

void
con_close_log(struct client *c)
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

	con_close_log(c);
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
void
con_dropped(struct nd_console *con, struct client *c, size_t len, time_t now,
    const char *what, int err)
{
	con->st.dropped += len;
	c->err_dropped += len;
	if (con_elapsed(now, c->err_logged) >= LOG_QUIET) {
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
int
con_ensure_dir(struct nd_console *con, struct client *c, time_t now)
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
	if (con_make_dir(con, c, now) == -1) {
		c->dir_tried = now;
		return -1;
	}
	log_info("console: %s: new boot, console text in %s/log", c->ip,
	    c->dir);
	return 0;
}

/* Append to the client's log, rotating first if it would grow too big. */
void
con_raw_write(struct nd_console *con, struct client *c, const void *buf,
    size_t len, time_t now)
{
	const uint8_t *p = buf;
	ssize_t n;

	if (len == 0)
		return;
	if (con_ensure_dir(con, c, now) == -1) {
		con_dropped(con, c, len, now, errno != 0 ? "no directory for "
		    "console text" : "no directory for console text: the "
		    "server makes 256 new ones at once, then one a second",
		    errno);
		return;
	}
	if (c->fd == -1 && open_log(con, c) == -1) {
		con_dropped(con, c, len, now, "cannot open log in", errno);
		return;
	}
	if (con->conf.log_size > 0 && c->log_bytes > 0 &&
	    c->log_bytes + len > con->conf.log_size) {
		if (rotate(con, c) == -1 &&
		    con_elapsed(now, c->err_logged) >= LOG_QUIET) {
			log_warn("console: %s: cannot rotate %s/log", c->ip,
			    c->dir);
			c->err_logged = now;
		}
		if (c->fd == -1 && open_log(con, c) == -1) {
			con_dropped(con, c, len, now, "cannot open log in",
			    errno);
			return;
		}
	}
	c->written = now;
	while (len > 0) {
		if ((n = write(c->fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			con_dropped(con, c, len, now, "cannot write log in",
			    errno);
			return;
		}
		p += n;
		len -= (size_t)n;
		c->log_bytes += (uint64_t)n;
		c->at_bol = p[-1] == '\n';
	}
}

/* A line of the server's own, on a line of its own. */
void
con_note_write(struct nd_console *con, struct client *c, time_t now,
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
		con_raw_write(con, c, line + 1, (size_t)n + 1, now);
	else
		con_raw_write(con, c, line, (size_t)n + 2, now);
}
