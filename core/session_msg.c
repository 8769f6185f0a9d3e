/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What each message of a FreeBSD session does: data to the assembler,
 * the KDH and the key to their buffers, FINISHED to the end, with the
 * checks that keep a sender's claims from costing more than it sent and
 * a forger from ending or steering a dump. True means acknowledge it.
 */
#include <arpa/inet.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "assembler.h"
#include "dump.h"
#include "kdh.h"
#include "log.h"
#include "proto.h"
#include "receiver_int.h"

/*
 * How much data may leave missing below the highest byte received. A
 * kernel sends in offset order, one netdump buffer (64 KiB) per
 * debugnet_send call, and waits for every ack of a call before the next
 * (sys/net/debugnet.c, sys/netinet/netdump/netdump_client.c); what it
 * leaves missing is at most one call plus the packets the ack bitmap's
 * 32-bit shift lets it skip. Data that would leave more missing than
 * GAP_SLACK plus a quarter of what arrived is refused, so the holes that
 * the hash and the sinks walk stay in proportion to the bytes received,
 * whatever offsets a sender claims.
 */
#define GAP_SLACK	((uint64_t)16 << 20)
/*
 * Data that would move the assembler's window past bytes still missing,
 * with less than half a call's data below it (nd_asm_far_jump), is taken
 * only once the client has brought nothing new for this long. A kernel
 * never sends that: its next call follows the one before. Taken at once,
 * one byte forged far ahead would put the client's own stream behind the
 * window, late: an ordered chain fails on it, and it is slow. A sender
 * that skipped a range, or died, gets its jump after the pause. (An
 * alive kernel brings new bytes at least every second: it resends a
 * call's missing packets after one.)
 */
#define JUMP_QUIET	3		/* s */

/*
 * Copy the parts of [off, off + len) not received before into obj, and
 * compare the rest: a difference is a conflict.
 */
struct fill {
	uint8_t		*obj;
	const uint8_t	*src;
	uint64_t	 off;
	uint64_t	 conflict;	/* first offset that differs, or max */
};

static void
fill_gap(void *arg, uint64_t start, uint64_t end, bool is_data)
{
	struct fill *f = arg;
	const uint8_t *src = f->src + (start - f->off);

	if (!is_data)
		memcpy(f->obj + start, src, (size_t)(end - start));
	else if (f->conflict == UINT64_MAX &&
	    memcmp(f->obj + start, src, (size_t)(end - start)) != 0)
		f->conflict = start;
}

/*
 * KDH and key are small objects kept whole. A retransmission changes
 * nothing; one with other bytes is a conflict: the first copy stays.
 * *fresh: it brought bytes not received before.
 */
static bool
small_object(struct nd_dump *d, const char *what, struct nd_coverage *cov,
    uint8_t *obj, const struct nd_msg *m, bool *fresh)
{
	struct fill f = { obj, m->payload, m->offset, UINT64_MAX };
	uint64_t added = 0;

	nd_cov_walk(cov, m->offset, m->offset + m->len, fill_gap, &f);
	if (f.conflict != UINT64_MAX)
		nd_dump_conflict(d, what, f.conflict);
	if (nd_cov_add(cov, m->offset, m->offset + m->len, &added) == -1)
		return false;
	*fresh = added > 0;
	return true;
}

/*
 * Publish the key for the worker to store early (nd_outcome_key_early)
 * once it is whole by its own account: its header's length of the
 * encrypted key, padded to ND_KDK_PAD as kernels pad it, all there and
 * nothing past it. A key that never looks so waits for the dump's end.
 */
static void
key_publish(struct nd_dump *d)
{
	struct nd_key_copy *k;
	uint64_t need;

	if (atomic_load_explicit(&d->key_early, memory_order_relaxed) !=
	    NULL || !nd_cov_contains(&d->key_cov, 0, ND_KDK_HEAD))
		return;
	need = ND_KDK_HEAD + ((uint64_t)d->key[33] << 24 |
	    (uint64_t)d->key[34] << 16 | (uint64_t)d->key[35] << 8 |
	    d->key[36]);
	need = (need + ND_KDK_PAD - 1) / ND_KDK_PAD * ND_KDK_PAD;
	if (need > ND_MAX_KEY || nd_cov_end(&d->key_cov) != need ||
	    !nd_cov_contains(&d->key_cov, 0, need) ||
	    (k = malloc(sizeof(*k) + need)) == NULL)
		return;
	k->len = (size_t)need;
	memcpy(k->buf, d->key, k->len);
	atomic_store_explicit(&d->key_early, k, memory_order_release);
}

/*
 * Whether data at [off, end) leaves at most GAP_SLACK plus a quarter of
 * what arrived missing below the highest byte.
 */
static bool
gap_ok(const struct nd_dump *d, uint64_t off, uint64_t end)
{
	uint64_t have = d->cov.total + (end - off);

	if (end <= nd_cov_end(&d->cov) || end <= have)
		return true;
	return end - have <= GAP_SLACK + d->cov.total / 4;
}

/*
 * A VMCORE message of an active session; true means ack it. *fresh: it
 * brought bytes not received before.
 */
static bool
session_vmcore(struct nd_receiver *rx, struct session *s, struct nd_dump *d,
    const struct nd_msg *m, bool *fresh)
{
	enum nd_asm_result r;

	if (atomic_load(&d->abandoned)) {
		/* No ack: the client stops, its dump is kept. */
		rx_session_end(rx, s, "the dump directory fell below "
		    "min_free; the dump was given up");
		return false;
	}
	if (m->offset > rx->conf->server.max_dump_size ||
	    m->len > rx->conf->server.max_dump_size - m->offset) {
		s->drops.n[DROP_BEYOND_MAX]++;
		return false;
	}
	if (!gap_ok(d, m->offset, m->offset + m->len)) {
		s->drops.n[DROP_TOO_FAR]++;
		d->far_drops++;
		return false;
	}
	if (s->last_rx - s->last_new < JUMP_QUIET &&
	    nd_asm_far_jump(&s->as, m->offset, m->offset + m->len)) {
		s->drops.n[DROP_FAR_JUMP]++;
		return false;
	}
	r = nd_asm_data(&s->as, m->offset, m->payload, m->len);
	if (r == ND_ASM_OK)
		s->last_new = s->last_rx;	/* the batch's clock */
	if (r == ND_ASM_BUSY) {
		s->drops.n[DROP_BUSY]++;
		return false;
	}
	if (r == ND_ASM_OVERFLOW) {
		char why[128];

		snprintf(why, sizeof(why), "the data arrived in more "
		    "than %zu separate pieces; the dump was ended",
		    nd_cov_cap(&d->cov));
		log_warnx("dump %" PRIu64 " from %s: %s", s->id,
		    s->addr, why);
		rx_session_end(rx, s, why);
		return false;
	}
	if (r == ND_ASM_DUPLICATE)
		d->dup_packets++;
	*fresh = r != ND_ASM_DUPLICATE;
	return true;
}

/*
 * A VMCORE, KDH or key message taken (acked). Its number counts toward
 * the one FINISHED must have, when a kernel could be using it: a kernel
 * numbers every message on from the HERALD's, sends a call of at most
 * ND_MAX_IN_FLIGHT and waits for every ack before the next
 * (sys/net/debugnet.c debugnet_send), so it never gets further than
 * that past the highest number taken. Only a message that brought bytes
 * new to the dump (fresh) counts: a kernel's resend keeps its number, so
 * its number counted when it first came. A forger's far number (in a
 * message dropped, or far ahead), or one walked up in copies of what
 * came, cannot make its own FINISHED the next. And if the message brought
 * new bytes, or is numbered past a FINISHED that waits, the client went
 * on: that FINISHED was not its last word. A copy of an earlier message,
 * which the network may deliver late (duplicated, reordered), says
 * nothing of that, unless the FINISHED's own number is none a kernel
 * could give it (far past all taken: forged), when anything taken does.
 */
static void
taken(struct session *s, struct nd_dump *d, const struct nd_msg *m,
    bool fresh)
{
	bool kernels = s->finish_seqno > s->last_seqno &&
	    s->finish_seqno - s->last_seqno <= ND_MAX_IN_FLIGHT + 1;

	if (fresh && m->seqno > s->last_seqno &&
	    m->seqno - s->last_seqno <= ND_MAX_IN_FLIGHT)
		s->last_seqno = m->seqno;
	if (s->finish_at != 0 && (fresh || m->seqno > s->finish_seqno ||
	    !kernels)) {
		s->finish_at = 0;
		d->finished = false;
	}
	s->got_data = true;
}

/*
 * A FINISHED that may be forged (see rx_session_msg) ends the session
 * only when nothing taken follows it for FINISH_WAIT seconds; a second
 * one does not put that off.
 */
static void
finish_later(struct session *s, uint32_t seqno)
{
	if (s->finish_at == 0) {
		s->finish_at = now_sec() + FINISH_WAIT;
		s->finish_seqno = seqno;
	} else if (seqno > s->finish_seqno)
		s->finish_seqno = seqno;
}

/*
 * Whether the dump is whole, by a stricter rule than the outcome's
 * judge(): a valid KDH announcing data, which came, exactly as long as it
 * says (an uncompressed dump's dumplength is the bytes sent; a
 * compressed one's last 4096-byte block is padded: sys/kern/
 * kern_shutdown.c dump_finish), exactly its key, nothing in conflict. A
 * kernel sends FINISHED after all of it. A forger can send a KDH too,
 * but must then know to the block how far the dump has come. Parsed
 * apart: the dump's own KDH fields are the worker's until the end.
 */
static bool
dump_whole(const struct nd_dump *d)
{
	struct nds_kdh kdh;
	uint64_t end;

	if (d->conflicts > 0 || !nd_cov_contains(&d->kdh_cov, 0,
	    ND_KDH_SIZE) || nd_kdh_parse(d->kdh_raw, ND_KDH_SIZE, &kdh) !=
	    ND_KDH_OK)
		return false;
	end = nd_cov_end(&d->cov);
	return kdh.dumplength > 0 && nd_cov_contains(&d->cov, 0,
	    kdh.dumplength) && (end == kdh.dumplength ||
	    (kdh.compression != NDS_COMP_NONE && end ==
	    nd_kdh_block_end(kdh.dumplength))) &&
	    nd_cov_contains(&d->key_cov, 0, kdh.dumpkeysize) &&
	    nd_cov_end(&d->key_cov) <= kdh.dumpkeysize;
}

/* Handle one well-formed message of a session; true means ack it. */
bool
rx_session_msg(struct nd_receiver *rx, struct session *s,
    const struct nd_msg *m)
{
	struct nd_dump *d = s->dump;
	bool fresh = false;

	if (s->state == S_ENDED) {
		/* A lost FINISHED ack: the client asks again. */
		if (m->type == ND_MSG_FINISHED)
			return true;
		if (m->type == ND_MSG_HERALD && adm_herald_keep(s, m))
			return false;
		s->drops.n[DROP_AFTER_END]++;
		return false;
	}
	if (s->state == S_HERALDED) {
		if (m->type == ND_MSG_HERALD)
			return true;	/* our ack was lost */
		if (m->type == ND_MSG_FINISHED) {
			/*
			 * Nothing came to store: no dump, no files. But a
			 * kernel always sends data first (a kernel's HERALD
			 * is number 1, so a forger can number this one
			 * next): it waits like one that may be forged.
			 */
			finish_later(s, m->seqno);
			return true;
		}
		if (!adm_dump_begin(rx, s)) {
			/* Its data, held off: a FINISHED before was not. */
			s->finish_at = 0;
			s->drops.n[DROP_BUSY]++;
			return false;
		}
		d = s->dump;
	}
	d->packets++;
	switch (m->type) {
	case ND_MSG_HERALD:
		if (!s->got_data)
			return true;
		if (!adm_herald_keep(s, m))
			s->drops.n[DROP_UNEXPECTED]++;
		return false;
	case ND_MSG_VMCORE:
		if (!session_vmcore(rx, s, d, m, &fresh))
			return false;
		break;
	case ND_MSG_KDH:
		if (m->offset > ND_KDH_SIZE ||
		    m->len > ND_KDH_SIZE - m->offset) {
			s->drops.n[DROP_KDH_RANGE]++;
			return false;
		}
		if (!small_object(d, "KDH", &d->kdh_cov, d->kdh_raw, m,
		    &fresh))
			return false;
		break;
	case ND_MSG_EKCD_KEY:
		if (m->offset > ND_MAX_KEY || m->len > ND_MAX_KEY - m->offset) {
			s->drops.n[DROP_KEY_RANGE]++;
			return false;
		}
		if (d->key == NULL && (d->key = calloc(1, ND_MAX_KEY)) == NULL) {
			s->drops.n[DROP_BUSY]++;
			return false;
		}
		if (!small_object(d, "key", &d->key_cov, d->key, m, &fresh))
			return false;
		atomic_store(&d->key_seen, true);
		if (fresh)
			key_publish(d);
		break;
	case ND_MSG_FINISHED:
		d->finished = true;
		/*
		 * A kernel sends it last, numbered next after everything it
		 * sent (the KDH included). Anyone can send one from the
		 * client's address and port (and find the session's port by
		 * trying them all), and a KDH before it, but cannot know the
		 * number for sure (see taken()), nor send what the kernel
		 * has not: one that is not next, or that comes before all
		 * the dump says it has, ends it only when nothing taken
		 * follows for FINISH_WAIT seconds (acked at once all the
		 * same).
		 */
		if (m->seqno == s->last_seqno + 1 && dump_whole(d))
			rx_session_end(rx, s, NULL);
		else
			finish_later(s, m->seqno);
		return true;
	}
	taken(s, d, m, fresh);
	return true;
}
