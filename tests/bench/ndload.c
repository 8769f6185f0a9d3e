/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ndload: a load generator for netdump receivers. It simulates many
 * FreeBSD kernels dumping at once, each from its own 127.0.0.x:20024, with
 * the kernel's batch discipline (debugnet_send in sys/net/debugnet.c):
 * HERALD to the herald port, the server port learned from the first
 * 4-byte reply, data in calls of up to 64 KiB and 64 packets sent back to
 * back, then a wait until every packet of the call is acked, a
 * retransmission of only the unacked ones after a fixed timeout, at most
 * --retries rounds; then the KDH and FINISHED. One thread per core runs an
 * epoll loop over its share of the clients and sends with sendmmsg
 * straight from a pre-generated pool of memory-like pages, so the
 * generator costs little CPU per byte.
 *
 * At the end it prints one line of key=value statistics on stdout.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kdh.h"
#include "proto.h"

#define PAGE		4096u
#define MAX_CLIENTS	4096
#define MAX_THREADS	64
#define RECV_BATCH	64

enum phase {
	PH_HERALD,
	PH_DATA,
	PH_KDH,
	PH_FINISHED,
	PH_DONE,
	PH_FAILED,
};

struct client {
	int			 fd;
	unsigned		 idx;
	uint64_t		 seed;
	struct sockaddr_in	 local;
	struct sockaddr_in	 server;	/* the port is learned */
	bool			 port_learned;
	bool			 connected;	/* to the learned port */
	enum phase		 phase;
	uint32_t		 seqno;		/* dp_seqno: base of the next call */
	uint64_t		 off;		/* next vmcore offset */
	uint64_t		 batchno;
	/* the call in flight */
	uint32_t		 base;
	unsigned		 npk;
	uint64_t		 want, rcvd;
	unsigned		 retries;
	uint64_t		 deadline;	/* ns, CLOCK_MONOTONIC */
	uint8_t			 hdr[ND_MAX_IN_FLIGHT][ND_HDR_SIZE];
	struct iovec		 iov[ND_MAX_IN_FLIGHT][2];
	struct mmsghdr		 msg[ND_MAX_IN_FLIGHT];
	/* results */
	uint64_t		 t_start, t_end;
	uint64_t		 msgs;		/* distinct messages sent */
	uint64_t		 datagrams;	/* every datagram sent */
	uint64_t		 retrans;	/* datagrams sent again */
	uint64_t		 rounds;	/* retransmission rounds */
	uint64_t		 stale;		/* acks outside the window */
};

struct worker {
	pthread_t		 tid;
	unsigned		 no;
	struct client		**clients;
	unsigned		 nclients;
};

static struct options {
	unsigned	 clients;
	uint64_t	 size;
	size_t		 payload;
	size_t		 batch;
	double		 zero;
	struct in_addr	 server;
	uint16_t	 port;
	struct in_addr	 base;
	unsigned	 timeout_ms;
	unsigned	 retries;
	unsigned	 threads;
	uint64_t	 seed;
	size_t		 pool_mib;
	const char	*path;
	bool		 verbose;
	bool		 connect;
} opt = {
	.clients = 1,
	.size = 64ULL << 20,
	.payload = 1448,
	.batch = 64 * 1024,
	.zero = 0.0,
	.port = ND_HERALD_PORT,
	.timeout_ms = 1000,
	.retries = 10,
	.seed = 1,
	.pool_mib = 16,
	.path = "",
	.connect = true,
};

static uint8_t		*pool;		/* pool_pages + pad_pages pages */
static size_t		 pool_pages;
static uint8_t		 kdh[ND_KDH_SIZE];
static struct client	*clients;

static void usage(FILE *) __attribute__((__noreturn__));
static void die(const char *, ...)
    __attribute__((__format__(printf, 1, 2), __noreturn__));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("ndload: ", stderr);
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
"usage: ndload [options] [--server] HOST[:PORT]\n"
"  -k, --clients K       simulated kernels (default 1), one address each\n"
"  -s, --size BYTES      vmcore size per client (k/M/G suffix; default 64M)\n"
"  -p, --payload N       payload bytes per packet (default 1448)\n"
"  -m, --mtu N           payload = MTU - 52 (1500 -> 1448, 9000 -> 8948)\n"
"  -b, --batch BYTES     data per call (default 64k; at most 64 packets)\n"
"  -z, --zero R          share of all-zero 4 KiB pages (default 0)\n"
"  -S, --server H[:P]    the receiver (herald port default 20023)\n"
"  -a, --base-addr A     first client address (default 127.0.0.2); client\n"
"                        i binds A+i, port 20024\n"
"  -t, --timeout-ms MS   retransmit timeout (default 1000, like the kernel)\n"
"  -r, --retries N       retransmission rounds before giving up (10)\n"
"  -T, --threads N       threads (default: min(cores, clients))\n"
"      --seed N          data seed (default 1)\n"
"      --pool MIB        distinct page pool to cycle (default 16)\n"
"      --path P          HERALD path (default none)\n"
"      --no-connect      keep the socket unconnected once the server port\n"
"                        is learned (slower; takes acks from any port of\n"
"                        the server, as a kernel does)\n"
"  -v, --verbose         progress and per-client lines on stderr\n"
"Prints one line: key=value statistics.\n");
	exit(fp == stdout ? 0 : 2);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* splitmix64 */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
parse_size(const char *what, const char *s)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		die("%s: bad number '%s'", what, s);
	switch (*end) {
	case 'k': case 'K':
		mul = 1ULL << 10;
		end++;
		break;
	case 'm': case 'M':
		mul = 1ULL << 20;
		end++;
		break;
	case 'g': case 'G':
		mul = 1ULL << 30;
		end++;
		break;
	case 't': case 'T':
		mul = 1ULL << 40;
		end++;
		break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end != '\0' || v > UINT64_MAX / mul)
		die("%s: bad size '%s'", what, s);
	return (uint64_t)v * mul;
}

static void
parse_hostport(const char *s, struct in_addr *addr, uint16_t *port)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n = colon != NULL ? (size_t)(colon - s) : strlen(s);

	if (n >= sizeof(host))
		die("bad address '%s'", s);
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, addr) != 1)
		die("bad IPv4 address '%s'", host);
	if (colon != NULL) {
		uint64_t p = parse_size("port", colon + 1);

		if (p == 0 || p > 65535)
			die("bad port '%s'", colon + 1);
		*port = (uint16_t)p;
	}
}

/*
 * Memory-like pages, as netdump-send makes them: words of a small kernel
 * vocabulary, pointer-like values and random bytes.
 */
static const char gen_words[32][8] = {
	"vm_page", "kernel", "proc", "thread", "mtx_lock", "sched",
	"zfs_arc", "vnode", "mbuf", "socket", "ifnet", "callout", "taskq",
	"uma_zone", "malloc", "kstack", "pmap", "init", "devfs", "geom",
	"cam_sim", "nvme0", "em0", "syscall", "trap", "panic", "witness",
	"ktr", "ufs", "tcp", "\xff\xff\xff\xff\xff\xff\xff\xff", "",
};

static void
gen_page(uint8_t *p, uint64_t pageno)
{
	uint64_t s, r, v;
	size_t i;

	s = opt.seed * 0xd1342543de82ef95ULL ^ pageno;
	for (i = 0; i < PAGE; i += 8) {
		r = rng_next(&s);
		switch (r & 15) {
		case 0: case 1: case 2:
			v = htole64(rng_next(&s));
			break;
		case 3: case 4: case 5:
			v = htole64(0xfffff80000000000ULL |
			    ((r >> 16) & 0x3fffff8ULL));
			break;
		default:
			memcpy(&v, gen_words[(r >> 8) & 31], 8);
			break;
		}
		memcpy(p + i, &v, 8);
	}
}

/*
 * The pool: pool_pages pages, exactly round(zero * pool_pages) of them
 * zero (chosen by a seeded shuffle), followed by a copy of its first pages
 * so that any batch can start at any page and still be one contiguous run.
 * A batch of client c is the run starting at a page picked by hashing
 * (c, batch number): each page of an image is zero with the right odds, and
 * the data costs nothing to produce.
 */
static void
pool_make(void)
{
	size_t pad = (opt.batch + PAGE - 1) / PAGE, i, j, nzero;
	uint32_t *order, t;
	uint64_t s = opt.seed ^ 0x5eed;

	pool_pages = opt.pool_mib * (1024 * 1024 / PAGE);
	if (pool_pages < pad)
		pool_pages = pad;
	if ((pool = aligned_alloc(PAGE, (pool_pages + pad) * PAGE)) == NULL ||
	    (order = malloc(pool_pages * sizeof(*order))) == NULL)
		die("out of memory for a %zu-page pool", pool_pages);
	for (i = 0; i < pool_pages; i++)
		order[i] = (uint32_t)i;
	for (i = pool_pages - 1; i > 0; i--) {
		j = (size_t)(rng_next(&s) % (i + 1));
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	nzero = (size_t)(opt.zero * (double)pool_pages + 0.5);
	for (i = 0; i < pool_pages; i++) {
		uint8_t *p = pool + (size_t)order[i] * PAGE;

		if (i < nzero)
			memset(p, 0, PAGE);
		else
			gen_page(p, order[i]);
	}
	memcpy(pool + pool_pages * PAGE, pool, pad * PAGE);
	free(order);
}

static const uint8_t *
batch_source(struct client *c)
{
	uint64_t s = c->seed ^ (c->batchno * 0x9e3779b97f4a7c15ULL);

	return pool + (size_t)(rng_next(&s) % pool_pages) * PAGE;
}

/* ------------------------------------------------------------ the client */

static void
send_msgs(struct client *c, struct mmsghdr *m, unsigned n)
{
	unsigned done = 0;
	int r;

	while (done < n) {
		r = sendmmsg(c->fd, m + done, n - done, 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			/*
			 * A kernel does not see send errors either: the
			 * packets are lost and retransmitted on timeout.
			 * ECONNREFUSED (ICMP from a closed port) ends up
			 * here too.
			 */
			if (opt.verbose)
				fprintf(stderr, "ndload: client %u: "
				    "sendmmsg: %s\n", c->idx, strerror(errno));
			break;
		}
		done += (unsigned)r;
	}
	c->datagrams += n;
}

/* Start one debugnet_send() call: cut len bytes into packets, send all. */
static void
call_start(struct client *c, uint32_t type, uint64_t off, const uint8_t *data,
    size_t len, bool has_aux)
{
	size_t pos = 0, n;
	unsigned i = 0;

	c->base = c->seqno;
	c->want = c->rcvd = 0;
	c->retries = 0;
	do {
		n = len - pos > opt.payload ? opt.payload : len - pos;
		nd_msg_encode_header(c->hdr[i], type, c->seqno + i,
		    has_aux ? off + pos : pos, (uint32_t)n);
		c->iov[i][0].iov_base = c->hdr[i];
		c->iov[i][0].iov_len = ND_HDR_SIZE;
		c->iov[i][1].iov_base = (void *)(uintptr_t)(data + pos);
		c->iov[i][1].iov_len = n;
		memset(&c->msg[i], 0, sizeof(c->msg[i]));
		if (!c->connected) {
			c->msg[i].msg_hdr.msg_name = &c->server;
			c->msg[i].msg_hdr.msg_namelen = sizeof(c->server);
		}
		c->msg[i].msg_hdr.msg_iov = c->iov[i];
		c->msg[i].msg_hdr.msg_iovlen = n > 0 ? 2 : 1;
		c->want |= 1ULL << i;
		pos += n;
		i++;
	} while (pos < len);
	c->npk = i;
	c->msgs += i;
	send_msgs(c, c->msg, i);
	c->deadline = now_ns() + (uint64_t)opt.timeout_ms * 1000000ULL;
}

/* The next call of the dump, or the end. */
static void
client_next(struct client *c)
{
	size_t len;

	switch (c->phase) {
	case PH_HERALD:
		c->phase = PH_DATA;
		/* FALLTHROUGH */
	case PH_DATA:
		if (c->off < opt.size) {
			len = opt.size - c->off > opt.batch ? opt.batch :
			    (size_t)(opt.size - c->off);
			call_start(c, ND_MSG_VMCORE, c->off, batch_source(c),
			    len, true);
			c->off += len;
			c->batchno++;
			return;
		}
		c->phase = PH_KDH;
		call_start(c, ND_MSG_KDH, 0, kdh, sizeof(kdh), false);
		return;
	case PH_KDH:
		c->phase = PH_FINISHED;
		call_start(c, ND_MSG_FINISHED, 0, NULL, 0, false);
		return;
	case PH_FINISHED:
		c->phase = PH_DONE;
		c->t_end = now_ns();
		return;
	case PH_DONE:
	case PH_FAILED:
		return;
	}
}

static void
client_begin(struct client *c)
{
	c->t_start = now_ns();
	c->phase = PH_HERALD;
	call_start(c, ND_MSG_HERALD, 0, (const uint8_t *)opt.path,
	    opt.path[0] != '\0' ? strlen(opt.path) + 1 : 0, false);
}

/* debugnet_handle_ack(), without the 32-bit shift bug. */
static void
client_ack(struct client *c, uint32_t a)
{
	if (c->phase >= PH_DONE)
		return;
	if (a >= c->base + ND_MAX_IN_FLIGHT || a < c->base) {
		c->stale++;
		return;
	}
	c->rcvd |= 1ULL << (a - c->base);
	if (c->rcvd == c->want) {
		c->seqno += c->npk;
		client_next(c);
	}
}

static void
client_readable(struct client *c)
{
	struct mmsghdr m[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_in from[RECV_BATCH];
	uint8_t buf[RECV_BATCH][16];
	int n, i;

	for (;;) {
		for (i = 0; i < RECV_BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof(from[i]);
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(c->fd, m, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (i = 0; i < n; i++) {
			/* debugnet_handle_ip/udp: the server's IP, 4 bytes. */
			if (from[i].sin_addr.s_addr != opt.server.s_addr ||
			    m[i].msg_len != ND_ACK_SIZE)
				continue;
			if (!c->port_learned) {
				c->server.sin_port = from[i].sin_port;
				c->port_learned = true;
				/*
				 * Connected, the kernel skips a route lookup
				 * per datagram; but then it drops replies
				 * from other ports, which a FreeBSD kernel
				 * would take as acks (--no-connect).
				 */
				if (opt.connect && connect(c->fd,
				    (struct sockaddr *)&c->server,
				    sizeof(c->server)) == 0)
					c->connected = true;
			}
			client_ack(c, nd_ack_decode(buf[i]));
		}
		if (n < RECV_BATCH)
			return;
	}
}

/* No complete call within the timeout: resend the unacked packets. */
static void
client_timeout(struct client *c)
{
	struct mmsghdr m[ND_MAX_IN_FLIGHT];
	unsigned i, n = 0;

	if (c->retries++ > opt.retries) {
		c->phase = PH_FAILED;
		c->t_end = now_ns();
		if (opt.verbose)
			fprintf(stderr, "ndload: client %u: no ack for seq "
			    "%u..%u, giving up\n", c->idx, c->base,
			    c->base + c->npk - 1);
		return;
	}
	for (i = 0; i < c->npk; i++)
		if ((c->rcvd & (1ULL << i)) == 0)
			m[n++] = c->msg[i];
	c->retrans += n;
	c->rounds++;
	send_msgs(c, m, n);
	c->deadline = now_ns() + (uint64_t)opt.timeout_ms * 1000000ULL;
}

static void
client_open(struct client *c, unsigned idx)
{
	int size = 4 << 20;

	c->idx = idx;
	c->seed = opt.seed * 0x2545f4914f6cdd1dULL + idx + 1;
	c->seqno = 1;
	c->local.sin_family = AF_INET;
	c->local.sin_port = htons(ND_CLIENT_PORT);
	c->local.sin_addr.s_addr = htonl(ntohl(opt.base.s_addr) + idx);
	c->server.sin_family = AF_INET;
	c->server.sin_addr = opt.server;
	c->server.sin_port = htons(opt.port);
	if ((c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	/* Enough room for a whole call in flight, as a NIC ring would. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size,
	    sizeof(size)) == -1)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &size,
		    sizeof(size));
	if (bind(c->fd, (struct sockaddr *)&c->local, sizeof(c->local)) == -1) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &c->local.sin_addr, a, sizeof(a));
		die("cannot bind %s:%d: %s (another ndload or test "
		    "using these addresses?)", a, ND_CLIENT_PORT,
		    strerror(errno));
	}
}

/* ------------------------------------------------------------ threads */

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev, evs[64];
	uint64_t now, next_scan = 0;
	unsigned i, active = w->nclients;
	int ep, n, tmo;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < w->nclients; i++) {
		ev.events = EPOLLIN;
		ev.data.ptr = w->clients[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, w->clients[i]->fd, &ev) == -1)
			die("epoll_ctl: %s", strerror(errno));
	}
	for (i = 0; i < w->nclients; i++)
		client_begin(w->clients[i]);
	while (active > 0) {
		now = now_ns();
		tmo = next_scan > now ?
		    (int)((next_scan - now + 999999) / 1000000) : 0;
		n = epoll_wait(ep, evs, 64, tmo);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < (unsigned)(n > 0 ? n : 0); i++) {
			struct client *c = evs[i].data.ptr;

			client_readable(c);
			if (c->phase >= PH_DONE)
				next_scan = 0;	/* count it out now */
		}
		/*
		 * Deadlines only move later, so the earliest one seen in the
		 * last scan is a safe moment for the next.
		 */
		now = now_ns();
		if (now < next_scan)
			continue;
		next_scan = UINT64_MAX;
		active = 0;
		for (i = 0; i < w->nclients; i++) {
			struct client *c = w->clients[i];

			if (c->phase >= PH_DONE)
				continue;
			if (now >= c->deadline)
				client_timeout(c);
			if (c->phase >= PH_DONE)
				continue;
			active++;
			if (c->deadline < next_scan)
				next_scan = c->deadline;
		}
	}
	close(ep);
	return NULL;
}

/* ------------------------------------------------------------ main */

static const struct option longopts[] = {
	{ "clients",	required_argument, NULL, 'k' },
	{ "size",	required_argument, NULL, 's' },
	{ "payload",	required_argument, NULL, 'p' },
	{ "mtu",	required_argument, NULL, 'm' },
	{ "batch",	required_argument, NULL, 'b' },
	{ "zero",	required_argument, NULL, 'z' },
	{ "server",	required_argument, NULL, 'S' },
	{ "base-addr",	required_argument, NULL, 'a' },
	{ "timeout-ms",	required_argument, NULL, 't' },
	{ "retries",	required_argument, NULL, 'r' },
	{ "threads",	required_argument, NULL, 'T' },
	{ "seed",	required_argument, NULL, 1000 },
	{ "pool",	required_argument, NULL, 1001 },
	{ "path",	required_argument, NULL, 1002 },
	{ "no-connect",	no_argument,	   NULL, 1003 },
	{ "verbose",	no_argument,	   NULL, 'v' },
	{ "help",	no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static uint64_t
num_arg(const char *what, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v = parse_size(what, s);

	if (v < min || v > max)
		die("%s: %s is out of range [%" PRIu64 ", %" PRIu64 "]",
		    what, s, min, max);
	return v;
}

static void
parse_args(int argc, char **argv)
{
	bool have_server = false;
	char *end;
	int ch;

	inet_pton(AF_INET, "127.0.0.1", &opt.server);
	inet_pton(AF_INET, "127.0.0.2", &opt.base);
	while ((ch = getopt_long(argc, argv, "k:s:p:m:b:z:S:a:t:r:T:vh",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			opt.clients = (unsigned)num_arg("--clients", optarg, 1,
			    MAX_CLIENTS);
			break;
		case 's':
			opt.size = parse_size("--size", optarg);
			break;
		case 'p':
			opt.payload = (size_t)num_arg("--payload", optarg, 1,
			    ND_MAX_PAYLOAD);
			break;
		case 'm':
			opt.payload = (size_t)num_arg("--mtu", optarg, 53,
			    ND_MAX_PAYLOAD + 52) - 52;
			break;
		case 'b':
			opt.batch = (size_t)num_arg("--batch", optarg, 1,
			    64ULL << 20);
			break;
		case 'z':
			errno = 0;
			opt.zero = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || opt.zero < 0 ||
			    opt.zero > 1)
				die("--zero: want a number in [0, 1]");
			break;
		case 'S':
			parse_hostport(optarg, &opt.server, &opt.port);
			have_server = true;
			break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &opt.base) != 1)
				die("--base-addr: bad IPv4 address");
			break;
		case 't':
			opt.timeout_ms = (unsigned)num_arg("--timeout-ms",
			    optarg, 1, 600000);
			break;
		case 'r':
			opt.retries = (unsigned)num_arg("--retries", optarg, 0,
			    1000);
			break;
		case 'T':
			opt.threads = (unsigned)num_arg("--threads", optarg, 1,
			    MAX_THREADS);
			break;
		case 1000:
			opt.seed = parse_size("--seed", optarg);
			break;
		case 1001:
			opt.pool_mib = (size_t)num_arg("--pool", optarg, 1,
			    4096);
			break;
		case 1002:
			if (strlen(optarg) >= ND_MAX_HERALD_PATH)
				die("--path: too long");
			opt.path = optarg;
			break;
		case 1003:
			opt.connect = false;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
		default:
			usage(stderr);
		}
	}
	if (optind < argc && !have_server) {
		parse_hostport(argv[optind++], &opt.server, &opt.port);
		have_server = true;
	}
	if (optind != argc || !have_server)
		usage(stderr);
	if ((opt.batch + opt.payload - 1) / opt.payload > ND_MAX_IN_FLIGHT)
		die("--batch %zu at payload %zu is more than %d packets per "
		    "call", opt.batch, opt.payload, ND_MAX_IN_FLIGHT);
	if (opt.size == 0)
		die("--size must be at least 1 byte");
}

static double
tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	struct worker *workers;
	struct rusage ru;
	uint64_t t0, t1, tmin = UINT64_MAX, tmax = 0, bytes = 0;
	uint64_t msgs = 0, dgrams = 0, retrans = 0, rounds = 0, stale = 0;
	unsigned i, nthreads, done = 0, failed = 0;
	long ncpu;
	double secs;

	parse_args(argc, argv);
	pool_make();
	nd_kdh_build(kdh, "amd64", opt.size, (uint64_t)time(NULL), 0,
	    "ndload", "FreeBSD 14.1-RELEASE GENERIC (ndload)\n",
	    "ndload benchmark dump", 0, opt.size);

	if ((clients = calloc(opt.clients, sizeof(*clients))) == NULL)
		die("out of memory");
	for (i = 0; i < opt.clients; i++)
		client_open(&clients[i], i);

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nthreads = opt.threads != 0 ? opt.threads :
	    (unsigned)(ncpu > 0 ? ncpu : 1);
	if (nthreads > opt.clients)
		nthreads = opt.clients;
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	if ((workers = calloc(nthreads, sizeof(*workers))) == NULL)
		die("out of memory");
	for (i = 0; i < nthreads; i++) {
		workers[i].no = i;
		if ((workers[i].clients = calloc(opt.clients,
		    sizeof(struct client *))) == NULL)
			die("out of memory");
	}
	for (i = 0; i < opt.clients; i++) {
		struct worker *w = &workers[i % nthreads];

		w->clients[w->nclients++] = &clients[i];
	}

	t0 = now_ns();
	for (i = 0; i < nthreads; i++)
		if ((errno = pthread_create(&workers[i].tid, NULL, worker_run,
		    &workers[i])) != 0)
			die("pthread_create: %s", strerror(errno));
	for (i = 0; i < nthreads; i++)
		pthread_join(workers[i].tid, NULL);
	t1 = now_ns();

	for (i = 0; i < opt.clients; i++) {
		struct client *c = &clients[i];
		uint64_t t = c->t_end - c->t_start;

		if (c->phase == PH_DONE) {
			done++;
			bytes += opt.size;
		} else
			failed++;
		if (t < tmin)
			tmin = t;
		if (t > tmax)
			tmax = t;
		msgs += c->msgs;
		dgrams += c->datagrams;
		retrans += c->retrans;
		rounds += c->rounds;
		stale += c->stale;
		if (opt.verbose)
			fprintf(stderr, "ndload: client %u: %s in %.3f s, "
			    "%" PRIu64 " retransmitted\n", c->idx,
			    c->phase == PH_DONE ? "done" : "FAILED",
			    (double)t / 1e9, c->retrans);
		close(c->fd);
	}
	getrusage(RUSAGE_SELF, &ru);
	secs = (double)(t1 - t0) / 1e9;
	printf("clients=%u threads=%u payload=%zu batch=%zu zero=%.2f "
	    "size=%" PRIu64 " bytes=%" PRIu64 " seconds=%.4f mbps=%.1f "
	    "msgs=%" PRIu64 " msgps=%.0f datagrams=%" PRIu64
	    " retransmits=%" PRIu64 " retransmit_rounds=%" PRIu64
	    " stale_acks=%" PRIu64 " done=%u timeouts=%u "
	    "client_min_s=%.4f client_max_s=%.4f gen_cpu_s=%.3f\n",
	    opt.clients, nthreads, opt.payload, opt.batch, opt.zero, opt.size,
	    bytes, secs, (double)bytes / 1e6 / secs, msgs,
	    (double)msgs / secs, dgrams, retrans, rounds, stale, done, failed,
	    (double)tmin / 1e9, (double)tmax / 1e9,
	    tv_sec(ru.ru_utime) + tv_sec(ru.ru_stime));
	fflush(stdout);
	for (i = 0; i < nthreads; i++)
		free(workers[i].clients);
	free(workers);
	free(clients);
	free(pool);
	return failed > 0 ? 1 : 0;
}
