/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netdump-send: send a file, or a generated memory-like image, to a netdump
 * server exactly as a panicking FreeBSD kernel does. It follows, in our own
 * words (no FreeBSD code copied):
 *  - sys/net/debugnet.c debugnet_send (13+): one lock-step call of at most
 *    64 packets at a time, every packet of a call acked before the next,
 *    fixed timeouts, retransmission of only the unacked packets, and the
 *    server's port learned from its first reply;
 *  - sys/netinet/netdump/netdump_client.c: netdump_dumper coalescing the
 *    dumper's writes into a 64 KiB nd_buf (13+), or one call per write
 *    with payloads capped at NETDUMP_DATASIZE (12.x, --order legacy), and
 *    netdump_write_headers (KDH, then the key in 12.x);
 *  - sys/kern/kern_shutdown.c: dump_init_header (the KDH), dump_finish
 *    (a compressed dump's true length, its last block padded),
 *    kerneldumpcrypto_create (the EKCD key blob, padded to the block);
 *  - sys/amd64/amd64/minidump_machdep.c: a minidump's writes (see image.c).
 * Trees read: sobomax/freebsd14_vendor @0f7ff342 (14: kern_shutdown.c,
 * netdump_client.c, minidump_machdep.c, newvers.sh), freebsd/freebsd-src
 * @0269ae4c (the buffered pre-debugnet netdump_client.c of 2019),
 * MidnightBSD/src @381931b9 (a 12.x netdump_client.c, one call per write),
 * fel1x-developer/freebsd-src @2d614aa2 (main: the key after the HERALD).
 *
 * It also injects faults (loss, duplication, reordering, lost acks, a client
 * dying mid-dump, the kernel's 32-bit ack bitmap bug, the buffered header
 * overwrite of a 2019 netdump_client.c) so the server's tests can drive the
 * paths a real kernel would.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <endian.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "kdh.h"
#include "proto.h"
#include "size.h"

#ifndef ND_VERSION
#define ND_VERSION	"unknown"
#endif

#define EXIT_USAGE	2
#define EXIT_STOPPED	3

#define IP_UDP_OVERHEAD	(20 + 8)	/* IPv4 header, no options, + UDP */
#define LEGACY_DATASIZE	4096		/* NETDUMP_DATASIZE, the 12.x cap */
#define DUMP_BLOCK	IMG_BLOCK	/* netdump's dumper.blocksize */
#define PAGE_SZ		IMG_PAGE
/* nd_buf: MAXDUMPPGS * PAGE_SIZE on amd64, the size of one data call. */
#define DATA_CALL	IMG_MAXIO
/* The smallest MTU whose payload still fits a data call in 64 packets. */
#define MIN_MTU		(DATA_CALL / ND_MAX_IN_FLIGHT + IP_UDP_OVERHEAD + \
			    ND_HDR_SIZE)
#define MAX_MTU		(ND_MAX_PAYLOAD + IP_UDP_OVERHEAD + ND_HDR_SIZE)
#define KDH_SHORT_LEN	100
#define RECV_BATCH	64
#define DEFAULT_PANIC	"netdump-send test dump"
#define EKCD_KEYSIZE	512		/* a 4096-bit RSA key's ciphertext */

enum order {
	ORDER_MODERN,		/* 13+: HERALD, KEY, DATA, KDH, FINISHED */
	ORDER_LEGACY,		/* 12.x: HERALD, DATA, KDH, KEY, FINISHED */
};

enum bad_kdh {
	BAD_KDH_NONE,
	BAD_KDH_PARITY,
	BAD_KDH_MAGIC,
	BAD_KDH_VERSION,
	BAD_KDH_SHORT,
};

static struct options {
	const char	*server;
	const char	*bind_addr;
	unsigned	 client_port;
	unsigned	 mtu;
	unsigned	 timeout_ms;
	unsigned	 retries;
	const char	*path;
	enum order	 order;
	bool		 buffered_bug;
	const char	*key_file;
	uint64_t	 key_size;
	bool		 have_key_size;
	uint8_t		 ekcd;		/* kdk_encryption, 0: --ekcd not given */
	uint32_t	 ekcd_keysize;
	const char	*key_out;
	const char	*file;
	uint64_t	 gen_size;
	bool		 have_gen;
	double		 zero_ratio;
	uint64_t	 seed;
	const char	*output;
	uint8_t		 compression;
	uint64_t	 extent;
	bool		 have_extent;
	bool		 unaligned;
	const char	*hostname;
	const char	*panic;
	const char	*version;
	bool		 no_kdh;
	enum bad_kdh	 bad_kdh;
	bool		 no_finished;
	double		 loss;
	double		 ack_loss;
	double		 dup;
	double		 reorder;
	uint64_t	 stop_after;
	bool		 have_stop_after;
	bool		 shift_bug;
	bool		 quiet;
	int		 verbose;
} opt = {
	.bind_addr = "0.0.0.0",
	.client_port = ND_CLIENT_PORT,
	.mtu = 1500,
	.timeout_ms = 1000,
	.retries = 10,
	.order = ORDER_MODERN,
	.zero_ratio = 0.5,
	.seed = 1,
	.panic = DEFAULT_PANIC,
	.version = IMG_VERSION_TWO_LINE,
	.ekcd_keysize = EKCD_KEYSIZE,
};

/* One debugnet_send() call in flight. */
struct call {
	uint32_t	 type;
	uint32_t	 base;		/* seqno of packet 0 */
	unsigned	 npk;
	const uint8_t	*data;
	size_t		 len;
	uint64_t	 want;		/* want_acks */
	uint64_t	 rcvd;		/* dp_rcvd_acks */
	uint8_t		 hdr[ND_MAX_IN_FLIGHT][ND_HDR_SIZE];
};

static struct stats {
	uint64_t	 body_bytes;	/* vmcore bytes handed to the wire */
	uint64_t	 packets;	/* distinct packets (seqnos) */
	uint64_t	 datagrams;	/* transmissions, dups included */
	uint64_t	 retransmits;
	uint64_t	 dropped;	/* --loss */
	uint64_t	 duplicated;	/* --dup */
	uint64_t	 acks;
	uint64_t	 acks_dropped;	/* --ack-loss */
	uint64_t	 ignored;	/* foreign source or wrong length */
	uint64_t	 future_acks;
} st;

static int		 sock = -1;
static struct sockaddr_in dest;	/* the server; the port may be learned */
static bool		 port_learned;
static uint32_t		 seqno = 1;	/* dp_seqno */
static size_t		 payload_max;
static uint64_t		 fault_rng;
static int		 out_fd = -1;
static bool		 progress_on;
static uint64_t		 progress_total;
static uint64_t		 t_start, t_last_progress;

static struct call	 cur;
/* One dumper write, read from the source. */
static uint8_t		 databuf[DATA_CALL];
/* netdump_client.c's nd_buf, nd_tx_off and nd_buf_len. */
static uint8_t		 nd_buf[DATA_CALL];
static uint64_t		 nd_tx_off;
static size_t		 nd_buf_len;
/* Each packet may go out twice (--dup) in one round. */
static struct mmsghdr	 smsg[2 * ND_MAX_IN_FLIGHT];
static struct iovec	 siov[2 * ND_MAX_IN_FLIGHT][2];

static void	usage(FILE *) __attribute__((__noreturn__));
static void	usage_err(const char *, ...)
		    __attribute__((__format__(printf, 1, 2), __noreturn__));
static void	vlog(int, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));
static void	print_summary(void);

/* Draw only when a fault is enabled, so enabling one leaves the others be. */
static bool
chance(double p)
{
	if (p <= 0.0)
		return false;
	return img_rng_unit(&fault_rng) < p;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
vlog(int level, const char *fmt, ...)
{
	va_list ap;

	if (opt.verbose < level)
		return;
	if (progress_on)
		fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: netdump-send [options] (--file FILE | --generate SIZE) HOST[:PORT]\n"
"Send a kernel dump to a netdump server the way a FreeBSD kernel does.\n"
"HOST is an IPv4 address or name; PORT defaults to %d.\n"
"\n"
"Network:\n"
"  -b, --bind ADDR         local address (default 0.0.0.0)\n"
"      --client-port PORT  local port (default %d)\n"
"  -m, --mtu N             MTU; payload = MTU - 52 (default 1500 -> 1448)\n"
"  -t, --timeout-ms N      wait per round before resending (default 1000)\n"
"  -r, --retries N         net.debugnet.nretries: N+1 retransmission rounds,\n"
"                          the (N+2)th timeout fails the call (default 10)\n"
"Dump:\n"
"  -p, --path PATH         HERALD path (default: none, empty payload)\n"
"      --order ORDER       modern (13+: key after HERALD, writes coalesced\n"
"                          into 64 KiB calls, default) or legacy (12.x: key\n"
"                          after KDH, one call per write, payload <= 4096)\n"
"      --buffered-header-bug  the 2019 netdump_client.c (legacy order, 64 KiB\n"
"                          buffer): KDH and key overwrite the last call\n"
"      --ekcd CIPHER       send a kernel EKCD key blob (struct kerneldumpkey,\n"
"                          padded to 4096): aes256-cbc or chacha20\n"
"      --ekcd-key-size N   its encrypted key size (default %d)\n"
"  -k, --key FILE          send FILE as the EKCD key blob, as it is\n"
"      --key-size N        send N pseudo-random bytes as the EKCD key blob\n"
"      --key-out FILE      write the key blob sent to FILE\n"
"  -f, --file FILE         send FILE ('-' for stdin) as the vmcore\n"
"  -g, --generate SIZE     send a generated memory-like image (k/M/G suffix)\n"
"  -z, --zero-ratio R      share of zero pages when generating (default 0.5)\n"
"  -s, --seed N            seed for generated data and faults (default 1)\n"
"  -o, --output FILE       write the vmcore bytes sent to FILE\n"
"  -c, --compression none|gzip|zstd  KDH compression (body sent as given,\n"
"                          last block zero-padded to 4096; default none)\n"
"      --extent SIZE       KDH dumpextent (default: the uncompressed size)\n"
"      --unaligned         send a partial last block as it is (no kernel\n"
"                          does)\n"
"  -H, --hostname NAME     KDH hostname (default: gethostname)\n"
"      --panic STRING      KDH panic string (default \"%s\")\n"
"      --version-string S  KDH version string, C escapes (default: two lines\n"
"                          as newvers.sh makes them)\n"
"      --one-line-version  the one-line form (newvers.sh -r)\n"
"      --no-kdh            do not send the KDH\n"
"      --bad-kdh KIND      send a corrupt KDH: parity, magic, version, short\n"
"      --no-finished       do not send FINISHED\n"
"Faults (probabilities 0..1, reproducible from --seed):\n"
"      --loss P            drop outgoing packets\n"
"      --ack-loss P        ignore received acks\n"
"      --dup P             send packets twice\n"
"      --reorder P         shuffle a call's packets\n"
"      --stop-after BYTES  exit 3 once BYTES of vmcore were sent\n"
"      --shift-bug         emulate the kernel's 32-bit ack bitmap bug\n"
"Other:\n"
"  -q, --quiet             no progress bar and no summary\n"
"  -v, --verbose           report retransmission rounds (twice: every call)\n"
"  -h, --help              this text\n"
"  -V, --version           print the version\n"
"\n"
"Exit status: 0 dump sent (FINISHED acked), 1 a call failed or I/O error,\n"
"2 usage error, 3 stopped by --stop-after.\n",
	    ND_HERALD_PORT, ND_CLIENT_PORT, EKCD_KEYSIZE, DEFAULT_PANIC);
	exit(fp == stdout ? 0 : EXIT_USAGE);
}

static void
usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'netdump-send --help' for more information.\n");
	exit(EXIT_USAGE);
}

static uint64_t
parse_uint(const char *name, const char *s, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s == '-' || *s == '\0')
		usage_err("%s: invalid number '%s'", name, s);
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > max)
		usage_err("%s: invalid number '%s' (max %" PRIu64 ")", name,
		    s, max);
	return v;
}

/* A size with an optional 1024-based k/M/G/T suffix, and B or iB. */
static uint64_t
parse_size(const char *name, const char *s)
{
	uint64_t v;

	switch (nd_size_parse(s, true, &v)) {
	case 0:
		return v;
	case -2:
		usage_err("%s: size '%s' too large", name, s);
	default:
		usage_err("%s: invalid size '%s'", name, s);
	}
}

static double
parse_prob(const char *name, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0 && v <= 1.0))
		usage_err("%s: '%s' is not a probability in 0..1", name, s);
	return v;
}

/* Resolve an IPv4 name or dotted quad. */
static int
resolve4(const char *host, struct in_addr *out)
{
	struct addrinfo hints, *res;
	int rc;

	if (inet_pton(AF_INET, host, out) == 1)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_DGRAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		warnx("%s: %s", host, gai_strerror(rc));
		return -1;
	}
	*out = ((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
	return 0;
}

enum {
	OPT_CLIENT_PORT = 256,
	OPT_ORDER,
	OPT_KEY_SIZE,
	OPT_PANIC,
	OPT_NO_KDH,
	OPT_BAD_KDH,
	OPT_NO_FINISHED,
	OPT_LOSS,
	OPT_ACK_LOSS,
	OPT_DUP,
	OPT_REORDER,
	OPT_STOP_AFTER,
	OPT_SHIFT_BUG,
	OPT_BUFFERED_BUG,
	OPT_EKCD,
	OPT_EKCD_KEY_SIZE,
	OPT_KEY_OUT,
	OPT_EXTENT,
	OPT_UNALIGNED,
	OPT_VERSION_STRING,
	OPT_ONE_LINE_VERSION,
};

static const struct option longopts[] = {
	{ "bind",		required_argument, NULL, 'b' },
	{ "client-port",	required_argument, NULL, OPT_CLIENT_PORT },
	{ "mtu",		required_argument, NULL, 'm' },
	{ "timeout-ms",		required_argument, NULL, 't' },
	{ "retries",		required_argument, NULL, 'r' },
	{ "path",		required_argument, NULL, 'p' },
	{ "order",		required_argument, NULL, OPT_ORDER },
	{ "key",		required_argument, NULL, 'k' },
	{ "key-size",		required_argument, NULL, OPT_KEY_SIZE },
	{ "file",		required_argument, NULL, 'f' },
	{ "generate",		required_argument, NULL, 'g' },
	{ "zero-ratio",		required_argument, NULL, 'z' },
	{ "seed",		required_argument, NULL, 's' },
	{ "output",		required_argument, NULL, 'o' },
	{ "compression",	required_argument, NULL, 'c' },
	{ "hostname",		required_argument, NULL, 'H' },
	{ "panic",		required_argument, NULL, OPT_PANIC },
	{ "no-kdh",		no_argument,	   NULL, OPT_NO_KDH },
	{ "bad-kdh",		required_argument, NULL, OPT_BAD_KDH },
	{ "no-finished",	no_argument,	   NULL, OPT_NO_FINISHED },
	{ "loss",		required_argument, NULL, OPT_LOSS },
	{ "ack-loss",		required_argument, NULL, OPT_ACK_LOSS },
	{ "dup",		required_argument, NULL, OPT_DUP },
	{ "reorder",		required_argument, NULL, OPT_REORDER },
	{ "stop-after",		required_argument, NULL, OPT_STOP_AFTER },
	{ "shift-bug",		no_argument,	   NULL, OPT_SHIFT_BUG },
	{ "buffered-header-bug", no_argument,	   NULL, OPT_BUFFERED_BUG },
	{ "bug-12-header",	no_argument,	   NULL, OPT_BUFFERED_BUG },
	{ "ekcd",		required_argument, NULL, OPT_EKCD },
	{ "ekcd-key-size",	required_argument, NULL, OPT_EKCD_KEY_SIZE },
	{ "key-out",		required_argument, NULL, OPT_KEY_OUT },
	{ "extent",		required_argument, NULL, OPT_EXTENT },
	{ "unaligned",		no_argument,	   NULL, OPT_UNALIGNED },
	{ "version-string",	required_argument, NULL, OPT_VERSION_STRING },
	{ "one-line-version",	no_argument,	   NULL, OPT_ONE_LINE_VERSION },
	{ "quiet",		no_argument,	   NULL, 'q' },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ NULL,			0,		   NULL, 0 },
};

static void
parse_options(int argc, char **argv)
{
	static char verbuf[1024];
	bool order_given = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "b:m:t:r:p:k:f:g:z:s:o:c:H:qvhV",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			opt.bind_addr = optarg;
			break;
		case OPT_CLIENT_PORT:
			opt.client_port = parse_uint("--client-port", optarg,
			    65535);
			break;
		case 'm':
			opt.mtu = parse_uint("--mtu", optarg, 65535);
			break;
		case 't':
			opt.timeout_ms = parse_uint("--timeout-ms", optarg,
			    3600000);
			if (opt.timeout_ms == 0)
				usage_err("--timeout-ms must be at least 1");
			break;
		case 'r':
			opt.retries = parse_uint("--retries", optarg, 100000);
			break;
		case 'p':
			opt.path = optarg;
			break;
		case OPT_ORDER:
			if (strcmp(optarg, "modern") == 0)
				opt.order = ORDER_MODERN;
			else if (strcmp(optarg, "legacy") == 0)
				opt.order = ORDER_LEGACY;
			else
				usage_err("--order: '%s' is not modern or "
				    "legacy", optarg);
			order_given = true;
			break;
		case OPT_BUFFERED_BUG:
			opt.buffered_bug = true;
			break;
		case OPT_EKCD:
			if (strcmp(optarg, "aes256-cbc") == 0)
				opt.ekcd = IMG_ENC_AES_256_CBC;
			else if (strcmp(optarg, "chacha20") == 0)
				opt.ekcd = IMG_ENC_CHACHA20;
			else
				usage_err("--ekcd: '%s' is not aes256-cbc or "
				    "chacha20", optarg);
			break;
		case OPT_EKCD_KEY_SIZE:
			opt.ekcd_keysize = (uint32_t)parse_uint(
			    "--ekcd-key-size", optarg, IMG_KDK_ENCKEY_MAX);
			if (opt.ekcd_keysize == 0)
				usage_err("--ekcd-key-size must be 1..%d",
				    IMG_KDK_ENCKEY_MAX);
			break;
		case OPT_KEY_OUT:
			opt.key_out = optarg;
			break;
		case OPT_EXTENT:
			opt.extent = parse_size("--extent", optarg);
			opt.have_extent = true;
			break;
		case OPT_UNALIGNED:
			opt.unaligned = true;
			break;
		case OPT_VERSION_STRING:
			if (img_unescape(verbuf, sizeof(verbuf), optarg) < 0)
				usage_err("--version-string: bad escape, NUL "
				    "or longer than %zu bytes", sizeof(verbuf) -
				    1);
			opt.version = verbuf;
			break;
		case OPT_ONE_LINE_VERSION:
			opt.version = IMG_VERSION_ONE_LINE;
			break;
		case 'k':
			opt.key_file = optarg;
			break;
		case OPT_KEY_SIZE:
			opt.key_size = parse_size("--key-size", optarg);
			opt.have_key_size = true;
			break;
		case 'f':
			opt.file = optarg;
			break;
		case 'g':
			opt.gen_size = parse_size("--generate", optarg);
			opt.have_gen = true;
			break;
		case 'z':
			opt.zero_ratio = parse_prob("--zero-ratio", optarg);
			break;
		case 's':
			opt.seed = parse_uint("--seed", optarg, UINT64_MAX);
			break;
		case 'o':
			opt.output = optarg;
			break;
		case 'c':
			if (strcmp(optarg, "none") == 0)
				opt.compression = 0;
			else if (strcmp(optarg, "gzip") == 0)
				opt.compression = 1;
			else if (strcmp(optarg, "zstd") == 0)
				opt.compression = 2;
			else
				usage_err("--compression: '%s' is not none, "
				    "gzip or zstd", optarg);
			break;
		case 'H':
			opt.hostname = optarg;
			break;
		case OPT_PANIC:
			opt.panic = optarg;
			break;
		case OPT_NO_KDH:
			opt.no_kdh = true;
			break;
		case OPT_BAD_KDH:
			if (strcmp(optarg, "parity") == 0)
				opt.bad_kdh = BAD_KDH_PARITY;
			else if (strcmp(optarg, "magic") == 0)
				opt.bad_kdh = BAD_KDH_MAGIC;
			else if (strcmp(optarg, "version") == 0)
				opt.bad_kdh = BAD_KDH_VERSION;
			else if (strcmp(optarg, "short") == 0)
				opt.bad_kdh = BAD_KDH_SHORT;
			else
				usage_err("--bad-kdh: '%s' is not parity, "
				    "magic, version or short", optarg);
			break;
		case OPT_NO_FINISHED:
			opt.no_finished = true;
			break;
		case OPT_LOSS:
			opt.loss = parse_prob("--loss", optarg);
			break;
		case OPT_ACK_LOSS:
			opt.ack_loss = parse_prob("--ack-loss", optarg);
			break;
		case OPT_DUP:
			opt.dup = parse_prob("--dup", optarg);
			break;
		case OPT_REORDER:
			opt.reorder = parse_prob("--reorder", optarg);
			break;
		case OPT_STOP_AFTER:
			opt.stop_after = parse_size("--stop-after", optarg);
			opt.have_stop_after = true;
			break;
		case OPT_SHIFT_BUG:
			opt.shift_bug = true;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'v':
			opt.verbose++;
			break;
		case 'h':
			usage(stdout);
		case 'V':
			printf("netdump-send %s\n", ND_VERSION);
			exit(0);
		default:
			fprintf(stderr, "Try 'netdump-send --help' for more "
			    "information.\n");
			exit(EXIT_USAGE);
		}
	}
	if (optind != argc - 1)
		usage_err(optind >= argc ? "missing server HOST[:PORT]" :
		    "too many arguments");
	opt.server = argv[optind];

	if ((opt.file != NULL) == opt.have_gen)
		usage_err("give exactly one of --file and --generate");
	if ((opt.key_file != NULL) + opt.have_key_size + (opt.ekcd != 0) > 1)
		usage_err("--key, --key-size and --ekcd exclude each other");
	/* dumper_insert: EOPNOTSUPP for AES-CBC with compression. */
	if (opt.ekcd == IMG_ENC_AES_256_CBC && opt.compression != 0)
		usage_err("--ekcd aes256-cbc cannot be compressed (the kernel "
		    "refuses it); use chacha20");
	if (opt.buffered_bug) {
		if (order_given && opt.order != ORDER_LEGACY)
			usage_err("--buffered-header-bug is a legacy-order "
			    "client");
		opt.order = ORDER_LEGACY;
	}
	if (opt.bad_kdh != BAD_KDH_NONE && opt.no_kdh)
		usage_err("--bad-kdh and --no-kdh exclude each other");
	if (opt.mtu < MIN_MTU || opt.mtu > MAX_MTU)
		usage_err("--mtu must be %d..%d (a 64 KiB data call must fit "
		    "in %d packets)", MIN_MTU, MAX_MTU, ND_MAX_IN_FLIGHT);
	if (opt.client_port == 0)
		usage_err("--client-port must be 1..65535");

	/*
	 * debugnet_send bounds a packet by the MTU only; the 12.x
	 * netdump_send also capped it at NETDUMP_DATASIZE.
	 */
	payload_max = opt.mtu - IP_UDP_OVERHEAD - ND_HDR_SIZE;
	if (opt.order == ORDER_LEGACY && payload_max > LEGACY_DATASIZE)
		payload_max = LEGACY_DATASIZE;

	if (opt.path != NULL &&
	    strlen(opt.path) + 1 > payload_max * ND_MAX_IN_FLIGHT)
		usage_err("--path too long for one call");
	if (opt.have_key_size &&
	    opt.key_size > (uint64_t)payload_max * ND_MAX_IN_FLIGHT)
		usage_err("--key-size: at most %zu bytes fit in one call",
		    payload_max * ND_MAX_IN_FLIGHT);
}

static void
parse_server(const char *arg, struct sockaddr_in *sin)
{
	char host[256];
	const char *colon;
	size_t hlen;
	unsigned port = ND_HERALD_PORT;

	colon = strrchr(arg, ':');
	hlen = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
	if (hlen == 0 || hlen >= sizeof(host))
		usage_err("bad server '%s'", arg);
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	if (colon != NULL)
		port = parse_uint("server port", colon + 1, 65535);
	if (port == 0)
		usage_err("server port must be 1..65535");
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (resolve4(host, &sin->sin_addr) == -1)
		exit(EXIT_USAGE);
}

static void
open_socket(void)
{
	struct sockaddr_in local;
	int one = 1, bufsz = 4 << 20, pmtu = IP_PMTUDISC_DO, ttl = 255;

	memset(&local, 0, sizeof(local));
	local.sin_family = AF_INET;
	local.sin_port = htons(opt.client_port);
	if (resolve4(opt.bind_addr, &local.sin_addr) == -1)
		exit(EXIT_USAGE);
	if ((sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1)
		err(1, "SO_REUSEADDR");
	/*
	 * debugnet_ip_output sends with DF and TTL 255 and never fragments:
	 * a payload too large for the path is lost, not split.
	 */
	if (setsockopt(sock, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu,
	    sizeof(pmtu)) == -1)
		err(1, "IP_MTU_DISCOVER");
	if (setsockopt(sock, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) == -1)
		err(1, "IP_TTL");
	/* Best effort: a deep buffer keeps a 64-packet burst from blocking. */
	(void)setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	(void)setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (bind(sock, (struct sockaddr *)&local, sizeof(local)) == -1)
		err(1, "bind %s:%u", opt.bind_addr, opt.client_port);
}

/*
 * The want/received bit of packet i. The kernel shifts an int, so on amd64
 * the count is masked to 5 bits and packets i and i + 32 share a bit.
 */
static uint64_t
ack_bit(unsigned i)
{
	if (opt.shift_bug)
		return 1ULL << (i % 32);
	return 1ULL << i;
}

static size_t
pkt_len(const struct call *c, unsigned i)
{
	size_t off = (size_t)i * payload_max;
	size_t left = c->len - off;

	return left < payload_max ? left : payload_max;
}

/* Send packets idx[0..n) of the call back to back, faults applied. */
static void
transmit(struct call *c, const uint8_t *idx, unsigned n)
{
	static bool warned_msgsize;
	unsigned k, m = 0, sent = 0, copies, j;
	int rc;

	for (k = 0; k < n; k++) {
		unsigned i = idx[k];
		size_t plen = pkt_len(c, i);

		copies = chance(opt.dup) ? 2 : 1;
		if (copies == 2)
			st.duplicated++;
		for (j = 0; j < copies; j++) {
			if (chance(opt.loss)) {
				st.dropped++;
				continue;
			}
			siov[m][0].iov_base = c->hdr[i];
			siov[m][0].iov_len = ND_HDR_SIZE;
			/* Payloads are never copied: iovecs into the call. */
			siov[m][1].iov_base = plen == 0 ? NULL :
			    (void *)(uintptr_t)(c->data +
			    (size_t)i * payload_max);
			siov[m][1].iov_len = plen;
			memset(&smsg[m], 0, sizeof(smsg[m]));
			smsg[m].msg_hdr.msg_name = &dest;
			smsg[m].msg_hdr.msg_namelen = sizeof(dest);
			smsg[m].msg_hdr.msg_iov = siov[m];
			smsg[m].msg_hdr.msg_iovlen = plen > 0 ? 2 : 1;
			m++;
		}
	}
	st.datagrams += m;
	while (sent < m) {
		rc = sendmmsg(sock, smsg + sent, m - sent, 0);
		if (rc == -1) {
			if (errno == EINTR)
				continue;
			/*
			 * The kernel does not notice a failed transmit
			 * either: count the packet as lost on the wire and
			 * let the retransmission logic deal with it.
			 */
			if (errno == EMSGSIZE && !warned_msgsize) {
				warned_msgsize = true;
				warn("sendmmsg (is --mtu %u above the path "
				    "MTU?)", opt.mtu);
			} else
				vlog(1, "sendmmsg: %s", strerror(errno));
			sent++;
			continue;
		}
		sent += (unsigned)rc;
	}
}

/* debugnet_handle_ack, for one datagram received on the client port. */
static void
handle_datagram(struct call *c, const struct sockaddr_in *from,
    const uint8_t *buf, size_t len, bool truncated)
{
	uint32_t a;

	/* debugnet_handle_ip: only the server's address counts. */
	if (from->sin_family != AF_INET ||
	    from->sin_addr.s_addr != dest.sin_addr.s_addr ||
	    len != ND_ACK_SIZE || truncated) {
		st.ignored++;
		return;
	}
	/* A lost ack is never seen, so it teaches no port either. */
	if (chance(opt.ack_loss)) {
		st.acks_dropped++;
		return;
	}
	st.acks++;
	if (!port_learned) {
		port_learned = true;
		if (from->sin_port != dest.sin_port)
			vlog(1, "server port learned: %u",
			    ntohs(from->sin_port));
		dest.sin_port = from->sin_port;
	}
	a = nd_ack_decode(buf);
	if (a >= c->base + ND_MAX_IN_FLIGHT) {
		st.future_acks++;
		vlog(1, "ACK %u too far in future!", a);
	} else if (a >= c->base)
		c->rcvd |= ack_bit(a - c->base);
}

/* Drain every pending datagram without blocking. */
static void
drain_acks(struct call *c)
{
	static struct mmsghdr rmsg[RECV_BATCH];
	static struct iovec riov[RECV_BATCH];
	static struct sockaddr_in rfrom[RECV_BATCH];
	static uint8_t rbuf[RECV_BATCH][16];
	int n, k;

	for (;;) {
		for (k = 0; k < RECV_BATCH; k++) {
			riov[k].iov_base = rbuf[k];
			riov[k].iov_len = sizeof(rbuf[k]);
			memset(&rmsg[k], 0, sizeof(rmsg[k]));
			rmsg[k].msg_hdr.msg_name = &rfrom[k];
			rmsg[k].msg_hdr.msg_namelen = sizeof(rfrom[k]);
			rmsg[k].msg_hdr.msg_iov = &riov[k];
			rmsg[k].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(sock, rmsg, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				vlog(1, "recvmmsg: %s", strerror(errno));
			return;
		}
		for (k = 0; k < n; k++)
			handle_datagram(c, &rfrom[k], rbuf[k], rmsg[k].msg_len,
			    (rmsg[k].msg_hdr.msg_flags & MSG_TRUNC) != 0);
		if (n < RECV_BATCH)
			return;
	}
}

static void
out_write(const uint8_t *p, size_t len)
{
	ssize_t w;

	while (out_fd != -1 && len > 0) {
		if ((w = write(out_fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "%s", opt.output);
		}
		p += w;
		len -= (size_t)w;
	}
}

/*
 * A client dying mid-dump: send the packets of the first transmission up
 * to the one that reaches --stop-after, then exit without waiting for
 * acks and without FINISHED. Returns how many of idx[] to send; *stop says
 * whether to die right after them.
 */
static unsigned
stop_after_cut(struct call *c, const uint8_t *idx, unsigned n, bool *stop)
{
	unsigned k;
	size_t sent_here = 0;

	*stop = false;
	if (!opt.have_stop_after || c->type != ND_MSG_VMCORE)
		return n;
	for (k = 0; k < n; k++) {
		if (st.body_bytes + sent_here >= opt.stop_after) {
			*stop = true;
			return k;
		}
		sent_here += pkt_len(c, idx[k]);
	}
	if (st.body_bytes + sent_here >= opt.stop_after)
		*stop = true;
	return n;
}

/*
 * How much of a data call --output gets: all of it, or with --stop-after
 * the whole packets up to the one that reaches the limit.
 */
static size_t
out_len(size_t len)
{
	uint64_t left, cut;

	if (!opt.have_stop_after || st.body_bytes + len <= opt.stop_after)
		return len;
	left = opt.stop_after - st.body_bytes;
	cut = (left + payload_max - 1) / payload_max * payload_max;
	return cut < len ? (size_t)cut : len;
}

static void
stop_now(void)
{
	if (progress_on)
		fputs("\r\033[K", stderr);
	warnx("stopped after %" PRIu64 " vmcore bytes (--stop-after)",
	    st.body_bytes);
	print_summary();
	if (out_fd != -1)
		close(out_fd);
	exit(EXIT_STOPPED);
}

/*
 * debugnet_send: cut data into packets, send them all, and wait until
 * every one is acked, retransmitting the unacked ones after each timeout.
 * Returns 0, or -1 when the call timed out (ETIMEDOUT).
 */
static int
send_call(uint32_t type, const uint8_t *data, size_t len, uint64_t off0)
{
	struct call *c = &cur;
	uint8_t idx[ND_MAX_IN_FLIGHT];
	struct pollfd pfd;
	uint64_t deadline, now, tmo = (uint64_t)opt.timeout_ms * 1000000ULL;
	unsigned i, n, retries = 0, round = 0;
	bool stop;

	c->type = type;
	c->base = seqno;
	c->data = data;
	c->len = len;
	/* A zero-length body still produces one packet (FINISHED). */
	c->npk = len == 0 ? 1 : (unsigned)((len + payload_max - 1) /
	    payload_max);
	if (c->npk > ND_MAX_IN_FLIGHT)
		errx(1, "internal error: %u packets in one call", c->npk);
	c->want = 0;
	c->rcvd = 0;
	for (i = 0; i < c->npk; i++) {
		size_t plen = pkt_len(c, i);

		nd_msg_encode_header(c->hdr[i], type, c->base + i,
		    off0 + (uint64_t)i * payload_max, (uint32_t)plen);
		c->want |= ack_bit(i);
		idx[i] = (uint8_t)i;
	}
	vlog(2, "%s: seq %u..%u, offset %" PRIu64 ", %zu bytes",
	    nd_msg_type_str(type), c->base, c->base + c->npk - 1, off0, len);

	if (chance(opt.reorder)) {
		/* Fisher-Yates over the call's packets. */
		for (i = c->npk - 1; i > 0; i--) {
			unsigned j = (unsigned)(img_rng_next(&fault_rng) %
			    (i + 1));
			uint8_t t = idx[i];

			idx[i] = idx[j];
			idx[j] = t;
		}
	}
	n = stop_after_cut(c, idx, c->npk, &stop);
	transmit(c, idx, n);
	st.packets += n;
	if (type == ND_MSG_VMCORE)
		for (i = 0; i < n; i++)
			st.body_bytes += pkt_len(c, idx[i]);
	if (stop)
		stop_now();

	pfd.fd = sock;
	pfd.events = POLLIN;
	deadline = now_ns() + tmo;
	for (;;) {
		drain_acks(c);
		if (c->rcvd == c->want)
			break;
		now = now_ns();
		if (now < deadline) {
			uint64_t ms = (deadline - now + 999999) / 1000000;

			if (poll(&pfd, 1, (int)ms) == -1 && errno != EINTR)
				err(1, "poll");
			continue;
		}
		/* The kernel's "if (retries++ > nretries) ETIMEDOUT". */
		if (retries++ > opt.retries)
			return -1;
		round++;
		for (i = 0, n = 0; i < c->npk; i++)
			if ((c->rcvd & ack_bit(i)) == 0)
				idx[n++] = (uint8_t)i;
		vlog(1, "retransmit round %u: %s seq %u..%u, %u of %u "
		    "packets unacked", round, nd_msg_type_str(type), c->base,
		    c->base + c->npk - 1, n, c->npk);
		st.retransmits += n;
		transmit(c, idx, n);
		deadline = now_ns() + tmo;
	}
	seqno += c->npk;
	return 0;
}

static void
fail_call(const char *what)
{
	if (progress_on)
		fputs("\r\033[K", stderr);
	warnx("failed: %s: no ack for seq %u..%u after %u retransmission "
	    "rounds", what, cur.base, cur.base + cur.npk - 1, opt.retries + 1);
	print_summary();
	exit(1);
}

/*
 * The vmcore source: a file (or stdin) or the generator, and the plan of
 * the kernel's dumper writes over it.
 */
static struct source {
	int		 fd;
	uint64_t	 off;
	struct img_plan	 plan;
	uint64_t	 stream_size;	/* a compressed file's own statement */
} src = { .fd = -1 };

/* What a regular file says about itself: a minidump's layout, a size. */
static void
source_sniff(uint64_t size)
{
	uint8_t head[PAGE_SZ], tail[4];
	ssize_t n, t = 0;

	if ((n = pread(src.fd, head, sizeof(head), 0)) <= 0)
		return;
	if (size >= sizeof(tail))
		t = pread(src.fd, tail, sizeof(tail), (off_t)(size -
		    sizeof(tail)));
	if (opt.compression != 0)
		src.stream_size = img_stream_size(opt.compression, head,
		    (size_t)n, t == (ssize_t)sizeof(tail) ? tail : NULL);
	else
		img_plan_minidump(&src.plan, head, (size_t)n, size);
}

static void
source_open(void)
{
	struct stat sb;

	/* A compressed dump is the compressor's IMG_MAXIO-byte writes. */
	img_plan_flat(&src.plan);
	if (opt.have_gen) {
		progress_total = opt.gen_size;
		if (opt.compression == 0)
			img_plan_generated(&src.plan, opt.gen_size);
		return;
	}
	if (strcmp(opt.file, "-") == 0)
		src.fd = STDIN_FILENO;
	else if ((src.fd = open(opt.file, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "%s", opt.file);
	if (fstat(src.fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		progress_total = (uint64_t)sb.st_size;
		source_sniff((uint64_t)sb.st_size);
	}
}

/* Fill up to max bytes; fewer only at the end of the image. */
static size_t
source_read(uint8_t *buf, size_t max)
{
	size_t got = 0;
	ssize_t r;

	if (opt.have_gen) {
		uint64_t left = opt.gen_size - src.off;
		size_t k;

		got = left < max ? (size_t)left : max;
		/* src.off stays page aligned: calls are whole pages. */
		for (k = 0; k < got; k += PAGE_SZ)
			img_gen_page(buf + k, (src.off + k) / PAGE_SZ,
			    opt.seed, opt.zero_ratio);
		src.off += got;
		return got;
	}
	while (got < max) {
		r = read(src.fd, buf + got, max - got);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			err(1, "%s", opt.file);
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	src.off += got;
	return got;
}

static void
progress(bool force)
{
	uint64_t now = now_ns();
	double secs, mbps;
	char bar[33];
	int w;

	if (!progress_on || (!force && now - t_last_progress < 100000000ULL))
		return;
	t_last_progress = now;
	secs = (double)(now - t_start) / 1e9;
	mbps = secs > 0 ? (double)st.body_bytes / 1e6 / secs : 0.0;
	if (progress_total > 0) {
		double frac = (double)st.body_bytes / (double)progress_total;

		if (frac > 1.0)
			frac = 1.0;
		w = (int)(frac * 32);
		memset(bar, '#', (size_t)w);
		memset(bar + w, '.', (size_t)(32 - w));
		bar[32] = '\0';
		fprintf(stderr, "\r[%s] %5.1f%% %.1f MiB %.1f MB/s ", bar,
		    frac * 100.0, (double)st.body_bytes / 1048576.0, mbps);
	} else
		fprintf(stderr, "\r%.1f MiB %.1f MB/s ",
		    (double)st.body_bytes / 1048576.0, mbps);
}

static void
print_summary(void)
{
	double secs = (double)(now_ns() - t_start) / 1e9;

	if (opt.quiet)
		return;
	if (progress_on)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "netdump-send: %" PRIu64 " bytes in %.3f s, "
	    "%.1f MB/s, %" PRIu64 " packets, %" PRIu64 " retransmits",
	    st.body_bytes, secs,
	    secs > 0 ? (double)st.body_bytes / 1e6 / secs : 0.0,
	    st.packets, st.retransmits);
	if (opt.loss > 0 || opt.dup > 0 || opt.ack_loss > 0)
		fprintf(stderr, " (%" PRIu64 " dropped, %" PRIu64
		    " duplicated, %" PRIu64 " acks dropped)", st.dropped,
		    st.duplicated, st.acks_dropped);
	fputc('\n', stderr);
	if (opt.verbose > 0)
		fprintf(stderr, "netdump-send: %" PRIu64 " datagrams sent, %"
		    PRIu64 " acks, %" PRIu64 " datagrams ignored, %" PRIu64
		    " acks too far in future\n", st.datagrams, st.acks,
		    st.ignored, st.future_acks);
}

static size_t
make_kdh(uint8_t *kdh, uint64_t dumplength, uint64_t sent, uint32_t keysize)
{
	char host[256];
	const char *hostname = opt.hostname;
	uint64_t extent = dumplength;
	uint32_t v;

	if (hostname == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		hostname = host;
	}
	/*
	 * dump_init_header sets dumpextent to the uncompressed size and
	 * dump_finish only dumplength to the compressed one. What the
	 * stream does not state, the bytes sent stand in for.
	 */
	if (opt.have_extent)
		extent = opt.extent;
	else if (opt.compression != 0)
		extent = src.stream_size != 0 ? src.stream_size : sent;
	nd_kdh_build(kdh, "amd64", dumplength, (uint64_t)time(NULL), keysize,
	    hostname, opt.version, opt.panic, opt.compression, extent);
	switch (opt.bad_kdh) {
	case BAD_KDH_NONE:
		break;
	case BAD_KDH_PARITY:
		kdh[ND_KDH_SIZE - 1] ^= 0x5a;
		break;
	case BAD_KDH_MAGIC:
		kdh[0] ^= 0x20;		/* "fREEBSD"-ish: wrong, parity right */
		img_kdh_fix_parity(kdh);
		break;
	case BAD_KDH_VERSION:
		v = htobe32(99);
		memcpy(kdh + 32, &v, 4);
		img_kdh_fix_parity(kdh);
		break;
	case BAD_KDH_SHORT:
		return KDH_SHORT_LEN;
	}
	return ND_KDH_SIZE;
}

/*
 * --ekcd: the blob kerneldumpcrypto_create lays out, with a random IV
 * (the kernel's arc4rand, re-hashed per dump) and random bytes where the
 * RSA-encrypted key would be.
 */
static uint8_t *
make_ekcd_key(size_t *len)
{
	uint8_t iv[IMG_KDK_IV_SIZE], enckey[IMG_KDK_ENCKEY_MAX], *key;
	uint64_t s = opt.seed ^ 0x656b63645f6b6579ULL;
	size_t i;

	for (i = 0; i < sizeof(iv); i++)
		iv[i] = (uint8_t)img_rng_next(&s);
	for (i = 0; i < opt.ekcd_keysize; i++)
		enckey[i] = (uint8_t)img_rng_next(&s);
	*len = img_kdk_size(opt.ekcd_keysize, DUMP_BLOCK);
	if ((key = malloc(*len)) == NULL)
		err(1, "malloc");
	img_kdk_build(key, opt.ekcd, iv, enckey, opt.ekcd_keysize, DUMP_BLOCK);
	return key;
}

/* The EKCD key, from --ekcd, --key or --key-size; *len 0 when none. */
static uint8_t *
load_key(size_t *len)
{
	uint8_t *key;
	size_t max = payload_max * ND_MAX_IN_FLIGHT, got = 0, i;
	uint64_t s, r;
	ssize_t n;
	int fd;

	*len = 0;
	if (opt.ekcd != 0)
		return make_ekcd_key(len);
	if (opt.have_key_size) {
		if ((key = malloc(opt.key_size + 1)) == NULL)
			err(1, "malloc");
		s = opt.seed ^ 0x6b65795f65636b64ULL;
		for (i = 0; i < opt.key_size; i++) {
			r = img_rng_next(&s);
			key[i] = (uint8_t)r;
		}
		*len = opt.key_size;
		return key;
	}
	if (opt.key_file == NULL)
		return NULL;
	if ((fd = open(opt.key_file, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "%s", opt.key_file);
	/* One byte more than fits, to notice a key too large for a call. */
	if ((key = malloc(max + 1)) == NULL)
		err(1, "malloc");
	while (got <= max) {
		n = read(fd, key + got, max + 1 - got);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "%s", opt.key_file);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got > max)
		errx(EXIT_USAGE, "%s: key larger than one call (%zu bytes)",
		    opt.key_file, max);
	*len = got;
	return key;
}

static void
write_key_out(const uint8_t *key, size_t keylen)
{
	int fd;
	ssize_t w;

	if (opt.key_out == NULL)
		return;
	if ((fd = open(opt.key_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		err(1, "%s", opt.key_out);
	while (keylen > 0) {
		if ((w = write(fd, key, keylen)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "%s", opt.key_out);
		}
		key += w;
		keylen -= (size_t)w;
	}
	if (close(fd) == -1)
		err(1, "%s", opt.key_out);
}

static bool
have_key(void)
{
	return opt.key_file != NULL || opt.have_key_size || opt.ekcd != 0;
}

/* One data call: --output gets it first, as the wire does. */
static void
send_data(const uint8_t *buf, size_t len, uint64_t off)
{
	out_write(buf, out_len(len));
	if (send_call(ND_MSG_VMCORE, buf, len, off) == -1)
		fail_call("VMCORE");
	progress(false);
}

/* netdump_flush_buf: the buffered run goes out as one call. */
static void
dumper_flush(void)
{
	if (nd_buf_len == 0)
		return;
	send_data(nd_buf, nd_buf_len, nd_tx_off);
	nd_buf_len = 0;
}

/*
 * netdump_dumper, for one dump_write of the kernel's dump code. 13+
 * (and the 2019 code of --buffered-header-bug) copy it into nd_buf and
 * send when the next write would overflow it or not continue the run;
 * 12.x sends every write as its own call.
 */
static void
dumper_write(const uint8_t *p, size_t len, uint64_t off)
{
	if (opt.order == ORDER_LEGACY && !opt.buffered_bug) {
		send_data(p, len, off);
		return;
	}
	if (nd_buf_len + len > sizeof(nd_buf) ||
	    (nd_buf_len != 0 && nd_tx_off + nd_buf_len != off)) {
		dumper_flush();
		nd_tx_off = off;
	}
	memcpy(nd_buf + nd_buf_len, p, len);
	nd_buf_len += len;
}

/*
 * netdump_write_headers. 13+ flushes nd_buf first. The 2019 buffered
 * code (freebsd/freebsd-src@0269ae4c netdump_client.c) copies the KDH,
 * then the key, to the start of nd_buf without flushing it, so the data
 * call still buffered goes out after them, its first bytes replaced.
 */
static void
write_headers(const uint8_t *kdh, size_t kdhlen, const uint8_t *key,
    size_t keylen)
{
	const uint8_t *k = kdh, *kk = key;

	if (!opt.buffered_bug)
		dumper_flush();
	else {
		memcpy(nd_buf, kdh, kdhlen);
		k = nd_buf;
	}
	if (!opt.no_kdh && send_call(ND_MSG_KDH, k, kdhlen, 0) == -1)
		fail_call("KDH");
	if (opt.order != ORDER_LEGACY || !have_key())
		return;
	if (opt.buffered_bug) {
		memcpy(nd_buf, key, keylen);
		kk = nd_buf;
	}
	if (send_call(ND_MSG_EKCD_KEY, kk, keylen, 0) == -1)
		fail_call("EKCD_KEY");
}

/*
 * minidumpsys/dumpsys and dump_finish: the dumper writes of the plan,
 * each a multiple of the block size (dump_check_bounds refuses anything
 * else); a compressed dump's last block is zero-padded
 * (kerneldumpcomp_write_cb) and its dumplength is the stream's true
 * length. Returns dumplength; *sent gets the bytes sent.
 */
static uint64_t
send_body(uint64_t *sent)
{
	uint64_t off = 0, dumplength = 0;
	size_t len, want, pad;

	for (;;) {
		if (opt.have_stop_after && st.body_bytes >= opt.stop_after)
			stop_now();
		want = img_plan_next(&src.plan, off);
		if ((len = source_read(databuf, want)) == 0)
			break;
		dumplength += len;
		if (len % DUMP_BLOCK != 0 && !opt.unaligned) {
			pad = DUMP_BLOCK - len % DUMP_BLOCK;
			memset(databuf + len, 0, pad);
			len += pad;
			if (opt.compression == 0)
				dumplength += pad;
		}
		dumper_write(databuf, len, off);
		off += len;
	}
	*sent = off;
	return dumplength;
}

int
main(int argc, char **argv)
{
	uint8_t kdh[ND_KDH_SIZE], *key;
	size_t keylen, kdhlen = 0;
	uint64_t dumplength, sent;

	parse_options(argc, argv);
	parse_server(opt.server, &dest);
	fault_rng = opt.seed ^ 0x66617531745f7267ULL;
	key = load_key(&keylen);
	/* netdump_write_headers: EINVAL for a key larger than nd_buf. */
	if (opt.buffered_bug && keylen > sizeof(nd_buf))
		errx(EXIT_USAGE, "--buffered-header-bug: a %zu-byte key does "
		    "not fit the %zu-byte buffer", keylen, sizeof(nd_buf));
	if (have_key())
		write_key_out(key, keylen);
	source_open();
	if (opt.output != NULL && (out_fd = open(opt.output,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1)
		err(1, "%s", opt.output);
	open_socket();
	progress_on = !opt.quiet && isatty(STDERR_FILENO);
	t_start = now_ns();

	/* netdump_start: the HERALD, path with its NUL or nothing. */
	if (send_call(ND_MSG_HERALD, (const uint8_t *)opt.path,
	    opt.path != NULL && opt.path[0] != '\0' ? strlen(opt.path) + 1 : 0,
	    0) == -1) {
		if (progress_on)
			fputs("\r\033[K", stderr);
		warnx("failed: HERALD: no ack after %u retransmission rounds "
		    "(failed to contact netdump server %s)", opt.retries + 1,
		    opt.server);
		print_summary();
		exit(1);
	}
	/* Sent straight after the herald so a partial dump is usable. */
	if (opt.order == ORDER_MODERN && have_key() &&
	    send_call(ND_MSG_EKCD_KEY, key, keylen, 0) == -1)
		fail_call("EKCD_KEY");

	dumplength = send_body(&sent);

	/* dump_finish: the headers, then dump_write(NULL) flushes. */
	if (!opt.no_kdh)
		kdhlen = make_kdh(kdh, dumplength, sent, (uint32_t)keylen);
	write_headers(kdh, kdhlen, key, keylen);
	free(key);
	dumper_flush();
	progress(true);
	if (out_fd != -1 && close(out_fd) == -1)
		err(1, "%s", opt.output);
	out_fd = -1;

	if (!opt.no_finished &&
	    send_call(ND_MSG_FINISHED, NULL, 0, 0) == -1) {
		if (progress_on)
			fputs("\r\033[K", stderr);
		warnx("failed: failed to close the transaction (FINISHED not "
		    "acked)");
		print_summary();
		exit(1);
	}
	print_summary();
	close(sock);
	return 0;
}
