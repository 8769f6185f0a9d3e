/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ndsink-min: the minimal netdump receiver, the baseline of the benchmark.
 * It does what any receiver must and nothing else: a herald socket; for
 * each new client a socket of its own (bound to the herald address with an
 * ephemeral port and connected to the HERALD's source, as netdump-server
 * does), an ack for every well-formed message, and a pwrite of each VMCORE
 * payload at its offset into one file per client (O_TRUNC). No
 * coverage, no KDH parsing, no zero-page detection (unless --skip-zero),
 * no fsync. Datagrams are read with recvmmsg and acks sent with sendmmsg,
 * 64 at a time, from one thread, like the server's receive path.
 *
 * It prints "listening on ADDR:PORT" on stderr when ready, and a line of
 * statistics when it gets SIGTERM or SIGINT.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

#define BATCH		64
#define BUFSIZE		65536
#define SOCKBUF		(8 << 20)	/* as netdump-server asks */

struct session {
	struct session		*next;
	struct sockaddr_in	 client;	/* the HERALD's source */
	int			 sfd;
	int			 ofd;
	bool			 got_data;
};

static struct {
	struct in_addr	 addr;
	uint16_t	 port;
	const char	*dir;
	bool		 no_write;
	bool		 skip_zero;
} opt = { .port = ND_HERALD_PORT, .dir = "." };

static struct session	*sessions;
static int		 ep, herald_fd, sig_fd, dir_fd;
static uint8_t		*bufs;
static struct mmsghdr	 msgs[BATCH], amsgs[BATCH];
static struct iovec	 iov[BATCH], aiov[BATCH];
static struct sockaddr_in from[BATCH];
static uint8_t		 acks[BATCH][ND_ACK_SIZE];
static uint64_t		 n_msgs, n_bytes, n_bad, n_heralds, n_finished;
static uint64_t		 n_write_err;

static void die(const char *, ...)
    __attribute__((__format__(printf, 1, 2), __noreturn__));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("ndsink-min: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: ndsink-min [-a ADDR] [-p PORT] [-d DIR] [--no-write] [--skip-zero]\n"
"  -a, --address ADDR  herald address (default 127.0.0.1; not 0.0.0.0)\n"
"  -p, --port PORT     herald port (default 20023)\n"
"  -d, --dir DIR       one <client-ip>-<port>.vmcore per client (default .)\n"
"      --no-write      ack only\n"
"      --skip-zero     do not write all-zero payloads\n");
	exit(fp == stdout ? 0 : 2);
}

static void
sockbuf(int fd)
{
	int size = SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
	    sizeof(size)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
		    sizeof(size));
}

static void
rx_prepare(bool want_from)
{
	int i;

	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs + (size_t)i * BUFSIZE;
		iov[i].iov_len = BUFSIZE;
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		if (want_from) {
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
	}
}

static void
ack_add(int *n, uint32_t seqno)
{
	nd_ack_encode(acks[*n], seqno);
	aiov[*n].iov_base = acks[*n];
	aiov[*n].iov_len = ND_ACK_SIZE;
	memset(&amsgs[*n].msg_hdr, 0, sizeof(amsgs[*n].msg_hdr));
	amsgs[*n].msg_hdr.msg_iov = &aiov[*n];
	amsgs[*n].msg_hdr.msg_iovlen = 1;
	(*n)++;
}

static bool
all_zero(const uint8_t *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

static void
session_readable(struct session *s)
{
	int round, n, i, nacks;

	for (round = 0; round < 8; round++) {
		rx_prepare(false);
		n = recvmmsg(s->sfd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		nacks = 0;
		for (i = 0; i < n; i++) {
			struct nd_msg m;

			if (nd_msg_decode(iov[i].iov_base, msgs[i].msg_len,
			    &m) != ND_DECODE_OK) {
				n_bad++;
				continue;
			}
			n_msgs++;
			switch (m.type) {
			case ND_MSG_VMCORE:
				n_bytes += m.len;
				if (opt.no_write ||
				    (opt.skip_zero && all_zero(m.payload,
				    m.len)))
					break;
				if (pwrite(s->ofd, m.payload, m.len,
				    (off_t)m.offset) != (ssize_t)m.len)
					n_write_err++;
				break;
			case ND_MSG_FINISHED:
				n_finished++;
				break;
			default:
				break;
			}
			if (m.type != ND_MSG_HERALD)
				s->got_data = true;
			ack_add(&nacks, m.seqno);
		}
		if (nacks > 0)
			(void)sendmmsg(s->sfd, amsgs, (unsigned)nacks,
			    MSG_DONTWAIT);
		if (n < BATCH)
			return;
	}
}

static struct session *
session_new(const struct sockaddr_in *client)
{
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_addr =
	    opt.addr }, peer = *client;
	struct epoll_event ev = { .events = EPOLLIN };
	struct session *s;
	char name[64], a[INET_ADDRSTRLEN];

	if ((s = calloc(1, sizeof(*s))) == NULL)
		die("out of memory");
	s->client = *client;
	peer.sin_port = client->sin_port;
	if ((s->sfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	sockbuf(s->sfd);
	if (bind(s->sfd, (struct sockaddr *)&local, sizeof(local)) == -1 ||
	    connect(s->sfd, (struct sockaddr *)&peer, sizeof(peer)) == -1)
		die("session socket: %s", strerror(errno));
	inet_ntop(AF_INET, &client->sin_addr, a, sizeof(a));
	snprintf(name, sizeof(name), "%s-%u.vmcore", a,
	    (unsigned)ntohs(client->sin_port));
	if ((s->ofd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) == -1)
		die("%s/%s: %s", opt.dir, name, strerror(errno));
	ev.data.ptr = s;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->sfd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	s->next = sessions;
	sessions = s;
	return s;
}

static void
herald_readable(void)
{
	struct session *s;
	int n, i;

	rx_prepare(true);
	n = recvmmsg(herald_fd, msgs, BATCH, MSG_DONTWAIT, NULL);
	for (i = 0; i < n; i++) {
		struct nd_msg m;
		int nack = 0;

		if (nd_msg_decode(iov[i].iov_base, msgs[i].msg_len, &m) !=
		    ND_DECODE_OK || m.type != ND_MSG_HERALD) {
			n_bad++;
			continue;
		}
		n_msgs++;
		for (s = sessions; s != NULL; s = s->next)
			if (s->client.sin_addr.s_addr ==
			    from[i].sin_addr.s_addr &&
			    s->client.sin_port == from[i].sin_port)
				break;
		if (s == NULL) {
			s = session_new(&from[i]);
			n_heralds++;
		} else if (s->got_data) {
			/* A new dump from the same client: start over. */
			if (ftruncate(s->ofd, 0) == -1)
				n_write_err++;
			s->got_data = false;
			n_heralds++;
		}
		ack_add(&nack, m.seqno);
		(void)sendmmsg(s->sfd, amsgs, 1, MSG_DONTWAIT);
	}
}

static double
tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static const struct option longopts[] = {
	{ "address",	required_argument, NULL, 'a' },
	{ "port",	required_argument, NULL, 'p' },
	{ "dir",	required_argument, NULL, 'd' },
	{ "no-write",	no_argument,	   NULL, 1000 },
	{ "skip-zero",	no_argument,	   NULL, 1001 },
	{ "help",	no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct epoll_event ev, evs[64];
	struct rusage ru;
	sigset_t mask;
	char *end;
	unsigned long v;
	int ch, n, i;
	bool stop = false;

	inet_pton(AF_INET, "127.0.0.1", &opt.addr);
	while ((ch = getopt_long(argc, argv, "a:p:d:h", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &opt.addr) != 1 ||
			    opt.addr.s_addr == htonl(INADDR_ANY))
				die("-a: want one IPv4 address");
			break;
		case 'p':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v == 0 || v > 65535)
				die("-p: bad port");
			opt.port = (uint16_t)v;
			break;
		case 'd':
			opt.dir = optarg;
			break;
		case 1000:
			opt.no_write = true;
			break;
		case 1001:
			opt.skip_zero = true;
			break;
		case 'h':
			usage(stdout);
			break;
		default:
			usage(stderr);
		}
	}
	if (optind != argc)
		usage(stderr);

	if ((dir_fd = open(opt.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		die("%s: %s", opt.dir, strerror(errno));
	if ((bufs = malloc((size_t)BATCH * BUFSIZE)) == NULL)
		die("out of memory");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (sig_fd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1)
		die("signalfd: %s", strerror(errno));
	if ((herald_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	sockbuf(herald_fd);
	sin.sin_addr = opt.addr;
	sin.sin_port = htons(opt.port);
	if (bind(herald_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("cannot bind %s:%u: %s", inet_ntoa(opt.addr),
		    (unsigned)opt.port, strerror(errno));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	ev.events = EPOLLIN;
	ev.data.ptr = &herald_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, herald_fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	ev.data.ptr = &sig_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sig_fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	fprintf(stderr, "ndsink-min: listening on %s:%u\n",
	    inet_ntoa(opt.addr), (unsigned)opt.port);

	while (!stop) {
		n = epoll_wait(ep, evs, 64, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &herald_fd)
				herald_readable();
			else if (evs[i].data.ptr == &sig_fd)
				stop = true;
			else
				session_readable(evs[i].data.ptr);
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "ndsink-min: dumps=%" PRIu64 " finished=%" PRIu64
	    " msgs=%" PRIu64 " bytes=%" PRIu64 " bad=%" PRIu64
	    " write_errors=%" PRIu64 " cpu_s=%.3f maxrss_kb=%ld\n",
	    n_heralds, n_finished, n_msgs, n_bytes, n_bad, n_write_err,
	    tv_sec(ru.ru_utime) + tv_sec(ru.ru_stime), ru.ru_maxrss);
	return n_write_err > 0 ? 1 : 0;
}
