/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netdump-linux: a crashed RHEL 4 kernel's netdump client, in user space,
 * for testing a server's Linux front-end. It behaves as
 * drivers/net/netdump.c of the RHEL 4 kernel does (no code of it is
 * copied): it announces the crash with REPLY_START_NETDUMP once a second
 * until the first request it gets is COMM_START_NETDUMP_ACK, takes the
 * version the server offers (at most 5), then serves requests one at a
 * time in the order they came and never sends anything unasked. A page of
 * memory goes out as page_size / 1024 replies of 1024 bytes; a page that
 * is not RAM gets REPLY_RESERVED with the next page that is, and one past
 * the end REPLY_ERROR. COMM_REBOOT ends it (exit 0), COMM_EXIT after
 * REPLY_END_NETDUMP (exit 2). The kernel's quirks are kept: the reply to
 * COMM_SHOW_STATE carries whatever text the last reply left behind.
 *
 * The memory is generated from a seed (client/image.c), so a test can
 * write the same image (--image-out) and compare. Faults: lost requests
 * and replies, duplicated replies, a client that dies, a wrong cookie.
 * With --console it sends console text instead, as netlog (RHEL 4's
 * netconsole module) or mainline netconsole, plain or extended.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "linux_wire.h"

#define NETDUMP_VERSION	4	/* the version byte before the handshake */
#define EM_386		3
#define EM_X86_64	62
#define MAX_HOLES	64
#define TEXT_MAX	1024

enum { EXIT_REBOOT = 0, EXIT_FAIL = 1, EXIT_EXIT = 2, EXIT_OLD_SERVER = 3,
    EXIT_DIED = 4, EXIT_USAGE = 64 };

struct hole {
	uint64_t	start, end;	/* page frames, [start, end) */
};

static struct options {
	struct sockaddr_in server, local;
	uint64_t	 pages;		/* platform_max_pfn() */
	uint32_t	 page_size;
	struct hole	 holes[MAX_HOLES];
	size_t		 nholes;
	struct hole	 refused;	/* answered REPLY_ERROR: broken */
	uint64_t	 seed;
	double		 zero_ratio;
	uint64_t	 magic;
	bool		 i386;
	double		 loss, dup;
	uint64_t	 die_after;	/* pages served; 0: never */
	unsigned	 start_ms;	/* between START announcements */
	unsigned	 timeout;	/* seconds without a request */
	const char	*image_out, *regs_out;
	const char	*console;	/* a file of text, "-": stdin */
	const char	*console_format;
	const char	*release;
	unsigned	 chunk;
} opt = {
	.pages = 4096, .page_size = 4096, .seed = 1, .zero_ratio = 0.5,
	.magic = 0x1111111111111111ull, .start_ms = 1000, .timeout = 30,
	.console_format = "netlog", .chunk = 1000,
};

static int	 sock = -1;
static uint64_t	 rng;
static uint8_t	 version = NETDUMP_VERSION;	/* effective_version */
static char	 tmp[TEXT_MAX];			/* command_tmp, kept */

static void __attribute__((format(printf, 1, 2), noreturn))
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "netdump-linux: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(EXIT_FAIL);
}

static bool
chance(double p)
{
	return p > 0 && img_rng_unit(&rng) < p;
}

/* send_netdump_msg: the header at the effective version, then msg. */
static void
reply(uint32_t nr, uint32_t code, uint32_t info, const void *msg, size_t len)
{
	uint8_t buf[LX_REPLY_HEADER + LX_REPLY_MAX_PAYLOAD];
	int copies = chance(opt.dup) ? 2 : 1;

	lx_reply_header(buf, version, nr, code, info);
	if (len > 0)		/* REPLY_RESERVED carries nothing */
		memcpy(buf + LX_REPLY_HEADER, msg, len);
	while (copies-- > 0) {
		if (chance(opt.loss))
			continue;
		if (sendto(sock, buf, LX_REPLY_HEADER + len, 0,
		    (struct sockaddr *)&opt.server, sizeof(opt.server)) == -1 &&
		    errno != ECONNREFUSED)
			fail("sendto: %s", strerror(errno));
	}
}

static void
reply_text(uint32_t nr, uint32_t code, uint32_t info)
{
	reply(nr, code, info, tmp, strlen(tmp));
}

/* The end of the hole pfn is in (holes may overlap), or pfn if none. */
static uint64_t
hole_end(uint64_t pfn)
{
	size_t i;

	for (i = 0; i < opt.nholes; i++)
		if (pfn >= opt.holes[i].start && pfn < opt.holes[i].end)
			return opt.holes[i].end;
	return pfn;
}

static bool
is_ram(uint64_t pfn)
{
	return pfn < opt.pages && hole_end(pfn) == pfn;
}

/*
 * platform_next_available: the next page frame that is RAM, 0 if none;
 * hole by hole, so that a client claiming a terabyte is quick to answer.
 */
static uint64_t
next_ram(uint64_t pfn)
{
	uint64_t end;

	while (pfn < opt.pages && (end = hole_end(pfn)) != pfn)
		pfn = end;
	return pfn < opt.pages ? pfn : 0;
}

static uint64_t
ram_pages(void)
{
	uint64_t pfn, n = 0, end;

	for (pfn = 0; pfn < opt.pages; pfn++)
		if ((end = hole_end(pfn)) != pfn)
			pfn = end - 1;
		else
			n++;
	return n;
}

/* One page of memory: RAM is generated from the seed, the rest zeros. */
static void
page_at(uint64_t pfn, uint8_t *page)
{
	uint64_t sub, per = opt.page_size / IMG_PAGE;

	for (sub = 0; sub < per; sub++)
		img_gen_page(page + sub * IMG_PAGE, pfn * per + sub, opt.seed,
		    opt.zero_ratio);
}

/* send_netdump_mem. */
static void
send_mem(uint32_t nr, uint32_t pfn)
{
	uint8_t page[65536];
	uint32_t off;

	if (pfn >= opt.pages) {
		snprintf(tmp, sizeof(tmp), "page %08" PRIx32 " is bigger than "
		    "max page # %08" PRIx64 "!\n", pfn, opt.pages);
		reply_text(nr, LX_REPLY_ERROR, 0);
		return;
	}
	if (pfn >= opt.refused.start && pfn < opt.refused.end) {
		snprintf(tmp, sizeof(tmp), "page %08" PRIx32 " refused\n", pfn);
		reply_text(nr, LX_REPLY_ERROR, 0);
		return;
	}
	if (!is_ram(pfn)) {
		reply(nr, LX_REPLY_RESERVED, (uint32_t)next_ram(pfn), NULL, 0);
		return;
	}
	page_at(pfn, page);
	for (off = 0; off < opt.page_size; off += LX_MEM_CHUNK)
		reply(nr, LX_REPLY_MEM, off, page + off, LX_MEM_CHUNK);
}

/*
 * platform_get_regs: "Sending register info.\n", then the general
 * registers, elf_gregset_t (17 words of 4 bytes on i386, 27 of 8 on
 * x86_64), here a pattern a test can recognise. The kernel writes them
 * into its text buffer, so what COMM_SHOW_STATE then sends is this, up
 * to the first zero byte.
 */
static size_t
regs(char *out)
{
	static const char head[] = "Sending register info.\n";
	size_t n = opt.i386 ? 17 * 4 : 27 * 8, i;

	memcpy(out, head, sizeof(head) - 1);
	for (i = 0; i < n; i++)
		out[sizeof(head) - 1 + i] = (char)(uint8_t)(0xa0 + i);
	out[sizeof(head) - 1 + n] = '\0';
	return sizeof(head) - 1 + n;
}

/* A request, or -1 after ms milliseconds (lost ones never arrive). */
static int
next_request(struct lx_request *q, int ms)
{
	uint8_t buf[2048];
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, ms) <= 0)
			return -1;
		n = recv(sock, buf, sizeof(buf), 0);
		/* netdump_rx: shorter than a request is dropped. */
		if (n < 0 || lx_request_decode(buf, (size_t)n, q) == -1 ||
		    chance(opt.loss))
			continue;
		return 0;
	}
}

/*
 * netdump_startup_handshake: announce, wait a second for the first
 * request; anything but the ACK is thrown away and the announcement
 * repeated, forever (RHEL 4 never gives up; --timeout does).
 */
static void
handshake(void)
{
	struct lx_request q;
	time_t until = time(NULL) + opt.timeout;

	for (;;) {
		snprintf(tmp, sizeof(tmp), "task_struct:0x%" PRIx64
		    " page_offset:0x%" PRIx64 " netdump_magic:0x%" PRIx64 "\n",
		    opt.i386 ? (uint64_t)0xc1a2b000 : (uint64_t)0xffff81003f5a87f0ull,
		    opt.i386 ? (uint64_t)0xc0000000 : (uint64_t)0xffff810000000000ull,
		    opt.magic);
		reply(opt.i386 ? EM_386 : EM_X86_64, LX_REPLY_START_NETDUMP,
		    LX_VERSION, tmp, strlen(tmp));
		if (next_request(&q, (int)opt.start_ms) == 0 &&
		    q.command == LX_COMM_START_NETDUMP_ACK)
			break;
		if (time(NULL) >= until)
			fail("no COMM_START_NETDUMP_ACK in %u s", opt.timeout);
	}
	/* platform_effective_version: 0 is a server from before versions. */
	if (q.from == 0) {
		if (!opt.i386) {
			fprintf(stderr, "netdump-linux: server cannot handle "
			    "this client -- rebooting\n");
			exit(EXIT_OLD_SERVER);
		}
		version = NETDUMP_VERSION;
	} else
		version = (uint8_t)(q.from < LX_VERSION ? q.from : LX_VERSION);
}

/* netpoll_netdump's loop: one request at a time, as it came. */
static int
serve(void)
{
	struct lx_request q;
	uint64_t served = 0;

	for (;;) {
		if (next_request(&q, (int)opt.timeout * 1000) == -1)
			fail("no request in %u s", opt.timeout);
		switch (q.command) {
		case LX_COMM_NONE:
			break;
		case LX_COMM_SEND_MEM:
			send_mem(q.nr, q.from);
			if (opt.die_after > 0 && ++served >= opt.die_after)
				return EXIT_DIED;
			break;
		case LX_COMM_EXIT:
			snprintf(tmp, sizeof(tmp), "NETDUMP end.\n");
			reply_text(0, LX_REPLY_END_NETDUMP, 0);
			return EXIT_EXIT;
		case LX_COMM_REBOOT:
			return EXIT_REBOOT;
		case LX_COMM_HELLO:
			snprintf(tmp, sizeof(tmp), "Hello, this is netdump "
			    "version 0.%02d\n", NETDUMP_VERSION);
			reply_text(q.nr, LX_REPLY_HELLO, NETDUMP_VERSION);
			break;
		case LX_COMM_GET_PAGE_SIZE:
			snprintf(tmp, sizeof(tmp), "PAGE_SIZE: %" PRIu32 "\n",
			    opt.page_size);
			reply_text(q.nr, LX_REPLY_PAGE_SIZE, opt.page_size);
			break;
		case LX_COMM_GET_REGS:
			reply(q.nr, LX_REPLY_REGS, (uint32_t)ram_pages(), tmp,
			    regs(tmp));
			break;
		case LX_COMM_GET_NR_PAGES:
			snprintf(tmp, sizeof(tmp), "Number of pages: %" PRIu64
			    "\n", opt.pages);
			reply_text(q.nr, LX_REPLY_NR_PAGES, (uint32_t)opt.pages);
			break;
		case LX_COMM_SHOW_STATE:
			/* The kernel sends strlen(tmp) of what tmp holds. */
			reply_text(q.nr, LX_REPLY_SHOW_STATE, 0);
			break;
		default:
			snprintf(tmp, sizeof(tmp), "Got unknown command code "
			    "%" PRIu32 "!\n", q.command);
			reply_text(q.nr, LX_REPLY_ERROR, q.command);
			break;
		}
	}
}

static void
send_raw(const void *buf, size_t len)
{
	int copies = chance(opt.dup) ? 2 : 1;

	while (copies-- > 0)
		if (!chance(opt.loss) && sendto(sock, buf, len, 0,
		    (struct sockaddr *)&opt.server, sizeof(opt.server)) == -1 &&
		    errno != ECONNREFUSED)
			fail("sendto: %s", strerror(errno));
}

/*
 * One console message as extended netconsole sends it: "[release,]
 * level,seq,usec,-;" then the text, cut into ncfrag fragments when the
 * whole does not fit in a chunk.
 */
static void
send_ext(const char *text, size_t len, uint64_t seq)
{
	char dgram[2048];
	size_t hl, off = 0, n;

	do {
		hl = (size_t)snprintf(dgram, sizeof(dgram), "%s%s6,%" PRIu64
		    ",%" PRIu64 ",-", opt.release ? opt.release : "",
		    opt.release ? "," : "", seq, 1000000 + seq * 1000);
		if (len > opt.chunk)
			hl += (size_t)snprintf(dgram + hl, sizeof(dgram) - hl,
			    ",ncfrag=%zu/%zu", off, len);
		dgram[hl++] = ';';
		n = len - off < opt.chunk ? len - off : opt.chunk;
		memcpy(dgram + hl, text + off, n);
		send_raw(dgram, hl + n);
		off += n;
	} while (off < len);
}

/* The text of path as console output, in the format asked for. */
static int
console(const char *path)
{
	static char text[1 << 20];
	char dgram[LX_REPLY_HEADER + 2048], *line, *end;
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t len, off, n;
	uint64_t seq = 0;

	if (fp == NULL)
		fail("%s: %s", path, strerror(errno));
	len = fread(text, 1, sizeof(text), fp);
	if (fp != stdin)
		fclose(fp);
	if (strcmp(opt.console_format, "netlog") == 0) {
		/* netconsole.ko's netlog: REPLY_LOG, info the running offset. */
		for (off = 0; off < len; off += n) {
			n = len - off < opt.chunk ? len - off : opt.chunk;
			lx_reply_header((uint8_t *)dgram, NETDUMP_VERSION, 0,
			    LX_REPLY_LOG, (uint32_t)off);
			memcpy(dgram + LX_REPLY_HEADER, text + off, n);
			send_raw(dgram, LX_REPLY_HEADER + n);
		}
		return 0;
	}
	/* Mainline: a datagram per message (a line here). */
	for (line = text; line < text + len; line = end) {
		end = memchr(line, '\n', (size_t)(text + len - line));
		end = end != NULL ? end + 1 : text + len;
		if (strcmp(opt.console_format, "ext") == 0)
			send_ext(line, (size_t)(end - line - (end[-1] == '\n')),
			    seq++);
		else
			for (off = 0; off < (size_t)(end - line); off += n) {
				n = (size_t)(end - line) - off;
				n = n < opt.chunk ? n : opt.chunk;
				send_raw(line + off, n);
			}
	}
	return 0;
}

/* The memory as the server should store it: page frame N at N * size. */
static void
write_image(const char *path)
{
	uint8_t page[65536];
	uint64_t pfn;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd == -1)
		fail("%s: %s", path, strerror(errno));
	for (pfn = 0; pfn < opt.pages; pfn++) {
		if (!is_ram(pfn))
			continue;
		page_at(pfn, page);
		if (pwrite(fd, page, opt.page_size, (off_t)(pfn *
		    opt.page_size)) != (ssize_t)opt.page_size)
			fail("%s: %s", path, strerror(errno));
	}
	if (ftruncate(fd, (off_t)(opt.pages * opt.page_size)) == -1 ||
	    close(fd) == -1)
		fail("%s: %s", path, strerror(errno));
}

static void
write_regs(const char *path)
{
	static const char head[] = "Sending register info.\n";
	char buf[TEXT_MAX];
	size_t n = regs(buf);
	FILE *fp = fopen(path, "w");

	/* The registers alone, as a PRSTATUS note holds them. */
	if (fp == NULL || fwrite(buf + sizeof(head) - 1, 1, n - sizeof(head) +
	    1, fp) != n - sizeof(head) + 1 || fclose(fp) != 0)
		fail("%s: %s", path, strerror(errno));
}

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
"usage: netdump-linux [options] HOST[:PORT]\n"
"A crashed RHEL 4 kernel's netdump client (default port 6666).\n"
"  -b, --bind ADDR[:PORT]   local address and port (default any:6666)\n"
"  -n, --pages N            page frames (max pfn), default 4096\n"
"      --page-size N        4096 (x86) or 16384 (ia64)\n"
"      --holes A-B[,C-D]    page frames [A, B) that are not RAM\n"
"      --refuse A-B         answer REPLY_ERROR for frames [A, B), as a\n"
"                           broken client (a kernel does past its last)\n"
"  -s, --seed N             memory contents (client/image.c)\n"
"  -z, --zero RATIO         share of zero pages, default 0.5\n"
"      --i386               i386 (EM_386, 17 registers) not x86_64\n"
"      --magic HEX          the cookie in the announcement\n"
"      --loss P, --dup P    lose / duplicate datagrams (both ways)\n"
"      --die-after N        stop dead after serving N pages (exit 4)\n"
"      --start-interval MS  between announcements, default 1000\n"
"      --timeout S          give up after S s without a request\n"
"      --image-out FILE     write the memory (page N at N * size)\n"
"      --regs-out FILE      write the registers sent\n"
"      --console FILE       send FILE as console text and exit\n"
"      --format F           netlog (default), plain or ext\n"
"      --release R          ext: the kernel release in front\n"
"      --chunk N            bytes of text per datagram, default 1000\n"
"exit: 0 rebooted, 1 failed, 2 COMM_EXIT, 3 server too old, 4 died\n");
	exit(status);
}

static uint64_t
number(const char *name, const char *s, int base)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || end == s || *end != '\0')
		fail("%s: invalid number '%s'", name, s);
	return v;
}

static void
address(struct sockaddr_in *sin, const char *arg, uint16_t port)
{
	char host[64];
	const char *colon = strchr(arg, ':');

	snprintf(host, sizeof(host), "%.*s", colon != NULL ?
	    (int)(colon - arg) : (int)strlen(arg), arg);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(colon != NULL ? (uint16_t)number("port",
	    colon + 1, 10) : port);
	if (host[0] == '\0')
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		fail("%s: not an IPv4 address", host);
}

static void
refuse(const char *arg)
{
	char *copy = strdup(arg), *dash;

	if (copy == NULL || (dash = strchr(copy, '-')) == NULL)
		fail("--refuse: '%s'", arg);
	*dash = '\0';
	opt.refused.start = number("--refuse", copy, 0);
	opt.refused.end = number("--refuse", dash + 1, 0);
	free(copy);
}

static void
holes(const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL, *dash;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (opt.nholes == MAX_HOLES || (dash = strchr(tok, '-')) ==
		    NULL)
			fail("--holes: '%s'", tok);
		*dash = '\0';
		opt.holes[opt.nholes].start = number("--holes", tok, 0);
		opt.holes[opt.nholes++].end = number("--holes", dash + 1, 0);
	}
	free(copy);
}

static void
parse(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "pages", required_argument, NULL, 'n' },
		{ "page-size", required_argument, NULL, 'P' },
		{ "holes", required_argument, NULL, 'H' },
		{ "refuse", required_argument, NULL, 'E' },
		{ "seed", required_argument, NULL, 's' },
		{ "zero", required_argument, NULL, 'z' },
		{ "i386", no_argument, NULL, '3' },
		{ "magic", required_argument, NULL, 'm' },
		{ "loss", required_argument, NULL, 'l' },
		{ "dup", required_argument, NULL, 'd' },
		{ "die-after", required_argument, NULL, 'D' },
		{ "start-interval", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "image-out", required_argument, NULL, 'o' },
		{ "regs-out", required_argument, NULL, 'r' },
		{ "console", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "release", required_argument, NULL, 'R' },
		{ "chunk", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	address(&opt.local, ":6666", 6666);
	while ((c = getopt_long(argc, argv, "b:n:s:z:h", longs, NULL)) != -1)
		switch (c) {
		case 'b': address(&opt.local, optarg, 6666); break;
		case 'n': opt.pages = number("--pages", optarg, 0); break;
		case 'P':
			opt.page_size = (uint32_t)number("--page-size", optarg,
			    0);
			break;
		case 'H': holes(optarg); break;
		case 'E': refuse(optarg); break;
		case 's': opt.seed = number("--seed", optarg, 0); break;
		case 'z': opt.zero_ratio = strtod(optarg, NULL); break;
		case '3': opt.i386 = true; break;
		case 'm': opt.magic = number("--magic", optarg, 16); break;
		case 'l': opt.loss = strtod(optarg, NULL); break;
		case 'd': opt.dup = strtod(optarg, NULL); break;
		case 'D': opt.die_after = number("--die-after", optarg, 0); break;
		case 'i':
			opt.start_ms = (unsigned)number("--start-interval",
			    optarg, 0);
			break;
		case 't':
			opt.timeout = (unsigned)number("--timeout", optarg, 0);
			break;
		case 'o': opt.image_out = optarg; break;
		case 'r': opt.regs_out = optarg; break;
		case 'c': opt.console = optarg; break;
		case 'f': opt.console_format = optarg; break;
		case 'R': opt.release = optarg; break;
		case 'C': opt.chunk = (unsigned)number("--chunk", optarg, 0);
			break;
		case 'h': usage(0);
		default: usage(EXIT_USAGE);
		}
	if (optind + 1 != argc || opt.page_size < LX_MEM_CHUNK ||
	    opt.page_size % IMG_PAGE != 0 || opt.page_size > 65536 ||
	    opt.pages > UINT32_MAX || opt.chunk == 0 || opt.chunk > 1400 ||
	    (strcmp(opt.console_format, "netlog") != 0 &&
	    strcmp(opt.console_format, "plain") != 0 &&
	    strcmp(opt.console_format, "ext") != 0))
		usage(EXIT_USAGE);
	address(&opt.server, argv[optind], 6666);
}

int
main(int argc, char **argv)
{
	int one = 1;

	parse(argc, argv);
	rng = opt.seed ^ 0x9e3779b97f4a7c15ull;
	if (opt.image_out != NULL)
		write_image(opt.image_out);
	if (opt.regs_out != NULL)
		write_regs(opt.regs_out);
	if ((sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		fail("socket: %s", strerror(errno));
	(void)setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(sock, (struct sockaddr *)&opt.local, sizeof(opt.local)) == -1)
		fail("bind: %s", strerror(errno));
	if (opt.console != NULL)
		return console(opt.console);
	handshake();
	return serve();
}
