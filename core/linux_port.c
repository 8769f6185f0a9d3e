/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux port ([server] linux_port): one UDP socket for what Linux
 * clients send. Console text (RHEL 3/4 netlog, mainline netconsole plain
 * and extended) from a client that allow/deny lets through goes to the
 * console (core/console.c), a log per client and boot. Red Hat netdump
 * replies (a crash announcement, pages) are for a dump front-end this
 * server does not have yet: they are counted and logged, rate-limited,
 * and never answered, so a Linux client waits as it would for a server
 * that is down.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "linux_port.h"
#include "linux_wire.h"
#include "log.h"
#include "receiver_int.h"
#include "space.h"

#define LXP_BATCH	16
#define LXP_BUFSIZE	2048	/* a Linux client sends at most 1460 */
#define LXP_CLIENTS	256	/* console clients tracked at once */
#define LXP_LOG_EVERY	10	/* seconds between counter lines */

struct nd_linux_port {
	int		 fd;
	struct nd_console *console;
	struct mmsghdr	 msgs[LXP_BATCH];
	struct iovec	 iov[LXP_BATCH];
	struct sockaddr_in from[LXP_BATCH];
	uint8_t		 bufs[LXP_BATCH][LXP_BUFSIZE];
	/* Counted, and logged once per LXP_LOG_EVERY s at most. */
	uint64_t	 refused, refused_logged;
	uint64_t	 netdump, netdump_logged;
	uint64_t	 oversized, oversized_logged;
	/*
	 * The dump directory is below the server's floor (min_free,
	 * savecore's minfree): console text waits for dumps, which need
	 * the room more. Checked once a second.
	 */
	bool		 low_space;
	uint64_t	 low_bytes, low_logged;
	char		 last_refused[INET_ADDRSTRLEN];
	char		 last_netdump[INET_ADDRSTRLEN];
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
		.max_clients = LXP_CLIENTS,
	};

	if ((lp = calloc(1, sizeof(*lp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	lp->fd = -1;
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
	if ((lp->console = nd_console_new(&cc)) == NULL) {
		snprintf(err, errlen, "out of memory");
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
nd_linux_port_fd(const struct nd_linux_port *lp)
{
	return lp->fd;
}

void
nd_linux_port_close(struct nd_linux_port *lp)
{
	if (lp == NULL)
		return;
	if (lp->fd != -1)
		close(lp->fd);
	nd_console_free(lp->console);
	free(lp);
}

static void
input(struct nd_linux_port *lp, const struct nd_server_conf *sv, int i,
    time_t now)
{
	const struct sockaddr_in *from = &lp->from[i];
	uint32_t addr = ntohl(from->sin_addr.s_addr);	/* as allow/deny */

	if (lp->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
		lp->oversized++;
		return;
	}
	if (!nd_conf_client_allowed(sv, addr)) {
		lp->refused++;
		inet_ntop(AF_INET, &from->sin_addr, lp->last_refused,
		    sizeof(lp->last_refused));
		return;
	}
	if (lp->low_space) {
		lp->low_bytes += lp->msgs[i].msg_len;
		return;
	}
	if (!nd_console_input(lp->console, from->sin_addr.s_addr,
	    lp->bufs[i], lp->msgs[i].msg_len, now)) {
		lp->netdump++;
		inet_ntop(AF_INET, &from->sin_addr, lp->last_netdump,
		    sizeof(lp->last_netdump));
	}
}

/* Everything waiting on the socket, a batch at a time. */
void
nd_linux_port_readable(struct nd_linux_port *lp,
    const struct nd_server_conf *sv)
{
	time_t now = time(NULL);
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
			input(lp, sv, i, now);
		if (n < LXP_BATCH)
			return;
	}
}

/* Once a second: free space, the console's timers, the counter lines. */
void
nd_linux_port_tick(struct nd_linux_port *lp, const struct nd_server_conf *sv,
    time_t mono)
{
	uint64_t avail, need;
	const char *floor;

	lp->low_space = !nd_space_ok(sv, &avail, &need, &floor);
	nd_console_tick(lp->console, time(NULL));
	if (mono - lp->logged_at < LXP_LOG_EVERY)
		return;
	lp->logged_at = mono;
	if (lp->refused != lp->refused_logged) {
		log_warnx("linux port: ignored %" PRIu64 " datagrams from "
		    "clients allow/deny refuses (the last from %s)",
		    lp->refused - lp->refused_logged, lp->last_refused);
		lp->refused_logged = lp->refused;
	}
	if (lp->netdump != lp->netdump_logged) {
		log_warnx("linux port: ignored %" PRIu64 " Linux netdump "
		    "messages (the last from %s): this server stores the "
		    "console text of Linux clients, not their memory",
		    lp->netdump - lp->netdump_logged, lp->last_netdump);
		lp->netdump_logged = lp->netdump;
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
