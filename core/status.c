/* SPDX-License-Identifier: BSD-2-Clause */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "status.h"
#include "util.h"

/* The most of a report --status prints: 16 MiB. */
#define REPORT_MAX	(16u << 20)
/* Seconds --status waits for more of an answer. */
#define STATUS_WAIT_S	10

static pthread_mutex_t recent_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nd_outcome recent[ND_RECENT];
static size_t recent_next, recent_count;

void
nd_outcome_record(const struct nd_outcome *o)
{
	pthread_mutex_lock(&recent_lock);
	recent[recent_next] = *o;
	recent_next = (recent_next + 1) % ND_RECENT;
	if (recent_count < ND_RECENT)
		recent_count++;
	pthread_mutex_unlock(&recent_lock);
}

/* Copies up to ND_RECENT outcomes, newest first; returns how many. */
static size_t
outcome_recent(struct nd_outcome *out)
{
	size_t i, n;

	pthread_mutex_lock(&recent_lock);
	n = recent_count;
	for (i = 0; i < n; i++)
		out[i] = recent[(recent_next + ND_RECENT - 1 - i) % ND_RECENT];
	pthread_mutex_unlock(&recent_lock);
	return n;
}

static void
human_bytes(uint64_t v, char *buf, size_t size)
{
	if (v >= (1ull << 30))
		snprintf(buf, size, "%.1f GiB", (double)v / (1ull << 30));
	else if (v >= (1ull << 20))
		snprintf(buf, size, "%.1f MiB", (double)v / (1ull << 20));
	else
		snprintf(buf, size, "%" PRIu64 " B", v);
}

void
nd_status_serve(int listen_fd, const struct nd_conf *conf, time_t up,
    const struct nd_status_flight *fl, size_t nflight, size_t places)
{
	/* Received, still held by their sinks or end hooks. */
	size_t storing = places > nflight ? places - nflight : 0;
	struct nd_outcome out[ND_RECENT];
	struct nd_buf b = { 0 };
	char bytes[32], rate[32];
	size_t i, n;
	int fd;

	if ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return;
	nd_buf_printf(&b, "netdump-server %s, pid %ld, up %lld s, "
	    "configuration %s\n", ND_VERSION, (long)getpid(), (long long)up,
	    conf->source);
	nd_buf_printf(&b, "listening on %s:%" PRId64 ", dumps in %s\n",
	    conf->server.address, conf->server.port, conf->server.dumpdir);
	nd_buf_printf(&b, "\ndumps in flight: %zu (max %" PRId64
	    ")\n", nflight + storing,
	    conf->server.max_concurrent_dumps);
	if (nflight > 0)
		nd_buf_printf(&b, "  %-5s %-21s %-16s %11s %11s %7s\n", "ID",
		    "CLIENT", "PATH", "BYTES", "RATE", "AGE");
	for (i = 0; i < nflight; i++) {
		human_bytes(fl[i].bytes, bytes, sizeof(bytes));
		snprintf(rate, sizeof(rate), "%.1f MB/s", fl[i].age > 0 ?
		    (double)fl[i].bytes / fl[i].age / 1e6 : 0.0);
		nd_buf_printf(&b, "  %-5" PRIu64 " %-21s %-16.16s %11s %11s "
		    "%6.0fs\n", fl[i].id, fl[i].client, fl[i].path, bytes,
		    rate, fl[i].age);
	}
	if (storing > 0)
		nd_buf_printf(&b, "  %zu received, being stored or running "
		    "end hooks\n", storing);
	n = outcome_recent(out);
	nd_buf_printf(&b, "\nrecent outcomes: %zu\n", n);
	for (i = 0; i < n; i++) {
		human_bytes(out[i].bytes, bytes, sizeof(bytes));
		nd_buf_printf(&b, "  %-5" PRIu64 " %-15s %-10s %11s %7.1fs  %s"
		    "%s%s%s\n", out[i].id, out[i].client, out[i].status, bytes,
		    out[i].seconds, out[i].where, out[i].reason[0] ? " (" : "",
		    out[i].reason, out[i].reason[0] ? ")" : "");
	}
	if (!b.failed)
		(void)send(fd, b.s, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	free(b.s);
	close(fd);
}

/*
 * The status socket lives in runtime_dir, named by the port so that
 * instances do not meet: never in the dump directory, which belongs to the
 * user the daemon drops to, who could put a link where root would look.
 * Without root and without a runtime_dir it may use, it falls back to the
 * dump directory, where nothing belongs to anyone else.
 */
/* The length of the whole path, which buf (size bytes) may hold cut. */
static size_t
status_path_at(const struct nd_server_conf *sv, bool fallback, char *buf,
    size_t size)
{
	int n;

	if (sv->status_socket != NULL)
		n = snprintf(buf, size, "%s", sv->status_socket);
	else if (!fallback)
		n = snprintf(buf, size, "%s/netdump-server.%u.sock",
		    sv->runtime_dir, (unsigned)sv->port);
	else
		n = snprintf(buf, size, "%s/.netdump-server.%u.sock",
		    sv->dumpdir, (unsigned)sv->port);
	return n < 0 ? SIZE_MAX : (size_t)n;
}

void
nd_status_path(const struct nd_server_conf *sv, char *buf, size_t size)
{
	status_path_at(sv, false, buf, size);
}

/*
 * runtime_dir, made if missing: a real directory, and as root one that
 * only root may write to. Returns 0, 1 when a non-root daemon cannot use
 * it (fall back), or -1 with a message.
 */
static int
runtime_dir_ready(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		if (geteuid() != 0 && (errno == EACCES || errno == EPERM ||
		    errno == ENOENT || errno == EROFS))
			return 1;
		snprintf(err, errlen, "runtime_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) == -1) {
		snprintf(err, errlen, "runtime_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "runtime_dir %s is not a directory (a "
		    "link is refused)", dir);
		return -1;
	}
	if (geteuid() == 0 && (st.st_uid != 0 || (st.st_mode & 022) != 0)) {
		snprintf(err, errlen, "runtime_dir %s may be written by a user "
		    "other than root (owner uid %u, mode %03o): refusing to "
		    "put the status socket there", dir, (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 0777));
		return -1;
	}
	if (geteuid() != 0 && access(dir, W_OK | X_OK) == -1)
		return 1;
	return 0;
}

int
nd_status_listen(const struct nd_server_conf *sv, char *path, size_t size,
    char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t mask;
	size_t len;
	int fd, r;

	len = status_path_at(sv, false, path, size);
	if (sv->status_socket == NULL) {
		if ((r = runtime_dir_ready(sv->runtime_dir, err, errlen)) ==
		    -1)
			return -1;
		if (r == 1)
			len = status_path_at(sv, true, path, size);
	}
	/* Never bind a path cut to fit: --status would not find it. */
	if (len >= sizeof(sun.sun_path) || len >= size) {
		snprintf(err, errlen, "status socket path too long (%zu bytes, "
		    "at most %zu): %.200s%s", len, sizeof(sun.sun_path) - 1,
		    path, strlen(path) < len ? "..." : "");
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "status socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * A stale socket from a crash, or one a daemon that dropped root
	 * could not remove, is replaced; a live one is another server's (on
	 * this port at another address, with the same runtime_dir): taking
	 * it over would answer --status for that server and remove its
	 * socket at exit. unlink and bind never follow a link, and the mode
	 * comes from the umask, so nothing is changed by path.
	 */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
	    errno == EAGAIN) {
		snprintf(err, errlen, "status socket %s: another server answers "
		    "there (one on this port at another address? give each "
		    "its own status_socket)", path);
		close(fd);
		return -1;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "status socket: %s", strerror(errno));
		return -1;
	}
	(void)unlink(path);
	mask = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(mask);
	if (r == -1 || listen(fd, 8) == -1) {
		snprintf(err, errlen, "status socket %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Connect to the status socket (or its fallback); -1 with errno set. */
static int
status_connect(const struct nd_server_conf *sv, bool fallback, char *path,
    size_t size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len;
	int fd, saved;

	len = status_path_at(sv, fallback, path, size);
	if (len >= sizeof(sun.sun_path) || len >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
nd_status_query(const struct nd_server_conf *sv)
{
	char path[PATH_MAX], fallback[PATH_MAX], *all;
	ssize_t n = 0;
	size_t len = 0;
	int fd, err;

	/*
	 * Root never looks in the dump directory: a daemon run by root has
	 * its socket in runtime_dir, and what is in the dump directory is
	 * the user's it drops to (who could answer in its place).
	 */
	if ((fd = status_connect(sv, false, path, sizeof(path))) == -1 &&
	    (sv->status_socket != NULL || geteuid() == 0 ||
	    (fd = status_connect(sv, true, fallback, sizeof(fallback))) ==
	    -1)) {
		fprintf(stderr, "netdump-server: no daemon answers at %s: %s\n",
		    path, strerror(errno));
		return 1;
	}
	/*
	 * Whole (a UTF-8 sequence may span reads), then fit for a terminal:
	 * whatever answers there may not be the server.
	 */
	if ((all = malloc(REPORT_MAX + 1)) == NULL) {
		close(fd);
		fprintf(stderr, "netdump-server: out of memory\n");
		return 1;
	}
	/* The server answers at once; whatever else answers may not end. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){
	    .tv_sec = STATUS_WAIT_S }, sizeof(struct timeval));
	while (len < REPORT_MAX && (n = read(fd, all + len, REPORT_MAX -
	    len)) > 0)
		len += (size_t)n;
	err = errno;
	close(fd);
	if (n == -1 && (err == EAGAIN || err == EWOULDBLOCK))
		fprintf(stderr, "netdump-server: %s did not finish its answer "
		    "in %d s\n", path, STATUS_WAIT_S);
	all[len] = '\0';
	fwrite(all, 1, nd_terminal_safe(all, len, "\n\t"), stdout);
	free(all);
	return n >= 0 ? 0 : 1;
}
