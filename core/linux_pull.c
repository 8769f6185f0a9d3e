/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MEMORY state of a Linux netdump session (see linux_dump.c): page
 * frames pulled in order with a window of requests, each 1024-byte chunk
 * put where it belongs in the ELF core, holes for what is not RAM, the
 * header's RAM map at the end.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "admission.h"
#include "conf.h"
#include "console.h"
#include "dump.h"
#include "linux_dump_int.h"
#include "log.h"
#include "receiver_int.h"

static struct lx_slot *slot_of(struct lx_session *, uint32_t);

static uint64_t
rto(const struct lx_session *s)
{
	uint64_t t = s->srtt == 0 ? LX_CTL_RTO : (s->srtt >> 3) + s->rttvar;

	return t < LX_RTO_MIN ? LX_RTO_MIN : t > LX_RTO_MAX ? LX_RTO_MAX : t;
}

/* RFC 6298's estimator, in ms; only from pages asked for once (Karn). */
static void
rtt_sample(struct lx_session *s, uint64_t rtt)
{
	uint64_t err;

	if (s->srtt == 0) {
		s->srtt = rtt << 3;
		s->rttvar = rtt << 1;
		return;
	}
	err = rtt > (s->srtt >> 3) ? rtt - (s->srtt >> 3) : (s->srtt >> 3) -
	    rtt;
	s->rttvar = s->rttvar - (s->rttvar >> 2) + err;
	s->srtt = s->srtt - (s->srtt >> 3) + rtt;
}

static uint64_t
page_off(const struct lx_session *s, uint64_t pfn)
{
	return s->header_size + pfn * s->page_size;
}

static void
slot_send(struct nd_lx *lx, struct lx_session *s, struct lx_slot *sl)
{
	sl->sent = mono_ms();
	sl->seq = s->seq++;
	sl->later = 0;
	sl->tries++;
	if (sl->tries > 1 && s->dump != NULL)
		s->dump->lx.retransmits++;
	lx_send_request(lx, s, sl->pfn ^ s->pfn_key, LX_COMM_SEND_MEM,
	    sl->pfn);
}

/* Why no more pages are to be asked for, or NULL. */
static const char *
pull_stopped(const struct lx_session *s)
{
	if (atomic_load(&s->dump->abandoned))
		return "the dump directory fell below min_free; the dump was "
		    "given up";
	if (atomic_load(&s->dump->chains_failed))
		return "no sink can store the vmcore any more; no more pages "
		    "asked for";
	return NULL;
}

/*
 * Ask for the next frames, as far as the window and the assembler go; or,
 * once the dump can no longer be stored, end it and reboot the client (as
 * Red Hat's server did on a full disk).
 */
static void
fill_window(struct nd_lx *lx, struct lx_session *s)
{
	const char *stop;
	unsigned i;

	if ((stop = pull_stopped(s)) != NULL) {
		lx_memory_end(lx, s, stop);
		return;
	}
	/*
	 * Pages go into the assembler's window, so requests stay within
	 * it, but for frames the client said are not RAM (a skip cut short
	 * by hole_budget): their answers take no room.
	 */
	while (s->nout < s->window && s->next_pfn < s->max_pfn) {
		if (s->nout > 0 && s->next_pfn >= s->claimed_end &&
		    page_off(s, s->next_pfn + 1) > s->as.frontier +
		    ND_WINDOW_BLOCKS * BLK)
			break;
		if (nd_dump_pool_empty(s->dump))
			break;
		for (i = 0; s->win[i].used; i++)
			;
		s->win[i] = (struct lx_slot){ .used = true,
		    .pfn = (uint32_t)s->next_pfn++ };
		s->nout++;
		slot_send(lx, s, &s->win[i]);
	}
	if (s->nout == 0 && s->next_pfn >= s->max_pfn)
		lx_memory_end(lx, s, NULL);
}

/*
 * The request a page reply answers, or NULL: a copy for a page already
 * whole (a request sent again crossed its first reply: counted as a
 * duplicate) or for one never asked for (counted as such).
 */
static struct lx_slot *
slot_answered(struct nd_lx *lx, struct lx_session *s, uint32_t nr)
{
	uint32_t pfn = nr ^ s->pfn_key;
	struct lx_slot *sl = slot_of(s, pfn);

	if (sl != NULL)
		return sl;
	if (pfn < s->next_pfn) {
		s->dump->packets++;
		s->dump->dup_packets++;
	} else
		lx->unasked++;
	return NULL;
}

static struct lx_slot *
slot_of(struct lx_session *s, uint32_t pfn)
{
	unsigned i;

	for (i = 0; i < LX_WINDOW; i++)
		if (s->win[i].used && s->win[i].pfn == pfn)
			return &s->win[i];
	return NULL;
}

static void
slot_free(struct lx_session *s, struct lx_slot *sl)
{
	sl->used = false;
	s->nout--;
}

/*
 * Frames [first, end), none of them counted before, are not RAM: a hole
 * in the file and in the header's RAM map, which is kept sorted and
 * merged (a request sent again may be answered after later ones).
 */
static void
hole_insert(struct lx_session *s, uint64_t first, uint64_t end)
{
	struct nd_elf_range *h;
	size_t i = s->nholes, cap;
	void *grown;

	s->dump->lx.hole_pages += end - first;
	while (i > 0 && s->holes[i - 1].first > first)
		i--;
	if (i > 0 && s->holes[i - 1].first + s->holes[i - 1].count == first) {
		h = &s->holes[i - 1];
		h->count += end - first;
		if (i < s->nholes && h->first + h->count == s->holes[i].first) {
			h->count += s->holes[i].count;
			memmove(&s->holes[i], &s->holes[i + 1],
			    (s->nholes - i - 1) * sizeof(*h));
			s->nholes--;
		}
		return;
	}
	if (i < s->nholes && end == s->holes[i].first) {
		s->holes[i].first = first;
		s->holes[i].count += end - first;
		return;
	}
	/* Past the cap the frames are kept as RAM that reads as zeros. */
	if (s->nholes == s->holes_cap) {
		cap = s->holes_cap > 0 ? s->holes_cap * 2 : 8;
		if (cap > LX_MAX_HOLES ||
		    (grown = realloc(s->holes, cap * sizeof(*h))) == NULL)
			return;
		s->holes = grown;
		s->holes_cap = cap;
	}
	memmove(&s->holes[i + 1], &s->holes[i], (s->nholes - i) *
	    sizeof(*s->holes));
	s->holes[i] = (struct nd_elf_range){ first, end - first };
	s->nholes++;
}

/*
 * A short stretch that is not RAM is written as zeros, so the coverage
 * stays one range where RAM and small holes alternate (a kernel with
 * DEBUG_PAGEALLOC has a hole per free page): the sinks still make holes
 * of zeros. Longer stretches stay gaps, one range each.
 */
static void
hole_fill(struct lx_session *s, uint64_t first, uint64_t end)
{
	static const uint8_t zeros[LX_PAGE_MAX];
	uint64_t pfn;

	/* Never past the window: that would push out pages still asked for. */
	if (end - first > LX_ZERO_FILL || page_off(s, end) >
	    s->as.frontier + ND_WINDOW_BLOCKS * BLK)
		return;
	for (pfn = first; pfn < end; pfn++)
		if (nd_asm_data(&s->as, page_off(s, pfn), zeros,
		    s->page_size) != ND_ASM_OK)
			return;
}

static void
hole_add(struct lx_session *s, uint64_t first, uint64_t end)
{
	hole_insert(s, first, end);
	hole_fill(s, first, end);
}

/* A page is whole: the window moves, and late pages before it are lost. */
static void
page_done(struct nd_lx *lx, struct lx_session *s, struct lx_slot *done)
{
	uint64_t seq = done->seq;
	unsigned i;

	if (done->tries == 1)
		rtt_sample(s, mono_ms() - done->sent);
	s->dump->lx.pages++;
	slot_free(s, done);
	for (i = 0; i < LX_WINDOW; i++) {
		struct lx_slot *sl = &s->win[i];

		if (sl->used && sl->seq < seq && ++sl->later >= LX_FAST_AFTER)
			slot_send(lx, s, sl);
	}
	fill_window(lx, s);
}

void
lx_mem_reply(struct nd_lx *lx, struct lx_session *s, const struct lx_reply *r)
{
	struct lx_slot *sl = slot_answered(lx, s, r->nr);
	enum nd_asm_result ar;
	uint64_t bit;

	if (sl == NULL)
		return;
	if (r->info % LX_MEM_CHUNK != 0 || r->info >= s->page_size ||
	    r->len != LX_MEM_CHUNK) {
		lx->malformed++;
		return;
	}
	bit = 1ull << (r->info / LX_MEM_CHUNK);
	s->last_rx = mono_ms();
	s->dump->packets++;
	if (sl->mask & bit) {
		s->dump->dup_packets++;
		return;
	}
	ar = nd_asm_data(&s->as, page_off(s, sl->pfn) + r->info, r->payload,
	    r->len);
	if (ar == ND_ASM_BUSY)
		return;		/* asked again when it is late */
	if (ar == ND_ASM_OVERFLOW) {
		lx_memory_end(lx, s, "the vmcore's ranges overflowed");
		return;
	}
	sl->mask |= bit;
	if (sl->mask == (s->chunks == 64 ? UINT64_MAX :
	    (1ull << s->chunks) - 1))
		page_done(lx, s, sl);
}

/*
 * Where a skip over [first, end) that the client claims is not RAM ends,
 * so that the holes' cost (a stream chain compresses or uploads them as
 * zeros) stays bounded by what came. Whole while the frames not RAM stay
 * within LX_HOLE_SLACK plus the RAM pages received (the PCI hole below
 * 4 GiB of a real map comes after at least as much RAM as it is wide:
 * 2 GiB of it in QEMU's q35 map, 3 GiB or more elsewhere); else as far
 * as that goes, and at least
 * the frame asked for, so that every further frame not RAM costs the
 * client a reply. A real map with a wider gap is still stored whole,
 * only slower.
 */
static uint64_t
hole_budget(struct lx_session *s, uint64_t first, uint64_t end)
{
	const struct nd_dump *d = s->dump;
	uint64_t budget = LX_HOLE_SLACK / s->page_size + d->lx.pages, left;

	left = budget > d->lx.hole_pages ? budget - d->lx.hole_pages : 0;
	if (end - first <= left || end - first == 1)
		return end;
	if (end > s->claimed_end)
		s->claimed_end = end;
	left = left > 1 ? left : 1;
	if (!s->hole_budget_said) {
		s->hole_budget_said = true;
		log_warnx("linux dump %" PRIu64 " from %s: the client says "
		    "frames %" PRIu64 " to %" PRIu64 " are not RAM, more than "
		    "%" PRIu64 " MiB beyond the RAM it sent; from frame %"
		    PRIu64 " on they are asked for one at a time", s->id,
		    s->addr, first, end - 1, LX_HOLE_SLACK >> 20,
		    first + left);
	}
	return first + left;
}

/*
 * REPLY_RESERVED: the frame asked for is not RAM, and info the next that
 * is (0: none). REPLY_ERROR for a frame: a kernel says so only past its
 * last frame (drivers/net/netdump.c), so one below it is a page that
 * will not come, missing, not a hole of zeros: a client answering every
 * request so would make a "complete" dump of zeros, page_size bytes for
 * each 13 received.
 */
void
lx_skip_reply(struct nd_lx *lx, struct lx_session *s, const struct lx_reply *r)
{
	struct lx_slot *sl = slot_answered(lx, s, r->nr);
	uint64_t first, end, tail;
	unsigned i;

	if (sl == NULL)
		return;
	s->last_rx = mono_ms();
	if (r->code == LX_REPLY_ERROR) {
		s->dump->packets++;
		if (++s->given_up <= LX_GIVEN_UP_LOGGED)
			log_warnx("linux dump %" PRIu64 " from %s: page frame "
			    "%" PRIu32 " below the last refused by the client; "
			    "missing%s", s->id, s->addr, sl->pfn, s->given_up ==
			    LX_GIVEN_UP_LOGGED ? " (more are counted as "
			    "missing, not said)" : "");
		slot_free(s, sl);
		fill_window(lx, s);
		return;
	}
	first = sl->pfn;
	end = r->code == LX_REPLY_ERROR ? first + 1 : r->info;
	if (end == 0 || end > s->max_pfn)
		end = s->max_pfn;
	if (end <= first)
		end = first + 1;
	end = hole_budget(s, first, end);
	s->dump->packets++;
	/*
	 * New are only the frames still asked for and those not asked for
	 * yet: the rest came as pages or were skipped by an earlier reply.
	 */
	tail = first > s->next_pfn ? first : s->next_pfn;
	for (i = 0; i < LX_WINDOW; i++)
		if (s->win[i].used && s->win[i].pfn >= first &&
		    s->win[i].pfn < end) {
			hole_add(s, s->win[i].pfn, (uint64_t)s->win[i].pfn + 1);
			slot_free(s, &s->win[i]);
		}
	if (tail < end) {
		hole_add(s, tail, end);
		s->next_pfn = end;
	}
	fill_window(lx, s);
}

/* The RAM map: every frame below max_pfn that is not a hole. */
static size_t
ram_ranges(const struct lx_session *s, struct nd_elf_range *ram)
{
	uint64_t at = 0;
	size_t i, n = 0;

	for (i = 0; i < s->nholes; i++) {
		if (s->holes[i].first > at)
			ram[n++] = (struct nd_elf_range){ at,
			    s->holes[i].first - at };
		at = s->holes[i].first + s->holes[i].count;
	}
	if (at < s->max_pfn)
		ram[n++] = (struct nd_elf_range){ at, s->max_pfn - at };
	return n;
}

/*
 * The header with the RAM map, for the chains that can write behind the
 * stream, when it differs from the provisional one.
 */
static void
patch_header(struct lx_session *s)
{
	struct nd_elf_range *ram;
	struct nd_work w;
	uint8_t *hdr;
	size_t n;

	if (s->nholes == 0)
		return;
	ram = calloc(s->nholes + 1, sizeof(*ram));
	hdr = malloc((size_t)s->header_size);
	if (ram == NULL || hdr == NULL)
		goto fail;
	n = ram_ranges(s, ram);
	if (nd_elf_header_build(&s->desc, ram, n, hdr,
	    (size_t)s->header_size) == -1) {
		log_warnx("linux dump %" PRIu64 " from %s: the RAM map does "
		    "not make a header (%s); it lists all frames as one "
		    "segment", s->id, s->addr, strerror(errno));
		goto fail;
	}
	if (memcmp(hdr, s->header, (size_t)s->header_size) == 0)
		goto fail;
	w = (struct nd_work){ .kind = ND_WORK_LATE, .off = 0,
	    .len = s->header_size, .buf = hdr, .patch = true };
	if (!nd_dump_late_ok(s->dump) || nd_dump_post(s->dump, &w) == -1) {
		log_warnx("linux dump %" PRIu64 " from %s: no room to write "
		    "the RAM map; the header lists all frames as one segment",
		    s->id, s->addr);
		goto fail;
	}
	free(ram);
	return;
fail:
	free(ram);
	free(hdr);
}

/*
 * What the client's console showed of its crash: at the start of the dump
 * and again at its end, so that a console client evicted meanwhile (its
 * memory comes for minutes, with no text) still leaves what it said.
 */
static void
take_oops(struct nd_lx *lx, struct lx_session *s)
{
	struct nd_dump *d = s->dump;
	const char *oops;

	/* What it said first stays: text from its address can be forged. */
	if (d->lx.oops[0] == '\0' && (oops = nd_console_first_oops(
	    lx->console, s->from.sin_addr.s_addr)) != NULL)
		snprintf(d->lx.oops, sizeof(d->lx.oops), "%s", oops);
	if ((oops = nd_console_oops(lx->console, s->from.sin_addr.s_addr)) !=
	    NULL)
		snprintf(d->lx.panic, sizeof(d->lx.panic), "%s", oops);
}

/*
 * The receive side is done with the dump: complete when every frame came
 * or was not RAM (why NULL), else incomplete. Then SHOW_STATE.
 */
void
lx_memory_end(struct nd_lx *lx, struct lx_session *s, const char *why)
{
	struct nd_dump *d = s->dump;
	uint64_t target = page_off(s, s->max_pfn), missing;
	char buf[160];

	if (d == NULL)
		return;
	/* Each frame is counted once, as a page or a hole; never more. */
	missing = d->lx.pages + d->lx.hole_pages >= s->max_pfn ? 0 :
	    s->max_pfn - d->lx.pages - d->lx.hole_pages;
	if (why == NULL && missing > 0) {
		snprintf(buf, sizeof(buf), "%" PRIu64 " page%s never came",
		    missing, missing == 1 ? "" : "s");
		why = buf;
	} else if (why == NULL && d->lx.pages == 0)
		/* Only claims came: no kernel has no RAM. */
		why = "no page of RAM came: the client said no frame is RAM";
	d->lx.missing_pages = missing;
	d->final_size = nd_asm_finish(&s->as, UINT64_MAX);
	if (why == NULL) {
		/* The core reaches the last frame, RAM or not. */
		if (d->final_size < target) {
			struct nd_work w = { .kind = ND_WORK_HOLE,
			    .off = d->final_size, .len = target -
			    d->final_size };

			if (nd_dump_post(d, &w) == 0)
				d->final_size = target;
		}
		patch_header(s);
		d->finished = true;
	} else
		snprintf(d->end_reason, sizeof(d->end_reason), "%s", why);
	take_oops(lx, s);
	log_info("linux dump %" PRIu64 " from %s: %" PRIu64 " pages, %" PRIu64
	    " not RAM, %" PRIu64 " missing, %" PRIu64 " requests sent again",
	    s->id, s->addr, d->lx.pages, d->lx.hole_pages, missing,
	    d->lx.retransmits);
	nd_dump_finish(d);
	s->dump = NULL;
	if (s->state == LX_MEMORY)
		lx_show_state(lx, s);
}

/* Why this client's memory cannot be taken, or NULL. */
static const char *
memory_refusal(struct nd_receiver *rx, struct lx_session *s, char *buf,
    size_t len)
{
	uint64_t total;

	if (s->page_size < ND_ELF_PAGE_MIN || s->page_size > LX_PAGE_MAX ||
	    (s->page_size & (s->page_size - 1)) != 0) {
		snprintf(buf, len, "page size %" PRIu32 " is not one this "
		    "server takes (1 KiB to 64 KiB, a power of two)",
		    s->page_size);
		return buf;
	}
	if (s->max_pfn == 0) {
		snprintf(buf, len, "it has no memory to send");
		return buf;
	}
	s->desc = (struct nd_elf_desc){ .machine = s->machine,
	    .page_size = s->page_size, .max_pfn = s->max_pfn,
	    .task = s->start.task, .page_offset = s->start.page_offset,
	    .regs = s->regs, .regs_len = s->regs_len,
	    .max_loads = LX_MAX_LOADS };
	s->header_size = nd_elf_header_size(&s->desc);
	total = s->header_size + s->max_pfn * s->page_size;
	if (s->header_size == 0 || total > rx->conf->server.max_dump_size) {
		snprintf(buf, len, "%" PRIu64 " pages of %" PRIu32 " bytes "
		    "would pass max_dump_size", s->max_pfn, s->page_size);
		return buf;
	}
	return NULL;
}

/* INFO is over: the dump starts, with the provisional header at 0. */
void
lx_memory_begin(struct nd_lx *lx, struct nd_receiver *rx, struct lx_session *s)
{
	struct nd_chain *chains[MAX_CHAINS];
	struct nd_dump_params p;
	struct nd_elf_range all = { 0, s->max_pfn };
	const struct nd_server_conf *sv = &rx->conf->server;
	const char *route = NULL, *why;
	char buf[160];

	if (rx->stopping)
		return;
	/*
	 * The limits again: a FreeBSD dump may have taken the last slot
	 * since the announcement. The client waits, as it would for pages.
	 */
	s->wait_slot = atomic_load(&nd_dumps_active) >=
	    (uint64_t)sv->max_concurrent_dumps ||
	    nd_dumps_of_client(s->from.sin_addr.s_addr) >=
	    (uint64_t)sv->max_dumps_per_client;
	if (s->wait_slot) {
		s->ctl_sent = mono_ms();
		return;
	}
	why = memory_refusal(rx, s, buf, sizeof(buf));
	if (why == NULL && (p.nchains = adm_route_chains(rx, s->path,
	    &s->from, chains, MAX_CHAINS, &route)) == 0)
		why = "no route with a working sink takes it";
	if (why == NULL && (s->header = malloc((size_t)s->header_size)) ==
	    NULL)
		why = "out of memory";
	if (why == NULL && nd_elf_header_build(&s->desc, &all, 1, s->header,
	    (size_t)s->header_size) == -1)
		why = "its ELF header cannot be built";
	if (why == NULL) {
		p = (struct nd_dump_params){ .id = s->id, .rt = rx->rt,
		    .client = &s->from, .path = s->path, .route = route,
		    .dumpdir = rx->conf->server.dumpdir,
		    .dumpdir_fd = rx->dumpdir_fd, .wake_fd = rx->wake_fd,
		    .chains = chains, .nchains = p.nchains,
		    .linux_dump = true, .boot_dir = nd_console_boot_dir(
		    lx->console, s->from.sin_addr.s_addr, nd_console_now()) };
		if ((s->dump = nd_dump_start(&p)) == NULL)
			why = "the dump could not start";
	}
	if (why != NULL) {
		log_warnx("linux dump %" PRIu64 " from %s: not taking its "
		    "memory: %s; asking for its task list and rebooting it",
		    s->id, s->addr, why);
		lx_show_state(lx, s);
		return;
	}
	/* As a FreeBSD dump's first data does (admission.c). */
	adm_start_notice(rx, &s->from, s->path);
	s->dump->lx = (struct nd_linux_facts){ .is_linux = true,
	    .machine = s->machine, .page_size = s->page_size,
	    .max_pfn = s->max_pfn, .ram_pages = s->ram_pages,
	    .task = s->start.task, .header_size = s->header_size };
	take_oops(lx, s);
	nd_asm_init(&s->as, s->dump);
	(void)nd_asm_data(&s->as, 0, s->header, (size_t)s->header_size);
	s->chunks = s->page_size / LX_MEM_CHUNK;
	/* memory_refusal took page sizes up to LX_PAGE_MAX: at least 1. */
	s->window = LX_WINDOW_BYTES / s->page_size < LX_WINDOW ?
	    LX_WINDOW_BYTES / s->page_size : LX_WINDOW;
	s->state = LX_MEMORY;
	s->ctl_cmd = LX_COMM_NONE;
	logit(LOG_NOTICE, "linux dump %" PRIu64 " from %s started: %" PRIu64
	    " page frames of %" PRIu32 " bytes, route '%s' (%zu chain%s)",
	    s->id, s->addr, s->max_pfn, s->page_size, route, p.nchains,
	    p.nchains == 1 ? "" : "s");
	fill_window(lx, s);
}

/*
 * Pages whose replies are late: ask again, each time after twice as long
 * (up to LX_RTO_MAX), or give them up. Not while the dump's buffers are
 * all taken: the replies were dropped for want of room, not lost, and
 * asking again would only bring more of them.
 */
void
lx_pages_late(struct nd_lx *lx, struct lx_session *s, uint64_t now)
{
	uint64_t base = rto(s), limit;
	unsigned i;

	if (nd_dump_pool_empty(s->dump))
		return;
	for (i = 0; i < LX_WINDOW && s->dump != NULL; i++) {
		struct lx_slot *sl = &s->win[i];

		if (!sl->used)
			continue;
		limit = base << (sl->tries < 6 ? sl->tries - 1 : 5);
		if (now - sl->sent < (limit < LX_RTO_MAX ? limit : LX_RTO_MAX))
			continue;
		if (sl->tries >= LX_PAGE_TRIES) {
			if (++s->given_up <= LX_GIVEN_UP_LOGGED)
				log_warnx("linux dump %" PRIu64 " from %s: "
				    "page frame %" PRIu32 " asked for %u "
				    "times; given up%s", s->id, s->addr,
				    sl->pfn, sl->tries, s->given_up ==
				    LX_GIVEN_UP_LOGGED ? " (more are counted "
				    "as missing, not said)" : "");
			slot_free(s, sl);
			fill_window(lx, s);
			continue;
		}
		slot_send(lx, s, sl);
	}
	if (s->dump != NULL && s->nout == 0)
		fill_window(lx, s);
}
