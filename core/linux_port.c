/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux port ([server] linux_port): one UDP socket for what Linux
 * clients send. Console text (RHEL 3/4 netlog, mainline netconsole plain
 * and extended) from a client that allow/deny lets through goes to the
 * console (core/console.c), a log per client and boot. Red Hat netdump
 * replies (a crash announcement, pages) go to the dump front-end
 * (core/linux_dump.c), whose retransmission clock is this port's timer.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admission.h"
#include "console.h"
#include "linux_dump.h"
#include "linux_port.h"
#include "linux_wire.h"
#include "log.h"
#include "receiver_int.h"
#include "space.h"

#define LXP_BATCH	16
#define LXP_BUFSIZE	2048	/* a Linux client sends at most 1460 */
#define LXP_LOG_EVERY	10	/* seconds between counter lines */
#define LXP_TIMER_MS	10	/* the retransmission clock, while it runs */
#define LXP_NOTICES	16	/* console crashes waiting for a dump */
/*
 * A crashing RHEL kernel prints its oops, waits 3 s and announces its
 * dump: a console crash with no announcement this long after is a
 * client without netdump (mainline netconsole), told to netdump-crash.
 */
#define LXP_NOTICE_WAIT	10

struct crash_notice {
	uint32_t	 addr;		/* network order */
	time_t		 due;		/* CLOCK_MONOTONIC seconds */
	char		 dir[64];
};

struct nd_linux_port {
	enum ev_kind	 sock_tag;	/* EV_LINUX: first, see receiver.c */
	enum ev_kind	 timer_tag;	/* EV_LINUX */
	int		 fd;
	int		 timer_fd;
	bool		 timer_armed;
	struct nd_console *console;
	struct nd_lx	*lx;
	struct crash_notice notices[LXP_NOTICES];
	unsigned	 nnotices;
	struct mmsghdr	 msgs[LXP_BATCH];
	struct iovec	 iov[LXP_BATCH];
	struct sockaddr_in from[LXP_BATCH];
	uint8_t		 bufs[LXP_BATCH][LXP_BUFSIZE];
	/* Counted, and logged once per LXP_LOG_EVERY s at most. */
	uint64_t	 refused, refused_logged;
	uint64_t	 oversized, oversized_logged;
	/*
	 * The dump directory is below the server's floor (min_free,
	 * savecore's minfree): console text waits for dumps, which need
	 * the room more. Checked once a second.
	 */
	bool		 low_space;
	uint64_t	 low_bytes, low_logged;
	char		 last_refused[INET_ADDRSTRLEN];
	time_t		 logged_at;
};

struct nd_linux_port *
nd_linux_port_open(const struct nd_server_conf *sv, int dumpdir_fd,
    char *err, size_t errlen)
{
	struct nd_linux_port *lp;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	uint64_t avail, need;
	const char *floor;
	struct nd_console_conf cc = {
		.dumpdir_fd = dumpdir_fd,
		.log_size = (uint64_t)sv->console_log_size,
		.log_keep = (unsigned)sv->console_log_keep,
		.max_clients = ND_CONSOLE_CLIENTS,
	};

	if ((lp = calloc(1, sizeof(*lp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	lp->fd = lp->timer_fd = -1;
	lp->sock_tag = lp->timer_tag = EV_LINUX;
	if (inet_pton(AF_INET, sv->address, &sin.sin_addr) != 1) {
		snprintf(err, errlen, "bad listen address '%s'", sv->address);
		goto fail;
	}
	sin.sin_port = htons((uint16_t)sv->linux_port);
	lp->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lp->fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	rx_sockbuf(lp->fd);
	if (bind(lp->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		snprintf(err, errlen, "cannot bind %s:%" PRId64 " (linux_port): "
		    "%s", sv->address, sv->linux_port, strerror(errno));
		goto fail;
	}
	if ((lp->console = nd_console_new(&cc)) == NULL ||
	    (lp->lx = nd_lx_new(lp->fd, lp->console)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	lp->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	if (lp->timer_fd == -1) {
		snprintf(err, errlen, "timerfd_create: %s", strerror(errno));
		goto fail;
	}
	/* From the first datagram on, not from the first tick. */
	lp->low_space = !nd_space_ok(sv, &avail, &need, &floor);
	return lp;
fail:
	nd_linux_port_close(lp);
	return NULL;
}

int
nd_linux_port_watch(struct nd_linux_port *lp, int ep)
{
	struct epoll_event ev = { .events = EPOLLIN };

	ev.data.ptr = &lp->sock_tag;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lp->fd, &ev) == -1)
		return -1;
	ev.data.ptr = &lp->timer_tag;
	return epoll_ctl(ep, EPOLL_CTL_ADD, lp->timer_fd, &ev);
}

size_t
nd_linux_port_flights(const struct nd_linux_port *lp,
    struct nd_status_flight *out, size_t max)
{
	return nd_lx_flights(lp->lx, out, max);
}

void
nd_linux_port_stop(struct nd_linux_port *lp)
{
	nd_lx_stop(lp->lx);
}

void
nd_linux_port_close(struct nd_linux_port *lp)
{
	if (lp == NULL)
		return;
	/* The dumps first: their end reads the console's oops line. */
	nd_lx_free(lp->lx);
	if (lp->fd != -1)
		close(lp->fd);
	if (lp->timer_fd != -1)
		close(lp->timer_fd);
	nd_console_free(lp->console);
	free(lp);
}

static void
input(struct nd_linux_port *lp, struct nd_receiver *rx, int i, time_t now)
{
	const struct nd_server_conf *sv = &rx->conf->server;
	const struct sockaddr_in *from = &lp->from[i];
	uint32_t addr = ntohl(from->sin_addr.s_addr);	/* as allow/deny */
	size_t len = lp->msgs[i].msg_len;
	struct lx_reply r;

	if (lp->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
		lp->oversized++;
		return;
	}
	/*
	 * allow and deny as written: secure's "allow must list it" is for
	 * FreeBSD clients; a Linux client's crash proves itself with its
	 * cookie (linux_dump.c), and console text has none.
	 */
	if (!nd_conf_client_listed(sv, addr)) {
		lp->refused++;
		inet_ntop(AF_INET, &from->sin_addr, lp->last_refused,
		    sizeof(lp->last_refused));
		return;
	}
	/* A dump's pages are not console text: min_free is its own. */
	if (lx_classify(lp->bufs[i], len) == LX_NETDUMP &&
	    lx_reply_decode(lp->bufs[i], len, &r) == LX_DECODE_OK &&
	    r.code != LX_REPLY_LOG) {
		nd_lx_reply(lp->lx, rx, from, &r);
		return;
	}
	if (lp->low_space) {
		lp->low_bytes += len;
		return;
	}
	(void)nd_console_input(lp->console, from->sin_addr.s_addr,
	    lp->bufs[i], len, now);
	nd_lx_console_seen(lp->lx, from->sin_addr.s_addr);
}

/* The retransmission clock runs while a session needs it. */
static void
timer_update(struct nd_linux_port *lp)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	bool want = nd_lx_running(lp->lx);

	if (want == lp->timer_armed)
		return;
	if (want) {
		its.it_interval.tv_nsec = LXP_TIMER_MS * 1000000L;
		its.it_value = its.it_interval;
	}
	if (timerfd_settime(lp->timer_fd, 0, &its, NULL) == 0)
		lp->timer_armed = want;
}

/* Everything waiting on the socket, a batch at a time. */
static void
readable(struct nd_linux_port *lp, struct nd_receiver *rx)
{
	time_t now = nd_console_now();
	int n, i, rounds;

	for (rounds = 0; rounds < 8; rounds++) {
		for (i = 0; i < LXP_BATCH; i++) {
			lp->iov[i].iov_base = lp->bufs[i];
			lp->iov[i].iov_len = LXP_BUFSIZE;
			memset(&lp->msgs[i].msg_hdr, 0,
			    sizeof(lp->msgs[i].msg_hdr));
			lp->msgs[i].msg_hdr.msg_name = &lp->from[i];
			lp->msgs[i].msg_hdr.msg_namelen = sizeof(lp->from[i]);
			lp->msgs[i].msg_hdr.msg_iov = &lp->iov[i];
			lp->msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(lp->fd, lp->msgs, LXP_BATCH, MSG_DONTWAIT, NULL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("linux port: recvmmsg");
			return;
		}
		for (i = 0; i < n; i++)
			input(lp, rx, i, now);
		if (n < LXP_BATCH)
			return;
	}
}

void
nd_linux_port_event(struct nd_receiver *rx, void *tag)
{
	struct nd_linux_port *lp = rx->linux_port;
	uint64_t ticks;

	if (tag == &lp->timer_tag) {
		(void)read(lp->timer_fd, &ticks, sizeof(ticks));
		nd_lx_timer(lp->lx, rx, now_ms());
	} else
		readable(lp, rx);
	timer_update(lp);
}

void
nd_linux_port_admit(struct nd_receiver *rx, const struct sockaddr_in *from,
    const char *path)
{
	if (rx->linux_port != NULL) {
		nd_lx_admit(rx->linux_port->lx, rx, from, path);
		timer_update(rx->linux_port);
	}
}

void
nd_linux_port_refused(struct nd_receiver *rx, const struct sockaddr_in *from)
{
	if (rx->linux_port != NULL) {
		nd_lx_refused(rx->linux_port->lx, rx, from);
		timer_update(rx->linux_port);
	}
}

/*
 * Crashes seen on consoles: netdump-crash runs for those whose client did
 * not announce a dump within LXP_NOTICE_WAIT seconds (one that did had it
 * run at its announcement, with a say in the dump). Not in secure mode:
 * console text carries no cookie, anyone can send it, and secure mode
 * runs hooks for clients that proved themselves only.
 */
static void
crash_notices(struct nd_linux_port *lp, struct nd_receiver *rx, time_t mono)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct crash_notice *n;
	const char *dir;
	uint32_t addr;
	unsigned i;

	/* Taken only with room for it: the others wait for the next tick. */
	while (lp->nnotices < LXP_NOTICES &&
	    nd_console_crashed(lp->console, &addr, &dir))
		if (strlen(dir) < sizeof(n->dir)) {
			n = &lp->notices[lp->nnotices++];
			n->addr = addr;
			n->due = mono + LXP_NOTICE_WAIT;
			memcpy(n->dir, dir, strlen(dir) + 1);
		}
	for (i = 0; i < lp->nnotices; ) {
		n = &lp->notices[i];
		if (n->due > mono) {
			i++;
			continue;
		}
		sin.sin_addr.s_addr = n->addr;
		if (!nd_lx_knows(lp->lx, n->addr) && !rx->conf->server.secure)
			adm_crash_notice(rx, &sin, n->dir);
		*n = lp->notices[--lp->nnotices];
	}
}

/* Once a second: free space, the console's timers, the counter lines. */
void
nd_linux_port_tick(struct nd_linux_port *lp, struct nd_receiver *rx,
    time_t mono)
{
	const struct nd_server_conf *sv = &rx->conf->server;
	uint64_t avail, need;
	const char *floor;

	lp->low_space = !nd_space_ok(sv, &avail, &need, &floor);
	nd_console_tick(lp->console, nd_console_now());
	nd_lx_tick(lp->lx, rx, mono);
	crash_notices(lp, rx, mono);
	timer_update(lp);
	if (mono - lp->logged_at < LXP_LOG_EVERY)
		return;
	lp->logged_at = mono;
	if (lp->refused != lp->refused_logged) {
		log_warnx("linux port: ignored %" PRIu64 " datagrams from "
		    "clients allow/deny refuses (the last from %s)",
		    lp->refused - lp->refused_logged, lp->last_refused);
		lp->refused_logged = lp->refused;
	}
	if (lp->low_bytes != lp->low_logged) {
		log_warnx("linux port: %" PRIu64 " bytes of console text not "
		    "stored: the dump directory is below min_free",
		    lp->low_bytes - lp->low_logged);
		lp->low_logged = lp->low_bytes;
	}
	if (lp->oversized != lp->oversized_logged) {
		log_warnx("linux port: ignored %" PRIu64 " datagrams longer "
		    "than a Linux client sends", lp->oversized -
		    lp->oversized_logged);
		lp->oversized_logged = lp->oversized;
	}
}
