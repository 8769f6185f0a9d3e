/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux netdump front-end: Red Hat's protocol (drivers/net/netdump.c
 * of the RHEL 4 kernel, and Wireshark's netdump dissector), where the
 * server drives and the crashed client only answers.
 *
 * A session goes GATED (the announcement waits for admission: limits,
 * route, netdump-nospace, netdump-crash, all as for a HERALD), HANDSHAKE
 * (COMM_START_NETDUMP_ACK offering version 5, then COMM_HELLO), INFO
 * (page size, page count, registers), MEMORY, SHOW_STATE (the task list,
 * which comes as console text), REBOOT (three times: it is never
 * answered), DONE. A client the server cannot store (the dump would pass
 * max_dump_size, no sink) skips MEMORY, as Red Hat's did when its disk
 * was short, and is rebooted.
 *
 * MEMORY pulls page frames 0 .. max_pfn - 1 in order with up to
 * LX_WINDOW requests out, request nr = the frame number XOR a number
 * drawn for the session (pfn_key: a forger who cannot see the requests
 * cannot answer them), from = the frame number. Each 1024-byte
 * chunk goes into the assembler at its place in the ELF core, so the core
 * is the flat layout of elfcore.h: the ELF header first (provisional: one
 * PT_LOAD over every frame, as the RAM map is not known yet), then frame
 * N at header_size + N * page_size. REPLY_RESERVED names the next RAM
 * frame: the frames between are skipped, holes. At the end the header is
 * built again with a PT_LOAD per RAM range and patched in for the chains
 * that can write behind the stream; an ordered chain (zstd) keeps the
 * provisional one, which crash reads as well (non-RAM reads as zeros).
 *
 * A request is sent again when its reply is late (RTO from the measured
 * round trip, LX_RTO_MIN to LX_RTO_MAX) or when two requests sent after
 * it were answered in full (the client serves one at a time, in order,
 * so it was lost). Requests stay within the assembler's window, so pages
 * go to the sinks as blocks, never as late bytes. Everything a client
 * sends is checked: a reply for a frame not asked for, past the count, of
 * the wrong size, counts and is dropped; a client claiming more memory
 * than max_dump_size is not pulled.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "admission.h"
#include "conf.h"
#include "console.h"
#include "dump.h"
#include "linux_dump.h"
#include "linux_dump_int.h"
#include "log.h"
#include "receiver_int.h"
#include "record.h"
#include "status.h"
#include "util.h"

static void	session_done(struct lx_session *);


struct nd_lx *
nd_lx_new(int fd, struct nd_console *console)
{
	struct nd_lx *lx = calloc(1, sizeof(*lx));

	if (lx != NULL) {
		lx->fd = fd;
		lx->console = console;
	}
	return lx;
}

static void
session_free(struct lx_session *s)
{
	free(s->header);
	free(s->holes);
	free(s);
}

size_t
nd_lx_flights(const struct nd_lx *lx, struct nd_status_flight *out,
    size_t max)
{
	const struct lx_session *s;
	struct timespec now;
	size_t n = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (s = lx->sessions; s != NULL && (out == NULL || n < max);
	    s = s->next) {
		if (s->dump == NULL)
			continue;
		if (out != NULL) {
			out[n] = (struct nd_status_flight){ .id = s->id,
			    .path = s->dump->path,
			    .bytes = s->dump->cov.total,
			    .age = ts_diff(&now, &s->dump->start_mono) };
			snprintf(out[n].client, sizeof(out[n].client),
			    "%s:%u (linux)", s->addr, ntohs(s->from.sin_port));
		}
		n++;
	}
	return n;
}

void
nd_lx_stop(struct nd_lx *lx)
{
	struct lx_session *s;

	for (s = lx->sessions; s != NULL; s = s->next) {
		session_done(s);	/* first: no SHOW_STATE */
		if (s->dump != NULL)
			lx_memory_end(lx, s, "the server was shut down");
	}
}

void
nd_lx_free(struct nd_lx *lx)
{
	struct lx_session *s;

	if (lx == NULL)
		return;
	nd_lx_stop(lx);
	while ((s = lx->sessions) != NULL) {
		lx->sessions = s->next;
		session_free(s);
	}
	free(lx);
}

bool
nd_lx_knows(const struct nd_lx *lx, uint32_t addr)
{
	const struct lx_session *s;

	for (s = lx->sessions; s != NULL; s = s->next)
		if (s->from.sin_addr.s_addr == addr)
			return true;
	return false;
}

bool
nd_lx_running(const struct nd_lx *lx)
{
	const struct lx_session *s;

	for (s = lx->sessions; s != NULL; s = s->next)
		if (s->state != LX_GATED && s->state != LX_DONE)
			return true;
	return false;
}

static struct lx_session *
session_find(struct nd_lx *lx, const struct sockaddr_in *from)
{
	struct lx_session *s;

	for (s = lx->sessions; s != NULL; s = s->next)
		if (s->from.sin_addr.s_addr == from->sin_addr.s_addr &&
		    s->from.sin_port == from->sin_port)
			return s;
	return NULL;
}

static void
session_unlink(struct nd_lx *lx, struct lx_session *s)
{
	struct lx_session **pp;

	for (pp = &lx->sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			return;
		}
}

/* One request; the magic field carries the client's cookie. */
void
lx_send_request(struct nd_lx *lx, struct lx_session *s, uint32_t nr,
    uint32_t command, uint32_t from)
{
	struct lx_request q = { .magic = s->start.magic, .nr = nr,
	    .command = command, .from = from };
	uint8_t buf[LX_REQUEST_SIZE];

	lx_request_encode(&q, buf);
	/* A full socket buffer loses it like the network would: resent. */
	(void)sendto(lx->fd, buf, sizeof(buf), 0,
	    (const struct sockaddr *)&s->from, sizeof(s->from));
}

static void
control(struct nd_lx *lx, struct lx_session *s, uint32_t command)
{
	s->ctl_cmd = command;
	/*
	 * The client echoes it: drawn, not counted, so that one who cannot
	 * see our requests (a forger's address) cannot answer them, HELLO
	 * above all, which takes a dump slot (starting). Never 0, which
	 * an unasked reply carries.
	 */
	do
		s->ctl_nr = arc4random();
	while (s->ctl_nr == 0);
	s->ctl_sent = mono_ms();
	s->ctl_tries = 1;
	lx_send_request(lx, s, s->ctl_nr, command, 0);
}

/* The handshake: the ACK (our version) and HELLO, which confirms it. */
static void
handshake(struct nd_lx *lx, struct lx_session *s)
{
	lx_send_request(lx, s, 0, LX_COMM_START_NETDUMP_ACK, LX_VERSION);
	if (s->ctl_cmd != LX_COMM_HELLO)
		control(lx, s, LX_COMM_HELLO);
	else
		lx_send_request(lx, s, s->ctl_nr, LX_COMM_HELLO, 0);
}

void
lx_show_state(struct nd_lx *lx, struct lx_session *s)
{
	s->state = LX_SHOW_STATE;
	s->show_since = mono_ms();
	control(lx, s, LX_COMM_SHOW_STATE);
}

static void
reboot_client(struct nd_lx *lx, struct lx_session *s)
{
	s->state = LX_REBOOT;
	control(lx, s, LX_COMM_REBOOT);
}

static void
session_done(struct lx_session *s)
{
	s->state = LX_DONE;
	s->done_at = now_sec();
}

/*
 * Red Hat's secure mode: <dumpdir>/magic/<client-ip> holds the cookie
 * the client's init script put there over ssh ("$MAGIC2$MAGIC1", 16 hex
 * digits), and its announcement must carry the same.
 */
static bool
cookie_ok(const struct nd_receiver *rx, const char *addr,
    const struct lx_start *st)
{
	char name[INET_ADDRSTRLEN + 8], buf[64], *end;
	unsigned long long want;
	ssize_t n;

	if (!rx->conf->server.secure)
		return true;
	if (!st->has_magic)
		return false;
	snprintf(name, sizeof(name), "magic/%s", addr);
	/*
	 * Clients write here over ssh: nd_read_file takes a regular file
	 * only and never waits on a FIFO put in its place, which would hang
	 * the receive thread.
	 */
	n = nd_read_file(rx->dumpdir_fd, name, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	errno = 0;
	want = strtoull(buf, &end, 16);
	if (errno != 0 || end == buf || (*end != '\0' && *end != '\n'))
		return false;
	return want == st->magic;
}

/*
 * Another port of an address with a session in progress: a kernel sends
 * from one port, so this is stray or forged, and must neither open a
 * second session nor disturb the first.
 */
static bool
busy_address(const struct nd_lx *lx, const struct sockaddr_in *from)
{
	const struct lx_session *s;

	for (s = lx->sessions; s != NULL; s = s->next)
		if (s->from.sin_addr.s_addr == from->sin_addr.s_addr &&
		    s->state != LX_GATED && s->state != LX_DONE)
			return true;
	return false;
}

/*
 * Sessions that will want a dump and have none yet: those whose client
 * answered HELLO. One in HANDSHAKE has shown nothing yet but an
 * announcement, which anyone can forge from any address; counted, a
 * few of them held every dump slot while their HELLOs went unanswered
 * (over a minute each). Like a FreeBSD session before its first data,
 * it takes no slot; one whose client answers and finds none free when
 * its memory is to come waits there (lx_memory_begin).
 */
static unsigned
starting(const struct nd_lx *lx)
{
	const struct lx_session *s;
	unsigned n = 0;

	for (s = lx->sessions; s != NULL; s = s->next)
		n += s->state == LX_INFO && !s->just_reboot;
	return n;
}

/* When it entered its state: waiting (GATED, HANDSHAKE) or ended (DONE). */
static time_t
state_since(const struct lx_session *s)
{
	return s->state == LX_DONE ? s->done_at : s->gated_at;
}

/*
 * Room for one more session in state (GATED, HANDSHAKE or DONE): with
 * max of them already, the oldest goes (a HANDSHAKE one's client would
 * have answered HELLO by then). Sessions are made by what anyone can
 * send (an announcement from each of many addresses), so they are
 * bounded.
 */
static void
make_room(struct nd_lx *lx, enum lx_state state, unsigned max)
{
	struct lx_session *s, *oldest = NULL;
	unsigned n = 0;

	for (s = lx->sessions; s != NULL; s = s->next)
		if (s->state == state && !s->just_reboot) {
			n++;
			if (oldest == NULL || state_since(s) <= state_since(oldest))
				oldest = s;
		}
	if (n >= max && oldest != NULL) {
		if (state == LX_HANDSHAKE) {
			lx->unproven++;
			memcpy(lx->last_unproven, oldest->addr,
			    sizeof(oldest->addr));
		}
		session_unlink(lx, oldest);
		session_free(oldest);
	}
}

/*
 * REPLY_START_NETDUMP. From a client in a session: our ACK was lost
 * (HANDSHAKE: send it again), or the client started over, which counts
 * only once it has been silent for restart_silence (its address is
 * public). Otherwise a new session waits for admission.
 */
static void
announce(struct nd_lx *lx, struct nd_receiver *rx,
    const struct sockaddr_in *from, const struct lx_reply *r)
{
	const struct nd_server_conf *sv = &rx->conf->server;
	struct lx_session *s = session_find(lx, from);
	char addr[INET_ADDRSTRLEN];
	struct lx_start st;

	/* A kernel always names its crashing task: no task, no crash. */
	if (lx_start_parse(r->payload, r->len, &st) == -1 || st.task == 0) {
		lx->malformed++;
		return;
	}
	if (r->nr != EM_386 && r->nr != EM_X86_64) {
		lx->machine_bad++;
		inet_ntop(AF_INET, &from->sin_addr, lx->last_machine,
		    sizeof(lx->last_machine));
		return;
	}
	if (s == NULL && busy_address(lx, from)) {
		lx->other_port++;
		inet_ntop(AF_INET, &from->sin_addr, lx->last_other,
		    sizeof(lx->last_other));
		return;
	}
	/*
	 * The client's address and port are public: an announcement with
	 * the wrong cookie changes nothing, it neither makes, refreshes nor
	 * ends a session.
	 */
	inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
	if (!cookie_ok(rx, addr, &st)) {
		lx->cookie_bad++;
		memcpy(lx->last_cookie, addr, sizeof(addr));
		return;
	}
	if (s != NULL && s->state == LX_HANDSHAKE) {
		handshake(lx, s);
		return;
	}
	if (s != NULL && s->state != LX_GATED && s->state != LX_DONE) {
		if (mono_ms() - s->last_rx < (uint64_t)sv->restart_silence *
		    1000)
			return;
		log_warnx("linux dump %" PRIu64 " from %s: a new crash "
		    "announcement after its silence: the client started over",
		    s->id, s->addr);
		if (s->dump != NULL)
			lx_memory_end(lx, s, "the client started over");
	}
	if (s != NULL && s->state != LX_GATED) {
		session_unlink(lx, s);
		session_free(s);
		s = NULL;
	}
	if (s == NULL) {
		make_room(lx, LX_GATED, LX_MAX_GATED);
		make_room(lx, LX_DONE, LX_MAX_DONE);
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return;
		s->from = *from;
		memcpy(s->addr, addr, sizeof(s->addr));
		s->pfn_key = arc4random();
		s->state = LX_GATED;
		s->next = lx->sessions;
		lx->sessions = s;
	}
	s->gated_at = now_sec();
	s->machine = r->nr;
	s->start = st;
	s->last_rx = mono_ms();
	adm_linux_start(rx, from, sv->default_path, starting(lx));
}

void
nd_lx_admit(struct nd_lx *lx, struct nd_receiver *rx,
    const struct sockaddr_in *from, const char *path)
{
	struct lx_session *s = session_find(lx, from);

	if (rx->stopping || s == NULL || s->state != LX_GATED)
		return;
	/*
	 * Admission may take a while (a hook, a place to run it): another
	 * port of the address that announced meanwhile was admitted first.
	 */
	if (busy_address(lx, from)) {
		lx->other_port++;
		inet_ntop(AF_INET, &from->sin_addr, lx->last_other,
		    sizeof(lx->last_other));
		session_unlink(lx, s);
		session_free(s);
		return;
	}
	make_room(lx, LX_HANDSHAKE, LX_MAX_HANDSHAKE);
	s->id = rx->next_id++;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->state = LX_HANDSHAKE;
	s->last_rx = mono_ms();
	/* Said when its client answers HELLO: anyone can announce. */
	handshake(lx, s);
}

void
nd_lx_refused(struct nd_lx *lx, struct nd_receiver *rx,
    const struct sockaddr_in *from)
{
	struct lx_session *s = session_find(lx, from), *o;
	unsigned rebooting = 0;

	if (rx->stopping || s == NULL || s->state != LX_GATED)
		return;
	/*
	 * Each refused client costs a handshake of up to LX_CTL_TRIES
	 * requests and a log line, and refusals need no cookie and no
	 * hook: only so many at once, the rest are counted and dropped.
	 */
	for (o = lx->sessions; o != NULL; o = o->next)
		rebooting += o->just_reboot && o->state != LX_DONE;
	if (rebooting >= LX_MAX_REFUSED) {
		lx->refused_over++;
		memcpy(lx->last_refused, s->addr, sizeof(s->addr));
		session_unlink(lx, s);
		session_free(s);
		return;
	}
	s->id = rx->next_id++;
	s->just_reboot = true;
	s->state = LX_HANDSHAKE;
	s->last_rx = mono_ms();
	log_warnx("linux dump %" PRIu64 " from %s: refused; asking for its "
	    "task list and rebooting it without its memory", s->id, s->addr);
	handshake(lx, s);
}

/* REPLY_REGS: "Sending register info.\n", then elf_gregset_t. */
static void
take_regs(struct lx_session *s, const struct lx_reply *r)
{
	size_t want = s->machine == EM_386 ? 68 : 216, n;
	const uint8_t *nl = memchr(r->payload, '\n', r->len);
	const uint8_t *p = nl != NULL ? nl + 1 : r->payload;

	n = r->len - (size_t)(p - r->payload);
	memset(s->regs, 0, sizeof(s->regs));
	if (n != want)
		log_warnx("linux dump %" PRIu64 " from %s: %zu bytes of "
		    "registers, %zu expected; the note holds what came",
		    s->id, s->addr, n, want);
	memcpy(s->regs, p, n < want ? n : want);
	s->regs_len = want;
	s->ram_pages = r->info;
	s->have_regs = true;
}

/* A reply to the control request out, in HANDSHAKE, INFO, SHOW_STATE. */
static void
control_reply(struct nd_lx *lx, struct nd_receiver *rx,
    struct lx_session *s, const struct lx_reply *r)
{
	static const uint32_t answers[][2] = {
		{ LX_COMM_HELLO, LX_REPLY_HELLO },
		{ LX_COMM_GET_PAGE_SIZE, LX_REPLY_PAGE_SIZE },
		{ LX_COMM_GET_NR_PAGES, LX_REPLY_NR_PAGES },
		{ LX_COMM_GET_REGS, LX_REPLY_REGS },
		{ LX_COMM_SHOW_STATE, LX_REPLY_SHOW_STATE },
	};
	size_t i;

	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
		if (answers[i][0] == s->ctl_cmd)
			break;
	/* Another request's reply, or a stale copy: nothing to do. */
	if (i == sizeof(answers) / sizeof(answers[0]) ||
	    answers[i][1] != r->code || r->nr != s->ctl_nr)
		return;
	s->ctl_cmd = LX_COMM_NONE;
	s->last_rx = mono_ms();
	switch (r->code) {
	case LX_REPLY_HELLO:
		if (s->just_reboot) {
			lx_show_state(lx, s);
			break;
		}
		s->state = LX_INFO;
		log_info("linux dump %" PRIu64 " from %s:%u: crash announced "
		    "(%s, task 0x%" PRIx64 "), HELLO answered; starting the "
		    "session", s->id, s->addr, ntohs(s->from.sin_port),
		    s->machine == EM_386 ? "i386" : "x86_64", s->start.task);
		control(lx, s, LX_COMM_GET_PAGE_SIZE);
		break;
	case LX_REPLY_PAGE_SIZE:
		s->page_size = r->info;
		control(lx, s, LX_COMM_GET_NR_PAGES);
		break;
	case LX_REPLY_NR_PAGES:
		s->max_pfn = r->info;
		control(lx, s, LX_COMM_GET_REGS);
		break;
	case LX_REPLY_REGS:
		take_regs(s, r);
		lx_memory_begin(lx, rx, s);
		break;
	case LX_REPLY_SHOW_STATE:
		reboot_client(lx, s);
		break;
	}
}

void
nd_lx_reply(struct nd_lx *lx, struct nd_receiver *rx,
    const struct sockaddr_in *from, const struct lx_reply *r)
{
	struct lx_session *s;

	if (r->code == LX_REPLY_START_NETDUMP) {
		announce(lx, rx, from, r);
		return;
	}
	if ((s = session_find(lx, from)) == NULL || s->state == LX_GATED) {
		lx->unasked++;
		return;
	}
	/*
	 * Late answers to a session that is over: what DONE lingers for.
	 * Only an answer to what was asked counts as hearing from the
	 * client (last_rx): any datagram from its address would otherwise
	 * keep a dump that sends nothing alive for its claimed size.
	 */
	if (s->state == LX_DONE)
		return;
	if (s->state != LX_MEMORY) {
		control_reply(lx, rx, s, r);
		return;
	}
	switch (r->code) {
	case LX_REPLY_MEM:
		lx_mem_reply(lx, s, r);
		break;
	case LX_REPLY_RESERVED:
	case LX_REPLY_ERROR:
		lx_skip_reply(lx, s, r);
		break;
	default:
		lx->unasked++;
		break;
	}
}

/*
 * Console text from a client whose task list is awaited: it is coming, so
 * SHOW_STATE waits on (as Red Hat's server did since 0.7.16), but text
 * after LX_SHOW_MAX_MS no longer delays it (then its usual tries run out),
 * since anyone can send text with the client's address.
 */
void
nd_lx_console_seen(struct nd_lx *lx, uint32_t addr)
{
	struct lx_session *s;
	uint64_t now = mono_ms();

	for (s = lx->sessions; s != NULL; s = s->next)
		if (s->state == LX_SHOW_STATE &&
		    s->from.sin_addr.s_addr == addr &&
		    now - s->show_since < LX_SHOW_MAX_MS)
			s->ctl_sent = now;
}

/* A control request whose answer is late: again, or give up. */
static void
control_late(struct nd_lx *lx, struct lx_session *s, uint64_t now)
{
	unsigned tries = s->state == LX_REBOOT ? LX_REBOOTS :
	    s->state == LX_SHOW_STATE ? LX_SHOW_TRIES : LX_CTL_TRIES;
	/*
	 * Twice as long each time, up to 8 times: a client busy with a
	 * slow answer gets fewer copies of the question to answer again.
	 */
	uint64_t wait = (s->state == LX_SHOW_STATE ? 2 * LX_CTL_RTO :
	    LX_CTL_RTO) << (s->ctl_tries < 4 ? s->ctl_tries - 1 : 3);

	if (now - s->ctl_sent < wait)
		return;
	if (s->ctl_tries >= tries) {
		if (s->state == LX_SHOW_STATE) {
			log_info("linux dump %" PRIu64 " from %s: no answer "
			    "to SHOW_STATE; rebooting it", s->id, s->addr);
			reboot_client(lx, s);
		} else if (s->state == LX_REBOOT) {
			log_info("linux dump %" PRIu64 " from %s: sent "
			    "COMM_REBOOT %u times; the session is over",
			    s->id, s->addr, LX_REBOOTS);
			session_done(s);
		} else if (s->state == LX_HANDSHAKE) {
			/*
			 * Never proven: an announcement anyone can forge.
			 * Counted, as those evicted before their HELLO are.
			 */
			lx->no_hello++;
			memcpy(lx->last_no_hello, s->addr, sizeof(s->addr));
			session_done(s);
		} else {
			log_warnx("linux dump %" PRIu64 " from %s: no answer "
			    "to %s after %u tries; giving up", s->id, s->addr,
			    lx_command_str(s->ctl_cmd), s->ctl_tries);
			session_done(s);
		}
		return;
	}
	s->ctl_sent = now;
	s->ctl_tries++;
	if (s->state == LX_HANDSHAKE)
		lx_send_request(lx, s, 0, LX_COMM_START_NETDUMP_ACK, LX_VERSION);
	lx_send_request(lx, s, s->ctl_nr, s->ctl_cmd, 0);
}

void
nd_lx_timer(struct nd_lx *lx, struct nd_receiver *rx, uint64_t now)
{
	struct lx_session *s;
	uint64_t silence = (uint64_t)rx->conf->server.timeout * 1000;

	for (s = lx->sessions; s != NULL; s = s->next) {
		if (s->state == LX_GATED || s->state == LX_DONE)
			continue;
		/*
		 * While the dump's buffers are all taken the server asks for
		 * nothing (linux_pull.c), so the client has nothing to say:
		 * its silence (timeout, restart_silence) counts from when the
		 * requests go out again, as a paused FreeBSD session's does.
		 */
		if (s->state == LX_MEMORY && s->dump != NULL &&
		    nd_dump_pool_empty(s->dump))
			s->last_rx = now;
		if (s->state == LX_MEMORY && now - s->last_rx >= silence) {
			log_warnx("linux dump %" PRIu64 " from %s: the client "
			    "fell silent for %" PRId64 " s (timeout)", s->id,
			    s->addr, rx->conf->server.timeout);
			session_done(s);	/* first: no SHOW_STATE */
			lx_memory_end(lx, s, "the client fell silent (timeout)");
		} else if (s->state == LX_MEMORY)
			lx_pages_late(lx, s, now);
		else if (s->wait_slot && now - s->ctl_sent >= LX_CTL_RTO)
			lx_memory_begin(lx, rx, s);
		else if (s->ctl_cmd != LX_COMM_NONE)
			control_late(lx, s, now);
	}
}

static void
log_count(uint64_t *n, uint64_t *logged, const char *what, const char *who)
{
	if (*n == *logged)
		return;
	log_warnx("linux port: %" PRIu64 " %s%s%s%s", *n - *logged, what,
	    who != NULL ? " (the last from " : "", who != NULL ? who : "",
	    who != NULL ? ")" : "");
	*logged = *n;
}

void
nd_lx_tick(struct nd_lx *lx, struct nd_receiver *rx, time_t mono)
{
	struct lx_session *s, *next;
	for (s = lx->sessions; s != NULL; s = next) {
		next = s->next;
		if ((s->state == LX_DONE && mono - s->done_at >= LX_LINGER) ||
		    (s->state == LX_GATED && mono - s->gated_at >=
		    (time_t)rx->conf->server.timeout)) {
			session_unlink(lx, s);
			session_free(s);
		}
	}
	if (mono - lx->logged_at < LX_LOG_EVERY)
		return;
	lx->logged_at = mono;
	log_count(&lx->cookie_bad, &lx->cookie_logged, "crash announcements "
	    "refused: secure is on and the cookie is not the one in "
	    "<dumpdir>/magic/<client-ip>", lx->last_cookie);
	log_count(&lx->machine_bad, &lx->machine_logged, "crash announcements "
	    "ignored: only i386 and x86_64 clients are served",
	    lx->last_machine);
	log_count(&lx->other_port, &lx->other_port_logged, "crash "
	    "announcements ignored: another port of the address has a "
	    "session", lx->last_other);
	log_count(&lx->unproven, &lx->unproven_logged, "sessions dropped "
	    "before their client answered HELLO: more than "
	    NUMBER_TEXT(LX_MAX_HANDSHAKE) " admitted were "
	    "waiting for an answer (forged announcements?)",
	    lx->last_unproven);
	log_count(&lx->no_hello, &lx->no_hello_logged, "sessions given up: "
	    "their client never answered HELLO (" NUMBER_TEXT(LX_CTL_TRIES)
	    " tries; forged announcements?)", lx->last_no_hello);
	log_count(&lx->refused_over, &lx->refused_over_logged, "crash "
	    "announcements refused and not answered: as many refused clients "
	    "as are rebooted at once are being rebooted", lx->last_refused);
	log_count(&lx->unasked, &lx->unasked_logged, "netdump replies "
	    "ignored: nothing of the kind was asked of that client", NULL);
	log_count(&lx->malformed, &lx->malformed_logged, "malformed netdump "
	    "replies ignored", NULL);
}
