/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Console and oops capture (see console.h). Each client has at most one
 * open file, a line buffer for the oops scan, a fixed list of netlog gaps
 * and at most one extended netconsole message being reassembled; clients
 * beyond max_clients are evicted least recently seen first, but not one
 * heard within CLIENT_KEEP seconds (the newcomer waits). Nothing from
 * a datagram reaches a file name: directories are named from the address
 * and the clock only (console_files.c).
 */
#include <sys/queue.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "console_int.h"
#include "util.h"

#define FRAG_WAIT	5	/* s an incomplete ext message waits */
#define IDLE_CLOSE	60	/* s a log file stays open unused */
#define BOOT_SETTLE	60	/* s a new directory absorbs any boot sign */
#define SEQ_BACK	1000	/* an ext seq this far back is a reboot */
#define SCRATCH_SIZE	(LX_EXT_MAX_MESSAGE + 64)
#define NEW_PER_SEC	16	/* clients first heard in one second */
#define CLIENT_KEEP	60	/* s: a client heard since is not evicted */
/*
 * s of silence after which a stream that goes back (a netlog offset
 * behind what was written, its boot marker at the same place) is a new
 * boot: copies from the network come within milliseconds, and a
 * kernel's netlog is never sent twice, while a reboot takes longer.
 */
#define REBOOT_QUIET	5

/*
 * Netlog offset 0 after this many bytes is a reboot, not a duplicate: a
 * copy of the first chunk comes within the boot's burst, long before.
 * Smaller than a boot's messages, so a host rebooting soon after its
 * last boot still gets its replay into the new directory.
 */
#define NL_FAR		16384

static const char nl_marker[] = "[...network console startup...]";
static const char nc_marker[] = "netconsole: network logging started";

/* The oops scan */

static void
oops_line(struct client *c, const char *line, time_t now)
{
	static const char *const pat[] = {
		"Kernel panic - not syncing", "Oops:", "BUG: unable to handle",
		"kernel BUG at", "general protection fault",
		"Unable to handle kernel", "BUG: soft lockup", "Call Trace:",
	};
	size_t i, n = sizeof(pat) / sizeof(pat[0]);

	for (i = 0; i < n; i++)
		if (strstr(line, pat[i]) != NULL)
			break;
	if (i == n)
		return;
	/* A trace follows the oops: it marks one only if none was seen. */
	if (i == n - 1 && c->oops[0] != '\0')
		return;
	snprintf(c->oops, sizeof(c->oops), "%.*s", OOPS_MAX, line);
	if (!c->crash_told)
		c->crashed = true;
	/* It goes to syslog and the manifest: no terminal controls. */
	nd_text_blank(c->oops, "");
	/* The first says what happened; what follows, that it was fatal. */
	if (c->first_oops[0] == '\0')
		memcpy(c->first_oops, c->oops, sizeof(c->oops));
	if (c->oops_logged != 0 &&
	    con_elapsed(now, c->oops_logged) < LOG_QUIET) {
		c->oops_quiet++;
		return;
	}
	logit(LOG_NOTICE, "console: %s: %s (in %s/log)", c->ip, c->oops,
	    c->dir);
	c->oops_logged = now;
}

/* Feed text to the line buffer; each complete line is scanned. */
static void
oops_scan(struct client *c, const uint8_t *p, size_t len, time_t now)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n') {
			while (c->line_len > 0 && c->line[c->line_len - 1] ==
			    '\r')
				c->line_len--;
			c->line[c->line_len] = '\0';
			oops_line(c, c->line, now);
			c->line_len = 0;
		} else if (c->line_len < sizeof(c->line) - 1)
			c->line[c->line_len++] = p[i] == '\0' ? ' ' :
			    (char)p[i];
	}
}

/* Console text: into the file and through the oops scan. */
static void
text_write(struct nd_console *con, struct client *c, const void *buf,
    size_t len, time_t now)
{
	con_raw_write(con, c, buf, len, now);
	oops_scan(c, buf, len, now);
}

/* Extended netconsole */

static void
frag_free(struct client *c)
{
	free(c->frag.buf);
	free(c->frag.have);
	memset(&c->frag, 0, sizeof(c->frag));
}

/* "[%5llu.%06llu] text\n", as dmesg shows it. */
static void
ext_line(struct nd_console *con, struct client *c, uint64_t usec,
    const uint8_t *text, size_t len, time_t now)
{
	size_t n;

	n = (size_t)snprintf((char *)con->scratch, 64, "[%5" PRIu64 ".%06"
	    PRIu64 "] ", usec / 1000000, usec % 1000000);
	if (len > SCRATCH_SIZE - n - 1)
		len = SCRATCH_SIZE - n - 1;
	memcpy(con->scratch + n, text, len);
	n += len;
	if (len == 0 || text[len - 1] != '\n')
		con->scratch[n++] = '\n';
	text_write(con, c, con->scratch, n, now);
}

/*
 * Message seq was written: copies of it and of older ones are dropped from
 * now on. An older message written late (it was waiting in pieces while
 * a newer one came) does not move that mark back.
 */
static void
ext_done(struct client *c, uint64_t seq)
{
	uint64_t s;

	if (!c->ext_on || (seq > c->ext_seq && seq - c->ext_seq >=
	    EXT_SEEN)) {
		memset(c->ext_seen, 0, sizeof(c->ext_seen));
		c->ext_seq = seq;
	} else if (seq > c->ext_seq) {
		/* Up to seq, never past it: seq may be UINT64_MAX. */
		for (s = c->ext_seq; s != seq;) {
			s++;
			c->ext_seen[s % EXT_SEEN / 64] &=
			    ~(1ull << (s % 64));
		}
		c->ext_seq = seq;
	}
	c->ext_on = true;
	if (c->ext_seq - seq < EXT_SEEN)
		c->ext_seen[seq % EXT_SEEN / 64] |= 1ull << (seq % 64);
}

/*
 * Whether message seq was written: a copy. One not written that is
 * older than the newest is late (reordered, or behind a forged number
 * from the client's address: its text comes all the same).
 */
static bool
ext_written(const struct client *c, uint64_t seq)
{
	if (!c->ext_on || seq > c->ext_seq)
		return false;
	if (c->ext_seq - seq >= EXT_SEEN)
		return true;
	return (c->ext_seen[seq % EXT_SEEN / 64] >> (seq % 64)) & 1;
}

/* Write the waiting message as it is: the bytes that came, in order. */
static void
frag_flush(struct nd_console *con, struct client *c, time_t now)
{
	struct frag *f = &c->frag;
	uint32_t i, o, n = 0;

	if (f->buf == NULL)
		return;
	con->st.incomplete++;
	con_note_write(con, c, now, "[netdump-server: message %" PRIu64
	    " incomplete: %" PRIu32 " of %" PRIu32 " bytes came]", f->seq,
	    f->got, f->total);
	/* Eight bits at a time: a part claiming a long message is cheap. */
	for (i = 0; i < f->total; i += 8) {
		if (f->have[i / 8] == 0)
			continue;
		for (o = i; o < i + 8 && o < f->total; o++)
			if (f->have[o / 8] & (1u << (o % 8)))
				f->buf[n++] = f->buf[o];
	}
	ext_line(con, c, f->usec, f->buf, n, now);
	ext_done(c, f->seq);
	frag_free(c);
}

/* One ncfrag part; the message is written when every byte is in. */
static void
frag_add(struct nd_console *con, struct client *c, const struct lx_ext *e,
    time_t now)
{
	struct frag *f = &c->frag;
	uint32_t i, o;

	if (f->buf == NULL) {
		f->buf = malloc(e->frag_total);
		f->have = calloc(((size_t)e->frag_total + 7) / 8, 1);
		if (f->buf == NULL || f->have == NULL) {
			frag_free(c);
			con_dropped(con, c, e->text_len, now,
			    "no memory for a message to", ENOMEM);
			return;
		}
		f->total = e->frag_total;
		f->seq = e->seq;
		f->usec = e->usec;
		f->since = now;
	}
	if (e->frag_total != f->total) {
		con->st.dropped += e->text_len;	/* not of this message */
		return;
	}
	for (i = 0; i < e->text_len; i++) {
		o = e->frag_offset + i;
		if (f->have[o / 8] & (1u << (o % 8)))
			continue;
		f->have[o / 8] |= (uint8_t)(1u << (o % 8));
		f->buf[o] = e->text[i];
		f->got++;
	}
	if (f->got == f->total) {
		ext_line(con, c, f->usec, f->buf, f->total, now);
		ext_done(c, f->seq);
		frag_free(c);
	}
}

static void
ext_input(struct nd_console *con, struct client *c, const struct lx_ext *e,
    time_t now)
{
	if (e->release != NULL)
		snprintf(c->release, sizeof(c->release), "%.*s",
		    (int)e->release_len, e->release);
	/*
	 * A copy of what was written is dropped before it can touch the
	 * message being put together; only a newer message (or the same
	 * one, whole) ends that one, and an older one that comes late is
	 * written as it is.
	 */
	if (ext_written(c, e->seq)) {
		con->st.dup++;
		return;
	}
	if (c->frag.buf != NULL && (e->seq > c->frag.seq ||
	    (e->seq == c->frag.seq && !e->fragment) ||
	    (e->seq < c->frag.seq && e->fragment)))
		frag_flush(con, c, now);
	if (e->fragment)
		frag_add(con, c, e, now);
	else {
		ext_line(con, c, e->usec, e->text, e->text_len, now);
		ext_done(c, e->seq);
	}
}

/* netlog */

/*
 * The stream offset of a netlog chunk: its 32-bit info read as the value
 * nearest the offset expected next (serial number arithmetic), so a
 * client that has sent more than 4 GiB since it booted goes on.
 */
static uint64_t
nl_offset(const struct client *c, uint32_t info)
{
	const uint64_t half = (uint64_t)1 << 31, wrap = (uint64_t)1 << 32;
	uint64_t base = c->nl_on ? c->nl_next : 0;
	uint64_t v = (base & ~(wrap - 1)) | info;

	if (v + half < base)
		v += wrap;
	else if (v >= wrap && v > base + half)
		v -= wrap;
	return v;
}

static void
gap_add(struct client *c, uint64_t start, uint64_t end)
{
	if (c->ngaps == MAX_GAPS) {	/* forget the oldest */
		memmove(&c->gaps[0], &c->gaps[1], (MAX_GAPS - 1) *
		    sizeof(c->gaps[0]));
		c->ngaps--;
	}
	c->gaps[c->ngaps++] = (struct gap){ start, end };
}

static bool
in_gap(const struct client *c, uint64_t off)
{
	unsigned i;

	for (i = 0; i < c->ngaps; i++)
		if (off >= c->gaps[i].start && off < c->gaps[i].end)
			return true;
	return false;
}

/*
 * The parts of [s, e) that fill remembered gaps, each with a marker; the
 * gaps shrink or split. Returns whether anything was written.
 */
static bool
nl_late(struct nd_console *con, struct client *c, uint64_t s, uint64_t e,
    const uint8_t *text, time_t now)
{
	struct gap g;
	uint64_t a, b;
	unsigned i = 0;
	bool any = false;

	while (i < c->ngaps) {
		g = c->gaps[i];
		a = s > g.start ? s : g.start;
		b = e < g.end ? e : g.end;
		if (a >= b) {
			i++;
			continue;
		}
		con->st.late++;
		con_note_write(con, c, now, "[netdump-server: late console "
		    "text from offset %" PRIu64 "]", a);
		text_write(con, c, text + (a - s), (size_t)(b - a), now);
		any = true;
		c->nl_resume = true;
		memmove(&c->gaps[i], &c->gaps[i + 1], (c->ngaps - i - 1) *
		    sizeof(c->gaps[0]));
		c->ngaps--;
		if (b < g.end)
			gap_add(c, b, g.end);
		if (g.start < a)
			gap_add(c, g.start, a);
		i = 0;		/* the list moved */
	}
	return any;
}

static void
nl_input(struct nd_console *con, struct client *c, const struct lx_reply *r,
    time_t now)
{
	uint64_t s = nl_offset(c, r->info), e = s + r->len;
	bool any;

	if (!c->nl_on) {
		c->nl_on = true;
		c->nl_next = s;
	}
	any = nl_late(con, c, s, e < c->nl_next ? e : c->nl_next, r->payload,
	    now);
	if (e > c->nl_next) {
		if (s > c->nl_next) {
			con_note_write(con, c, now, "[netdump-server: %" PRIu64
			    " bytes of console text missing here]",
			    s - c->nl_next);
			con->st.missing += s - c->nl_next;
			gap_add(c, c->nl_next, s);
			c->nl_next = s;
		} else if (c->nl_resume)
			con_note_write(con, c, now, "[netdump-server: console "
			    "text resumes at offset %" PRIu64 "]", c->nl_next);
		c->nl_resume = false;
		text_write(con, c, r->payload + (c->nl_next - s),
		    (size_t)(e - c->nl_next), now);
		c->nl_next = e;
	} else if (!any && r->len > 0)
		con->st.dup++;
}

/* Clients and boots */

static void
client_free(struct nd_console *con, struct client *c, time_t now)
{
	frag_flush(con, c, now);
	con_close_log(c);
	frag_free(c);
	TAILQ_REMOVE(&con->clients, c, lru);
	con->nclients--;
	free(c);
}

/* The client, made the most recent; NULL on ENOMEM. */
static struct client *
client_get(struct nd_console *con, uint32_t addr, time_t now)
{
	struct in_addr in = { .s_addr = addr };
	struct client *c;

	/* Linear: a few hundred clients at most, the busy ones in front. */
	TAILQ_FOREACH(c, &con->clients, lru)
		if (c->addr == addr)
			break;
	if (c != NULL) {
		TAILQ_REMOVE(&con->clients, c, lru);
		TAILQ_INSERT_HEAD(&con->clients, c, lru);
		c->heard_before = c->heard;
		c->heard = now;
		return c;
	}
	/*
	 * All places taken: the least recently heard goes, unless it was
	 * heard within CLIENT_KEEP seconds (a client whose memory is being
	 * pulled sends no text for a while); then the newcomer waits, so
	 * that forged addresses cannot push the clients out.
	 */
	if (con->nclients >= con->conf.max_clients && con_elapsed(now,
	    TAILQ_LAST(&con->clients, client_list)->heard) < CLIENT_KEEP) {
		con->st.full++;
		return NULL;
	}
	/*
	 * A new client costs a look at the dump directory and maybe a new
	 * directory: a flood from forged addresses gets NEW_PER_SEC a
	 * second, not one per datagram.
	 */
	if (con->new_second != now) {
		con->new_second = now;
		con->new_count = 0;
	}
	if (con->new_count >= NEW_PER_SEC) {
		con->st.refused++;
		return NULL;
	}
	con->new_count++;
	if (con->nclients >= con->conf.max_clients) {
		con->st.evicted++;
		client_free(con, TAILQ_LAST(&con->clients, client_list), now);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->addr = addr;
	c->heard = c->heard_before = now;
	c->fd = -1;
	c->at_bol = true;
	inet_ntop(AF_INET, &in, c->ip, sizeof(c->ip));
	TAILQ_INSERT_HEAD(&con->clients, c, lru);
	con->nclients++;
	return c;
}

static struct client *
client_find(struct nd_console *con, uint32_t addr)
{
	struct client *c;

	TAILQ_FOREACH(c, &con->clients, lru)
		if (c->addr == addr)
			return c;
	return NULL;
}

/*
 * The old boot's waiting text goes to its file; the new one starts clean,
 * in a new directory (marked: made for a boot marker).
 */
static void
new_boot(struct nd_console *con, struct client *c, time_t now)
{
	frag_flush(con, c, now);
	con_close_log(c);
	c->dir[0] = '\0';
	c->scanned = true;	/* a new directory, never an old one */
	c->nl_on = c->ext_on = false;
	c->ngaps = 0;
	c->line_len = 0;
	c->oops[0] = c->first_oops[0] = '\0';
	c->crashed = c->crash_told = false;
	c->at_bol = true;
	(void)con_ensure_dir(con, c, now);
}

/*
 * The stream started over too soon for a directory of its own: what
 * comes is written on in this one, after a line that says so, rather than
 * taken for copies of what was.
 */
static void
restart(struct nd_console *con, struct client *c, time_t now)
{
	frag_flush(con, c, now);
	c->nl_on = c->ext_on = false;
	c->ngaps = 0;
	con_note_write(con, c, now, "[netdump-server: the client's console "
	    "started over]");
}

/*
 * A boot marker at pos (netlog offset, ext seq; has_pos false for plain
 * text). Seen again at the same place it is a duplicate, unless the
 * client was quiet (REBOOT_QUIET) before it: a host whose last boot sent
 * little has its marker at the same place. (A directory made moments
 * ago takes it as the same boot: boot_sign.)
 */
static bool
marker_boot(struct client *c, const uint8_t *text, size_t len, bool has_pos,
    uint64_t pos, bool quiet)
{
	if (memmem(text, len, nl_marker, sizeof(nl_marker) - 1) == NULL &&
	    memmem(text, len, nc_marker, sizeof(nc_marker) - 1) == NULL)
		return false;
	if (has_pos && c->marker_known && c->marker_at == pos && !quiet)
		return false;
	c->marker_known = has_pos;
	c->marker_at = pos;
	return true;
}

/*
 * BOOT_RESTART: the stream started over within BOOT_SETTLE of the
 * directory: it goes on in the same one, its text kept.
 */
enum boot { BOOT_NONE, BOOT_RESET, BOOT_MARKER, BOOT_RESTART };

/*
 * Whether this datagram starts a boot: an ext seq or netlog offset gone
 * back, a client first seen whose stream starts at 0, or a marker.
 */
static enum boot
boot_sign(struct client *c, enum lx_kind kind, const struct lx_reply *r,
    const struct lx_ext *e, const uint8_t *text, size_t len, time_t now)
{
	bool first = !c->scanned && c->dir[0] == '\0', reset = false;
	bool quiet = con_elapsed(now, c->heard_before) >= REBOOT_QUIET;
	enum boot boot = BOOT_NONE;
	uint64_t pos = 0, off;

	if (kind == LX_NETDUMP) {
		pos = off = nl_offset(c, r->info);
		/*
		 * Far behind what was written, and no gap left there: the
		 * stream started over (its first chunk may be the one lost).
		 * Behind it at all after a silence: the same (a host that
		 * crashed soon after its boot sent less than NL_FAR), unless
		 * it fills a gap (0 always starts a stream).
		 */
		if (c->nl_on)
			reset = (off + NL_FAR < c->nl_next && !in_gap(c,
			    off)) || (quiet && off < c->nl_next &&
			    (r->info == 0 || !in_gap(c, off)));
		else
			reset = first && r->info == 0;
	} else if (kind == LX_NETCONSOLE_EXT) {
		pos = e->seq;
		if (c->ext_on)
			reset = (e->seq < c->ext_seq && c->ext_seq - e->seq >
			    SEQ_BACK) ||
			    (e->seq <= 1 && c->ext_seq > 1);
		else
			reset = first && e->seq <= 1;
	}
	if (marker_boot(c, text, len, kind != LX_NETCONSOLE, pos, quiet))
		boot = BOOT_MARKER;
	else if (reset)
		boot = BOOT_RESET;
	/*
	 * A directory this run made less than BOOT_SETTLE ago takes every
	 * sign as the same boot: RHEL 4 replays its log before its marker,
	 * and a client that repeats markers or sequence resets in every
	 * datagram gets one directory a minute, not one per datagram.
	 */
	if (boot != BOOT_NONE && c->dir[0] != '\0' && c->dir_made != 0 &&
	    con_elapsed(now, c->dir_made) < BOOT_SETTLE)
		return boot == BOOT_RESET ? BOOT_RESTART : BOOT_NONE;
	return boot;
}

/* API */

struct nd_console *
nd_console_new(const struct nd_console_conf *conf)
{
	struct nd_console *con;

	if ((con = calloc(1, sizeof(*con))) == NULL)
		return NULL;
	if ((con->scratch = malloc(SCRATCH_SIZE)) == NULL) {
		free(con);
		return NULL;
	}
	con->conf = *conf;
	if (con->conf.max_clients == 0)
		con->conf.max_clients = 1;
	TAILQ_INIT(&con->clients);
	return con;
}

/*
 * CLOCK_MONOTONIC counts from boot: LONG_AGO ahead, a field still 0 (no
 * log line yet, no directory yet) is long ago even in a server that
 * starts with the machine.
 */
time_t
nd_console_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return LONG_AGO + ts.tv_sec;
}

void
nd_console_free(struct nd_console *con)
{
	time_t now = nd_console_now();

	if (con == NULL)
		return;
	while (!TAILQ_EMPTY(&con->clients))
		client_free(con, TAILQ_FIRST(&con->clients), now);
	free(con->scratch);
	free(con);
}

bool
nd_console_input(struct nd_console *con, uint32_t addr, const uint8_t *buf,
    size_t len, time_t now)
{
	enum lx_kind kind = lx_classify(buf, len);
	struct lx_reply r;
	struct lx_ext e;
	struct client *c;
	enum boot boot;
	const uint8_t *text = buf;
	size_t tlen = len;

	if (kind == LX_EMPTY)
		return true;
	if (kind == LX_NETDUMP) {
		if (lx_reply_decode(buf, len, &r) != LX_DECODE_OK ||
		    r.code != LX_REPLY_LOG)
			return false;
		text = r.payload;
		tlen = r.len;
	} else if (kind == LX_NETCONSOLE_EXT) {
		if (lx_ext_parse(buf, len, &e) == -1)
			kind = LX_NETCONSOLE;	/* lx_classify said it was */
		else {
			text = e.text;
			tlen = e.text_len;
		}
	}
	if ((c = client_get(con, addr, now)) == NULL) {
		con->st.dropped += tlen;
		return true;
	}
	boot = boot_sign(c, kind, &r, &e, text, tlen, now);
	if (boot == BOOT_RESTART)
		restart(con, c, now);
	else if (boot != BOOT_NONE)
		new_boot(con, c, now);
	if (kind == LX_NETDUMP)
		nl_input(con, c, &r, now);
	else if (kind == LX_NETCONSOLE_EXT)
		ext_input(con, c, &e, now);
	else
		text_write(con, c, buf, len, now);
	return true;
}

/* What was counted and not logged line by line, once a minute. */
static void
tick_stats(struct nd_console *con, time_t now)
{
	struct stats *s = &con->st, *o = &con->st_logged;

	if (con_elapsed(now, con->st_time) < LOG_QUIET ||
	    memcmp(s, o, sizeof(*s)) == 0)
		return;
	log_info("console: %" PRIu64 " duplicates dropped, %" PRIu64
	    " bytes missing, %" PRIu64 " late chunks, %" PRIu64
	    " incomplete messages, %" PRIu64 " bytes not stored, %" PRIu64
	    " clients evicted, %" PRIu64 " datagrams from new clients past "
	    "%d a second, %" PRIu64 " from new clients while %u were heard "
	    "in the last %d s, %" PRIu64 " new directories past the budget",
	    s->dup - o->dup, s->missing - o->missing,
	    s->late - o->late, s->incomplete - o->incomplete,
	    s->dropped - o->dropped, s->evicted - o->evicted,
	    s->refused - o->refused, NEW_PER_SEC, s->full - o->full,
	    con->conf.max_clients, CLIENT_KEEP, s->no_dir - o->no_dir);
	*o = *s;
	con->st_time = now;
}

void
nd_console_tick(struct nd_console *con, time_t now)
{
	struct client *c;

	TAILQ_FOREACH(c, &con->clients, lru) {
		if (c->frag.buf != NULL &&
		    con_elapsed(now, c->frag.since) >= FRAG_WAIT)
			frag_flush(con, c, now);
		if (c->fd != -1 && con_elapsed(now, c->written) >= IDLE_CLOSE)
			con_close_log(c);
		if (c->oops_quiet > 0 &&
		    con_elapsed(now, c->oops_logged) >= LOG_QUIET) {
			logit(LOG_NOTICE, "console: %s: %u more oops lines not "
			    "logged, the last: %s (in %s/log)", c->ip,
			    c->oops_quiet, c->oops, c->dir);
			c->oops_quiet = 0;
			c->oops_logged = now;
		}
		if (c->err_dropped > 0 &&
		    con_elapsed(now, c->err_logged) >= LOG_QUIET) {
			log_warnx("console: %s: %" PRIu64 " bytes of console "
			    "text not stored", c->ip, c->err_dropped);
			c->err_dropped = 0;
			c->err_logged = now;
		}
	}
	tick_stats(con, now);
}

const char *
nd_console_dir(struct nd_console *con, uint32_t addr)
{
	struct client *c = client_find(con, addr);

	return c != NULL && c->dir[0] != '\0' ? c->dir : NULL;
}

const char *
nd_console_oops(struct nd_console *con, uint32_t addr)
{
	struct client *c = client_find(con, addr);

	return c != NULL && c->oops[0] != '\0' ? c->oops : NULL;
}

const char *
nd_console_first_oops(struct nd_console *con, uint32_t addr)
{
	struct client *c = client_find(con, addr);

	return c != NULL && c->first_oops[0] != '\0' ? c->first_oops : NULL;
}

/*
 * A client that crashed: its directory of this boot, made now if it has
 * none yet in this run, so the dump goes beside the console text that
 * led to it.
 */
const char *
nd_console_boot_dir(struct nd_console *con, uint32_t addr, time_t now)
{
	struct client *c = client_get(con, addr, now);

	if (c == NULL)
		return NULL;
	/*
	 * Not heard since the server started: its newest directory may be
	 * of a boot long gone, so the crash gets a new one.
	 */
	if (c->dir[0] == '\0') {
		c->scanned = true;
		if (con_make_dir(con, c, now) == -1)
			return NULL;
	}
	return c->dir;
}

/*
 * A client whose console showed an oops or panic since the last call, once
 * per boot: its address and directory (the console's, valid as the
 * strings of nd_console_dir). False when there is none. The least recently
 * heard first, so that clients that keep sending (forged ones) cannot keep
 * a crashed one waiting.
 */
bool
nd_console_crashed(struct nd_console *con, uint32_t *addr, const char **dir)
{
	struct client *c;

	TAILQ_FOREACH_REVERSE(c, &con->clients, client_list, lru)
		if (c->crashed && c->dir[0] != '\0') {
			c->crashed = false;
			c->crash_told = true;
			*addr = c->addr;
			*dir = c->dir;
			return true;
		}
	return false;
}
