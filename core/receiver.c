/* SPDX-License-Identifier: BSD-2-Clause */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/un.h>

#include "assembler.h"
#include "dump.h"
#include "hooks.h"
#include "log.h"
#include "proto.h"
#include "receiver.h"
#include "space.h"
#include "status.h"
#include "tally.h"
#include "util.h"

#define RX_BATCH	64		/* datagrams per recvmmsg */
#define RX_BUFSIZE	65536		/* > the largest UDP payload */
#define HERALD_BATCH	16		/* datagrams per recvmmsg, herald port */
#define RX_SOCKBUF	(8 << 20)
#define PROGRESS_EVERY	30		/* seconds between progress lines */
#define MAX_HERALDED	256		/* sessions waiting for their first data */
#define HERALD_KEEP_MS	500		/* ... safe from eviction this long */
#define DRAIN_WAIT_MS	1000		/* for a buffer, reading a restart's rest */
#define MAX_CHAINS	32
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
 * File descriptors kept back from the session sockets: the daemon's own,
 * and per dump its sinks' files and connections and its hooks' pipes.
 */
#define FD_RESERVE	64
#define FD_PER_DUMP	16

/* Reasons a datagram is dropped without an ack, counted per source. */
enum drop {
	DROP_RUNT,
	DROP_BAD_LENGTH,
	DROP_BAD_TYPE,
	DROP_BEYOND_MAX,
	DROP_TOO_FAR,
	DROP_KDH_RANGE,
	DROP_KEY_RANGE,
	DROP_BUSY,
	DROP_AFTER_END,
	DROP_UNEXPECTED,
	DROP_NKINDS
};

static const char *const drop_names[DROP_NKINDS] = {
	[DROP_RUNT] = "runt datagrams",
	[DROP_BAD_LENGTH] = "datagrams whose length is not 24 + mh_len",
	[DROP_BAD_TYPE] = "unknown message types",
	[DROP_BEYOND_MAX] = "data beyond max_dump_size",
	[DROP_TOO_FAR] = "data too far beyond what had arrived",
	[DROP_KDH_RANGE] = "KDH bytes beyond 512",
	[DROP_KEY_RANGE] = "key bytes beyond the key size limit",
	[DROP_BUSY] = "messages held off (sinks behind, or dump limit)",
	[DROP_AFTER_END] = "messages after the dump ended",
	[DROP_UNEXPECTED] = "unexpected messages",
};

struct drops {
	uint64_t	n[DROP_NKINDS];
	uint64_t	logged[DROP_NKINDS];
	time_t		last_log;
};

/* What an epoll event points at: the first member of each of these. */
enum ev_kind {
	EV_HERALD = 1,
	EV_TIMER,
	EV_SIGNAL,
	EV_SESSION,
	EV_HOOK,
	EV_STATUS,
	EV_WAKE,
};

/*
 * A session is HERALDED from its HERALD's ack until the first data: it
 * holds only a socket, so a flood of spoofed HERALDs costs little (and the
 * oldest are evicted). The dump (worker, buffers, files) starts with the
 * first data message: ACTIVE. ENDED sessions linger to re-ack FINISHED.
 */
enum session_state {
	S_HERALDED,
	S_ACTIVE,
	S_ENDED,
};

struct session {
	enum ev_kind		 kind;		/* EV_SESSION */
	struct session		*next;
	enum session_state	 state;
	struct nd_runtime	*rt;		/* referenced: chains point into it */
	const char		*route;		/* rt's route name */
	struct nd_chain		*chains[MAX_CHAINS];
	size_t			 nchains;
	char			 path[ND_MAX_HERALD_PATH + 1];
	uint64_t		 heralded_ms;	/* CLOCK_MONOTONIC */
	bool			 started;	/* a dump began: FINISHED may come */
	struct sockaddr_in	 client;	/* the HERALD's source */
	struct in_addr		 local;
	int			 fd;
	uint16_t		 port;
	char			 addr[INET_ADDRSTRLEN];
	uint64_t		 id;
	struct nd_dump		*dump;		/* NULL once ended */
	struct nd_asm		 as;
	bool			 got_data;
	bool			 dead;		/* on the graveyard */
	bool			 paused;	/* not reading: no buffer free */
	bool			 restarted;	/* its client sent a new HERALD:
						 * read, never answered; the
						 * next session takes its socket */
	bool			 draining;	/* in session_drain() */
	uint64_t		 unanswered;	/* messages read since then */
	time_t			 last_rx;	/* any message */
	time_t			 last_data;	/* any but a HERALD */
	/*
	 * A HERALD that came to this session's socket after data, from a
	 * client that restarted and took this port from an ack of its old
	 * self: answered as one at the herald port once the batch is read.
	 */
	struct nd_msg		*herald;
	time_t			 ended_at;
	time_t			 last_progress;
	struct drops		 drops;
};

/*
 * A HERALD waiting for a hook: netdump-crash decides whether the dump may
 * start, netdump-nospace whether to look at the free space once more;
 * netdump-start only needs reaping. The client retransmits its HERALD
 * every second meanwhile; those are ignored.
 */
struct pending {
	enum ev_kind		 kind;		/* EV_HOOK */
	struct pending		*next;
	struct nd_hook_proc	 proc;
	struct sockaddr_in	 client;
	struct in_addr		 local;
	uint32_t		 seqno;
	char			 path[ND_MAX_HERALD_PATH + 1];
	time_t			 started;
	uint64_t		 herald_ms;	/* when the HERALD came (now_ms) */
	bool			 late;		/* its answer no longer counts */
	bool			 dead;
};

/* The steps of herald_admit already taken for a HERALD. */
#define ADMIT_SPACE_ASKED	0x1	/* netdump-nospace had its one say */
#define ADMIT_CRASH_DONE	0x2	/* netdump-crash said yes, or is late */

/* Clients refused for a while (a veto, no space), and log rate limits. */
#define REFUSALS	256
struct refusal {
	uint32_t		 addr;		/* network order */
	uint16_t		 port;
	time_t			 until;
};

struct nd_receiver {
	struct nd_runtime	*rt;		/* the current configuration */
	const struct nd_conf	*conf;		/* rt->conf */
	struct nd_sinkset	*sinks;		/* rt->sinks */
	nd_reload_fn		 reload;
	void			*reload_arg;
	int			 status_fd;
	int			 wake_fd;	/* eventfd: a worker freed a buffer */
	char			 status_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	time_t			 started;
	int			 dumpdir_fd;
	int			 ep;
	int			 herald_fd;
	int			 timer_fd;
	int			 signal_fd;
	struct session		*sessions;
	struct session		*graveyard;
	struct pending		*pendings;
	struct pending		*pending_graveyard;
	struct refusal		 refusals[REFUSALS];
	uint64_t		 next_id;
	struct drops		 herald_drops;
	uint64_t		 refused_busy, refused_logged;
	uint64_t		 evicted, evicted_logged;
	uint64_t		 flood_refused, flood_logged;
	uint64_t		 silent, silent_logged;	/* HERALD, then nothing */
	struct tallies		 tally;
	size_t			 nfds;		/* session sockets open */
	rlim_t			 fd_limit;	/* RLIMIT_NOFILE at start */
	bool			 stopping;

	/* recvmmsg state of the session sockets: one receive thread. */
	struct mmsghdr		 msgs[RX_BATCH];
	struct iovec		 iov[RX_BATCH];
	uint8_t			*bufs;
	/*
	 * The herald socket's own: a HERALD may drain a session socket
	 * (session_drain) while the rest of its batch waits.
	 */
	struct mmsghdr		 hmsgs[HERALD_BATCH];
	struct iovec		 hiov[HERALD_BATCH];
	struct sockaddr_in	 from[HERALD_BATCH];
	char			 cmsg[HERALD_BATCH]
				     [CMSG_SPACE(sizeof(struct in_pktinfo))];
	uint8_t			*hbufs;
	/* acks of one batch */
	struct mmsghdr		 amsgs[RX_BATCH];
	struct iovec		 aiov[RX_BATCH];
	uint8_t			 acks[RX_BATCH][ND_ACK_SIZE];
};

static bool dump_begin(struct nd_receiver *, struct session *);
static int pending_start(struct nd_receiver *, enum nd_hook,
    const struct sockaddr_in *, struct in_addr, const char *, uint32_t,
    uint64_t);

/* Sessions that ended with a HERALD and no data, for a summary line. */
static uint64_t heralds_unanswered;

/* Tags for the fds that are not sessions or hooks. */
static enum ev_kind tag_herald = EV_HERALD, tag_timer = EV_TIMER,
    tag_signal = EV_SIGNAL, tag_status = EV_STATUS, tag_wake = EV_WAKE;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static time_t
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
sockbuf(int fd)
{
	int size = RX_SOCKBUF;

	/* FORCE works as root and beyond rmem_max; else take what we get. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
	    sizeof(size)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
		    sizeof(size));
}

struct nd_receiver *
nd_receiver_create(struct nd_runtime *rt, int dumpdir_fd, nd_reload_fn reload,
    void *reload_arg, char *err, size_t errlen)
{
	const struct nd_conf *conf = rt->conf;
	struct nd_receiver *rx;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int on = 1;

	if ((rx = calloc(1, sizeof(*rx))) == NULL ||
	    (rx->bufs = malloc((size_t)RX_BATCH * RX_BUFSIZE)) == NULL ||
	    (rx->hbufs = malloc((size_t)HERALD_BATCH * RX_BUFSIZE)) == NULL) {
		snprintf(err, errlen, "out of memory");
		if (rx != NULL)
			free(rx->bufs);
		free(rx);
		return NULL;
	}
	rx->rt = rt;
	rx->conf = rt->conf;
	rx->sinks = rt->sinks;
	rx->reload = reload;
	rx->reload_arg = reload_arg;
	rx->dumpdir_fd = dumpdir_fd;
	rx->started = now_sec();
	rx->herald_fd = rx->timer_fd = rx->signal_fd = rx->ep = -1;
	rx->status_fd = rx->wake_fd = -1;
	{
		struct rlimit rl;

		rx->fd_limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 ?
		    rl.rlim_cur : 1024;
	}
	if (inet_pton(AF_INET, conf->server.address, &sin.sin_addr) != 1) {
		snprintf(err, errlen, "bad listen address '%s'",
		    conf->server.address);
		goto fail;
	}
	sin.sin_port = htons(conf->server.port);
	rx->herald_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (rx->herald_fd == -1 ||
	    setsockopt(rx->herald_fd, IPPROTO_IP, IP_PKTINFO, &on,
	    sizeof(on)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	sockbuf(rx->herald_fd);
	if (bind(rx->herald_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		snprintf(err, errlen, "cannot bind %s:%u: %s",
		    conf->server.address, conf->server.port, strerror(errno));
		goto fail;
	}
	if ((rx->status_fd = nd_status_listen(&conf->server, rx->status_path,
	    sizeof(rx->status_path), err, errlen)) == -1)
		goto fail;
	rx->next_id = 1;
	return rx;
fail:
	nd_receiver_free(rx);
	return NULL;
}

/*
 * The event loop's own fds, made in the process that runs it: a signalfd
 * added to epoll wakes it only for the process that added it, so this
 * comes after --daemon's forks.
 */
static int
events_setup(struct nd_receiver *rx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	sigset_t mask;

	rx->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	rx->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	rx->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	rx->ep = epoll_create1(EPOLL_CLOEXEC);
	if (rx->wake_fd == -1 || rx->timer_fd == -1 || rx->signal_fd == -1 ||
	    rx->ep == -1 || timerfd_settime(rx->timer_fd, 0, &its, NULL) ==
	    -1) {
		log_warn("event setup");
		return -1;
	}
	ev.data.ptr = &tag_herald;
	if (epoll_ctl(rx->ep, EPOLL_CTL_ADD, rx->herald_fd, &ev) == -1)
		goto fail;
	ev.data.ptr = &tag_timer;
	if (epoll_ctl(rx->ep, EPOLL_CTL_ADD, rx->timer_fd, &ev) == -1)
		goto fail;
	ev.data.ptr = &tag_signal;
	if (epoll_ctl(rx->ep, EPOLL_CTL_ADD, rx->signal_fd, &ev) == -1)
		goto fail;
	ev.data.ptr = &tag_wake;
	if (epoll_ctl(rx->ep, EPOLL_CTL_ADD, rx->wake_fd, &ev) == -1)
		goto fail;
	ev.data.ptr = &tag_status;
	if (epoll_ctl(rx->ep, EPOLL_CTL_ADD, rx->status_fd, &ev) == -1)
		goto fail;
	return 0;
fail:
	log_warn("epoll_ctl");
	return -1;
}

/*
 * Take the fd out of epoll before closing it: a hook being spawned may
 * hold a copy of it for a moment, and a registration that outlives the
 * close would report a freed session.
 */
static void
ep_forget(int ep, int fd)
{
	if (ep != -1 && fd != -1)
		(void)epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
}

static void
session_free(struct nd_receiver *rx, struct session *s)
{
	if (s->fd != -1) {
		ep_forget(rx->ep, s->fd);
		close(s->fd);
		rx->nfds--;
	}
	nd_runtime_unref(s->rt);
	free(s->herald);
	free(s);
}

void
nd_receiver_free(struct nd_receiver *rx)
{
	struct session *s, *next;
	struct pending *p;

	if (rx == NULL)
		return;
	for (s = rx->sessions; s != NULL; s = next) {
		next = s->next;
		session_free(rx, s);
	}
	for (s = rx->graveyard; s != NULL; s = next) {
		next = s->next;
		session_free(rx, s);
	}
	while ((p = rx->pendings) != NULL) {
		rx->pendings = p->next;
		ep_forget(rx->ep, p->proc.pidfd);
		nd_hook_kill(&p->proc, "still ran when the server stopped");
		free(p);
	}
	while ((p = rx->pending_graveyard) != NULL) {
		rx->pending_graveyard = p->next;
		free(p);
	}
	if (rx->herald_fd != -1)
		close(rx->herald_fd);
	if (rx->timer_fd != -1)
		close(rx->timer_fd);
	if (rx->signal_fd != -1)
		close(rx->signal_fd);
	if (rx->ep != -1)
		close(rx->ep);
	if (rx->wake_fd != -1)
		close(rx->wake_fd);
	if (rx->status_fd != -1) {
		close(rx->status_fd);
		(void)unlink(rx->status_path);
	}
	nd_runtime_unref(rx->rt);
	free(rx->bufs);
	free(rx->hbufs);
	free(rx);
}

static void
send_ack(int fd, uint32_t seqno)
{
	uint8_t ack[ND_ACK_SIZE];

	nd_ack_encode(ack, seqno);
	if (send(fd, ack, sizeof(ack), MSG_DONTWAIT) == -1)
		log_debug("ack %" PRIu32 ": %s", seqno, strerror(errno));
}

/*
 * Log what was dropped since the last time: at most once per TALLY_EVERY
 * seconds while a session lives (now = 0: at its end, whatever the time).
 */
static void
log_drops(struct drops *dr, const char *who, time_t now)
{
	bool any = false;
	int k;

	for (k = 0; k < DROP_NKINDS; k++)
		any = any || dr->n[k] != dr->logged[k];
	if (!any || (now != 0 && now - dr->last_log < TALLY_EVERY))
		return;
	dr->last_log = now;
	for (k = 0; k < DROP_NKINDS; k++) {
		if (dr->n[k] == dr->logged[k])
			continue;
		log_warnx("%s: dropped %" PRIu64 " %s (%" PRIu64 " in all)",
		    who, dr->n[k] - dr->logged[k], drop_names[k], dr->n[k]);
		dr->logged[k] = dr->n[k];
	}
}

/*
 * Close the dump: hand the held tail to the worker, cut where the KDH says
 * a kernel-compressed dump really ends, and let the worker judge the rest.
 * The session stays as a tombstone that still acks FINISHED.
 */
static void
session_end(struct session *s, const char *reason)
{
	struct nd_dump *d = s->dump;
	uint64_t limit = UINT64_MAX;
	struct nds_kdh kdh;

	if (s->state == S_HERALDED) {
		/* Counted, not logged one by one: a HERALD flood is like this. */
		s->state = S_ENDED;
		s->ended_at = now_sec();
		heralds_unanswered++;
		log_debug("client %s: no data after its HERALD (%s)", s->addr,
		    reason ? reason : "finished");
		return;
	}
	if (d == NULL)
		return;
	/*
	 * Cut a compressed dump's padding only where the KDH plausibly
	 * describes what arrived: a KDH that conflicts with another, or
	 * that ends the dump well before its data, cuts nothing.
	 */
	if (d->conflicts == 0 && nd_cov_contains(&d->kdh_cov, 0, ND_KDH_SIZE) &&
	    nd_kdh_parse(d->kdh_raw, ND_KDH_SIZE, &kdh) == ND_KDH_OK &&
	    kdh.compression != NDS_COMP_NONE &&
	    nd_cov_end(&d->cov) <= nd_kdh_data_end(kdh.dumplength))
		limit = kdh.dumplength;
	d->final_size = nd_asm_finish(&s->as, limit);
	if (reason != NULL)
		snprintf(d->end_reason, sizeof(d->end_reason), "%s", reason);
	/* Ownership of the dump passes to its worker here. */
	nd_dump_finish(d);
	s->dump = NULL;
	s->state = S_ENDED;
	s->ended_at = now_sec();
	log_drops(&s->drops, s->addr, 0);
}

static void
bury(struct nd_receiver *rx, struct session *s)
{
	struct session **pp;

	for (pp = &rx->sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	s->dead = true;
	s->next = rx->graveyard;
	rx->graveyard = s;
}

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
 */
static bool
small_object(struct nd_dump *d, const char *what, struct nd_coverage *cov,
    uint8_t *obj, const struct nd_msg *m)
{
	struct fill f = { obj, m->payload, m->offset, UINT64_MAX };
	uint64_t added;

	nd_cov_walk(cov, m->offset, m->offset + m->len, fill_gap, &f);
	if (f.conflict != UINT64_MAX)
		nd_dump_conflict(d, what, f.conflict);
	return nd_cov_add(cov, m->offset, m->offset + m->len, &added) == 0;
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
 * Keep a HERALD that reached a session socket for herald_deferred(), the
 * last one of a batch; not while the session is being drained for a
 * restart right now. False when it cannot be kept.
 */
static bool
herald_keep(struct session *s, const struct nd_msg *m)
{
	struct nd_msg *copy;

	if (s->draining || m->len > ND_MAX_HERALD_PATH + 1 ||
	    (copy = malloc(sizeof(*copy) + m->len)) == NULL)
		return false;
	*copy = *m;
	memcpy(copy + 1, m->payload, m->len);
	copy->payload = (const uint8_t *)(copy + 1);
	free(s->herald);
	s->herald = copy;
	return true;
}

/* Handle one well-formed message of a session; true means ack it. */
static bool
session_msg(struct nd_receiver *rx, struct session *s, const struct nd_msg *m)
{
	struct nd_dump *d = s->dump;
	enum nd_asm_result r;

	if (s->state == S_ENDED) {
		/* A lost FINISHED ack: the client asks again. */
		if (m->type == ND_MSG_FINISHED)
			return true;
		if (m->type == ND_MSG_HERALD && herald_keep(s, m))
			return false;
		s->drops.n[DROP_AFTER_END]++;
		return false;
	}
	if (s->state == S_HERALDED) {
		if (m->type == ND_MSG_HERALD)
			return true;	/* our ack was lost */
		if (m->type == ND_MSG_FINISHED) {
			/* Nothing came to store: no dump, no files. */
			session_end(s, NULL);
			return true;
		}
		if (!dump_begin(rx, s)) {
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
		if (!herald_keep(s, m))
			s->drops.n[DROP_UNEXPECTED]++;
		return false;
	case ND_MSG_VMCORE:
		if (atomic_load(&d->abandoned)) {
			/* No ack: the client stops, its dump is kept. */
			session_end(s, "the dump directory fell below min_free; "
			    "the dump was given up");
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
		r = nd_asm_data(&s->as, m->offset, m->payload, m->len);
		if (r == ND_ASM_BUSY) {
			s->drops.n[DROP_BUSY]++;
			return false;
		}
		if (r == ND_ASM_OVERFLOW) {
			char why[128];

			snprintf(why, sizeof(why), "the data arrived in more "
			    "than %u separate pieces; the dump was ended",
			    ND_COV_MAX_RANGES);
			log_warnx("dump %" PRIu64 " from %s: %s", s->id,
			    s->addr, why);
			session_end(s, why);
			return false;
		}
		if (r == ND_ASM_DUPLICATE)
			d->dup_packets++;
		break;
	case ND_MSG_KDH:
		if (m->offset > ND_KDH_SIZE ||
		    m->len > ND_KDH_SIZE - m->offset) {
			s->drops.n[DROP_KDH_RANGE]++;
			return false;
		}
		if (!small_object(d, "KDH", &d->kdh_cov, d->kdh_raw, m))
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
		if (!small_object(d, "key", &d->key_cov, d->key, m))
			return false;
		break;
	case ND_MSG_FINISHED:
		d->finished = true;
		session_end(s, NULL);
		return true;
	}
	s->got_data = true;
	return true;
}

/* Stop or resume reading a session's socket. */
static void
session_pause(struct nd_receiver *rx, struct session *s, bool pause)
{
	struct epoll_event ev = { .events = pause ? 0 : EPOLLIN,
	    .data.ptr = s };

	if (s->paused == pause)
		return;
	if (epoll_ctl(rx->ep, EPOLL_CTL_MOD, s->fd, &ev) == -1)
		log_warn("client %s: epoll_ctl", s->addr);
	s->paused = pause;
	if (!pause)
		s->last_rx = now_sec();	/* we kept the client waiting */
}

/* A worker freed a buffer: resume the sessions that waited for one. */
static void
wake(struct nd_receiver *rx)
{
	struct session *s;
	uint64_t n;

	(void)read(rx->wake_fd, &n, sizeof(n));
	for (s = rx->sessions; s != NULL; s = s->next)
		if (s->paused && (s->dump == NULL ||
		    !nd_dump_pool_empty(s->dump)))
			session_pause(rx, s, false);
}

/*
 * Read up to rounds batches from a session's socket and answer them, unless
 * its client restarted. True when the socket is empty; false when reading
 * stopped first (no buffer free: paused, or rounds used up).
 */
static bool
session_read(struct nd_receiver *rx, struct session *s, unsigned rounds)
{
	unsigned round;
	int n, i, nacks;

	for (round = 0; round < rounds && !s->dead; round++) {
		/*
		 * No buffer free: leave the datagrams in the socket buffer
		 * (unacked, so the client waits) instead of dropping them.
		 */
		if (s->dump != NULL && nd_dump_pool_empty(s->dump)) {
			session_pause(rx, s, true);
			return false;
		}
		for (i = 0; i < RX_BATCH; i++) {
			rx->iov[i].iov_base = rx->bufs + (size_t)i * RX_BUFSIZE;
			rx->iov[i].iov_len = RX_BUFSIZE;
			memset(&rx->msgs[i].msg_hdr, 0,
			    sizeof(rx->msgs[i].msg_hdr));
			rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
			rx->msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(s->fd, rx->msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EINTR &&
			    errno != ECONNREFUSED)
				log_warn("client %s: recvmmsg", s->addr);
			return n == 0 || errno != EINTR;
		}
		s->last_rx = now_sec();
		nacks = 0;
		for (i = 0; i < n; i++) {
			struct nd_msg m;
			enum nd_decode_result dr;

			if (rx->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				s->drops.n[DROP_BAD_LENGTH]++;
				continue;
			}
			dr = nd_msg_decode(rx->iov[i].iov_base,
			    rx->msgs[i].msg_len, &m);
			if (dr != ND_DECODE_OK) {
				s->drops.n[dr == ND_DECODE_RUNT ? DROP_RUNT :
				    dr == ND_DECODE_BAD_LENGTH ?
				    DROP_BAD_LENGTH : DROP_BAD_TYPE]++;
				continue;
			}
			/* Even a message held off shows the client alive. */
			if (m.type != ND_MSG_HERALD)
				s->last_data = s->last_rx;
			if (s->restarted) {
				if (session_msg(rx, s, &m))
					s->unanswered++;
				continue;
			}
			if (!session_msg(rx, s, &m))
				continue;
			nd_ack_encode(rx->acks[nacks], m.seqno);
			rx->aiov[nacks].iov_base = rx->acks[nacks];
			rx->aiov[nacks].iov_len = ND_ACK_SIZE;
			memset(&rx->amsgs[nacks].msg_hdr, 0,
			    sizeof(rx->amsgs[nacks].msg_hdr));
			rx->amsgs[nacks].msg_hdr.msg_iov = &rx->aiov[nacks];
			rx->amsgs[nacks].msg_hdr.msg_iovlen = 1;
			nacks++;
		}
		if (nacks > 0 &&
		    sendmmsg(s->fd, rx->amsgs, (unsigned)nacks, MSG_DONTWAIT) ==
		    -1)
			log_debug("client %s: sendmmsg: %s", s->addr,
			    strerror(errno));
		if (n < RX_BATCH)
			return true;
	}
	return false;
}

/*
 * The client of this session sent a new HERALD: it restarted, and what its
 * old self left in the socket belongs to the old dump. Read it now, without
 * an answer: the client learns the server's port from the first ack it
 * sees, whatever its seqno, and an ack in that window also sets a bit of
 * its call (sys/net/debugnet.c, debugnet_handle_ack), so an ack of old data
 * would teach the new self a wrong port or wedge its call. A worker behind
 * by a whole pool is waited for, a bounded while; what still finds no
 * buffer (logged as lost), and anything a session that ended left behind,
 * is dropped, so the next session can take the socket over clean.
 */
static void
session_drain(struct nd_receiver *rx, struct session *s)
{
	struct pollfd pfd = { .fd = rx->wake_fd, .events = POLLIN };
	uint64_t deadline = now_ms() + DRAIN_WAIT_MS, now, dropped = 0;
	uint64_t before = s->unanswered;	/* a HERALD may come again */
	uint8_t byte;

	s->restarted = s->draining = true;
	while (s->state == S_ACTIVE && !session_read(rx, s, UINT_MAX) &&
	    (now = now_ms()) < deadline)
		if (poll(&pfd, 1, (int)(deadline - now)) > 0)
			wake(rx);	/* resumes the other paused sessions too */
	s->draining = false;
	for (;;) {
		if (recv(s->fd, &byte, sizeof(byte), MSG_DONTWAIT | MSG_TRUNC) >=
		    0)
			dropped++;
		else if (errno != EINTR && errno != ECONNREFUSED)
			break;
	}
	if (s->unanswered > before)
		log_info("dump %" PRIu64 " from %s: took %" PRIu64 " messages "
		    "its client sent before it restarted, unanswered", s->id,
		    s->addr, s->unanswered - before);
	if (dropped > 0 && s->state == S_ACTIVE)
		log_warnx("dump %" PRIu64 " from %s: dropped %" PRIu64
		    " messages its client sent before it restarted: its sinks "
		    "freed no buffer within %d ms", s->id, s->addr, dropped,
		    DRAIN_WAIT_MS);
	else
		s->drops.n[DROP_AFTER_END] += dropped;
}

static struct session *
session_find(struct nd_receiver *rx, const struct sockaddr_in *from)
{
	struct session *s;

	for (s = rx->sessions; s != NULL; s = s->next)
		if (s->client.sin_addr.s_addr == from->sin_addr.s_addr &&
		    s->client.sin_port == from->sin_port)
			return s;
	return NULL;
}

/* A session with a dump in progress from this address, any port. */
static struct session *
session_of_addr(struct nd_receiver *rx, const struct sockaddr_in *from)
{
	struct session *s;

	for (s = rx->sessions; s != NULL; s = s->next)
		if (s->client.sin_addr.s_addr == from->sin_addr.s_addr &&
		    s->state == S_ACTIVE)
			return s;
	return NULL;
}

/*
 * The session socket: bound to the address the HERALD was sent to and an
 * ephemeral port, connected to the address and port the HERALD came from,
 * so the kernel filters out every datagram from anyone else. A kernel
 * always sends from 20024 (debugnet_udp_output uses dp_client_port), but
 * behind a NAT that rewrites ports (QEMU and VirtualBox user networking,
 * containers) the HERALD arrives from another port, and the acks must go
 * back there for the NAT to carry them to 20024.
 */
static int
session_socket(const struct sockaddr_in *client, struct in_addr local,
    uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	sockbuf(fd);
	sin.sin_addr = local;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto fail;
	sin.sin_addr = client->sin_addr;
	sin.sin_port = client->sin_port;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto fail;
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		goto fail;
	*port = ntohs(sin.sin_port);
	return fd;
fail:
	close(fd);
	return -1;
}

/* Turn a route's sink list into live chains; returns how many. */
static size_t
route_chains(struct nd_receiver *rx, const struct nd_route_conf *route,
    struct nd_chain **out, size_t max)
{
	size_t i, k, n = 0;

	for (i = 0; i < route->nsinks && n < max; i++) {
		struct nd_chain *c = nd_sinkset_chain(rx->sinks,
		    route->sinks[i]);
		bool alive = c != NULL;

		for (k = 0; alive && k < c->nstages; k++)
			alive = !atomic_load(&c->stages[k]->dead);
		if (alive)
			out[n++] = c;
	}
	return n;
}

/* The refusal slot of a client, or a free (or the oldest) one. */
static struct refusal *
refusal_slot(struct nd_receiver *rx, const struct sockaddr_in *from,
    bool create)
{
	struct refusal *r, *oldest = NULL;
	size_t i;

	/* The client's own slot; else the one least recently used. */
	for (i = 0; i < REFUSALS; i++) {
		r = &rx->refusals[i];
		if (r->addr == from->sin_addr.s_addr &&
		    r->port == from->sin_port)
			return r;
		if (oldest == NULL || r->until < oldest->until)
			oldest = r;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	oldest->addr = from->sin_addr.s_addr;
	oldest->port = from->sin_port;
	return oldest;
}

/* Say no to a client's HERALDs for a while (its retransmissions too). */
static void
refuse(struct nd_receiver *rx, const struct sockaddr_in *from, unsigned secs)
{
	struct refusal *r = refusal_slot(rx, from, true);

	r->until = now_sec() + (time_t)secs;
}

static bool
refused(struct nd_receiver *rx, const struct sockaddr_in *from)
{
	struct refusal *r = refusal_slot(rx, from, false);

	return r != NULL && r->until > now_sec();
}

/* Sessions of this address waiting for their first data ... */
static unsigned
heralded_of(struct nd_receiver *rx, const struct sockaddr_in *from)
{
	struct session *s;
	unsigned n = 0;

	struct pending *p;

	for (s = rx->sessions; s != NULL; s = s->next)
		n += s->state == S_HERALDED &&
		    s->client.sin_addr.s_addr == from->sin_addr.s_addr;
	/* ... or for a hook to decide (a HERALD each, from any port). */
	for (p = rx->pendings; p != NULL; p = p->next)
		n += p->proc.hook != ND_HOOK_START &&
		    p->client.sin_addr.s_addr == from->sin_addr.s_addr;
	return n;
}

/* Session sockets the descriptor limit leaves room for. */
static size_t
fd_budget(const struct nd_receiver *rx)
{
	const struct nd_server_conf *sv = &rx->conf->server;
	rlim_t reserve = FD_RESERVE + (rlim_t)FD_PER_DUMP *
	    sv->max_concurrent_dumps + 2 * (rlim_t)sv->max_hooks;

	if (rx->fd_limit == RLIM_INFINITY)
		return SIZE_MAX;
	return rx->fd_limit > reserve + 16 ? (size_t)(rx->fd_limit - reserve) :
	    16;
}

/* Close a session's socket now (it is being buried). */
static void
socket_close(struct nd_receiver *rx, struct session *s)
{
	if (s->fd == -1)
		return;
	ep_forget(rx->ep, s->fd);
	close(s->fd);
	s->fd = -1;
	rx->nfds--;
}

/*
 * Room for one more session socket within the budget: the oldest ended
 * session gives its socket up first (it only waits for a repeated
 * FINISHED), then the oldest HERALD-only one past HERALD_KEEP_MS.
 */
static bool
fd_room(struct nd_receiver *rx, const struct sockaddr_in *from)
{
	struct session *s, *ended = NULL, *heralded = NULL;
	uint64_t now = now_ms();

	if (rx->nfds < fd_budget(rx))
		return true;
	for (s = rx->sessions; s != NULL; s = s->next) {
		if (s->fd == -1)
			continue;
		if (s->state == S_ENDED && (ended == NULL ||
		    s->ended_at < ended->ended_at))
			ended = s;
		else if (s->state == S_HERALDED &&
		    now - s->heralded_ms >= HERALD_KEEP_MS &&
		    (heralded == NULL || s->heralded_ms < heralded->heralded_ms))
			heralded = s;
	}
	if ((s = ended != NULL ? ended : heralded) == NULL) {
		char addr[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
		nd_tally(&rx->tally, TALLY_FDS, from, "client %s: %zu session "
		    "sockets are open, all the descriptor limit leaves "
		    "(RLIMIT_NOFILE %llu); not answering", addr, rx->nfds,
		    (unsigned long long)rx->fd_limit);
		return false;
	}
	if (s == ended)
		nd_tally(&rx->tally, TALLY_RECLAIMED, &s->client, "dump %"
		    PRIu64 " from %s: its ended session was closed early to "
		    "free a file descriptor", s->id, s->addr);
	else
		rx->evicted++;
	socket_close(rx, s);
	bury(rx, s);
	return true;
}

/*
 * The first data of a HERALDED session: now the dump starts, if the
 * concurrency limit allows (if not, no ack: the client retransmits and
 * gets in when a dump ends).
 */
static bool
dump_begin(struct nd_receiver *rx, struct session *s)
{
	struct nd_dump_params p;

	if (atomic_load(&nd_dumps_active) >=
	    s->rt->conf->server.max_concurrent_dumps) {
		rx->refused_busy++;
		return false;
	}
	if (nd_dumps_of_client(s->client.sin_addr.s_addr) >=
	    s->rt->conf->server.max_dumps_per_client) {
		nd_tally(&rx->tally, TALLY_CLIENT_DUMPS, &s->client, "client "
		    "%s: %u dumps in flight (max_dumps_per_client); its data "
		    "waits", s->addr, s->rt->conf->server.max_dumps_per_client);
		return false;
	}
	p = (struct nd_dump_params){ .id = s->id, .client = &s->client,
	    .path = s->path, .route = s->route, .rt = s->rt,
	    .dumpdir = s->rt->conf->server.dumpdir,
	    .dumpdir_fd = rx->dumpdir_fd, .wake_fd = rx->wake_fd,
	    .chains = s->chains, .nchains = s->nchains };
	if ((s->dump = nd_dump_start(&p)) == NULL)
		return false;
	nd_asm_init(&s->as, s->dump);
	s->state = S_ACTIVE;
	s->started = true;
	s->last_progress = s->last_data = now_sec();
	logit(LOG_NOTICE, "dump %" PRIu64 " from %s:%u started: path '%s', "
	    "route '%s' (%zu chain%s), answering from port %u", s->id,
	    s->addr, ntohs(s->client.sin_port), s->path, s->route, s->nchains,
	    s->nchains == 1 ? "" : "s", s->port);
	/* Beside the dump, only once it has data: a HERALD alone is cheap. */
	(void)pending_start(rx, ND_HOOK_START, &s->client, s->local, s->path,
	    0, now_ms());
	return true;
}

/*
 * Room for one more session waiting for its first data. Past the cap the
 * oldest one goes (a flood of HERALDs, which never send data) but never
 * one younger than HERALD_KEEP_MS: an honest kernel's first data follows
 * its HERALD's answer within a round trip. If all are that young, the new
 * HERALD is not answered; its kernel asks again a second later.
 */
static bool
heralded_room(struct nd_receiver *rx)
{
	struct session *s, *oldest = NULL;
	uint64_t now = now_ms();
	size_t n = 0;

	for (s = rx->sessions; s != NULL; s = s->next)
		if (s->state == S_HERALDED) {
			n++;
			if (oldest == NULL ||
			    s->heralded_ms < oldest->heralded_ms)
				oldest = s;
		}
	if (n < MAX_HERALDED)
		return true;
	if (oldest == NULL || now - oldest->heralded_ms < HERALD_KEEP_MS) {
		rx->flood_refused++;
		return false;
	}
	rx->evicted++;
	socket_close(rx, oldest);
	bury(rx, oldest);
	return true;
}

/*
 * A client that restarted is answered from the port of its last session:
 * an ack of its old self's data may have reached it before ours, and it
 * keeps the port of the first ack it sees. The old session was drained,
 * so nothing of the old dump is left in the socket.
 */
static bool
socket_inherit(struct nd_receiver *rx, struct session *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	struct session *old = session_find(rx, &s->client);

	if (old == NULL || !old->restarted || old->fd == -1 ||
	    old->local.s_addr != s->local.s_addr)
		return false;
	if (epoll_ctl(rx->ep, EPOLL_CTL_MOD, old->fd, &ev) == -1) {
		log_warn("client %s: epoll_ctl", s->addr);
		return false;
	}
	s->fd = old->fd;
	s->port = old->port;
	old->fd = -1;
	bury(rx, old);
	return true;
}

static bool
socket_open(struct nd_receiver *rx, struct session *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	if ((s->fd = session_socket(&s->client, s->local, &s->port)) == -1) {
		log_warn("client %s: cannot open a session socket", s->addr);
		return false;
	}
	rx->nfds++;
	if (epoll_ctl(rx->ep, EPOLL_CTL_ADD, s->fd, &ev) == -1) {
		log_warn("client %s: epoll_ctl", s->addr);
		return false;
	}
	return true;
}

static void
session_start(struct nd_receiver *rx, const struct sockaddr_in *from,
    struct in_addr local, const char *path, uint32_t seqno)
{
	const struct nd_route_conf *route;
	struct session *s;
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
	route = nd_conf_route_match(rx->conf, path,
	    ntohl(from->sin_addr.s_addr));
	if (route == NULL) {
		log_warnx("client %s: no route matches path '%s'; not "
		    "answering", addr, path);
		return;
	}
	if (!heralded_room(rx))
		return;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warnx("client %s: out of memory", addr);
		return;
	}
	s->nchains = route_chains(rx, route, s->chains, MAX_CHAINS);
	if (s->nchains == 0) {
		log_warnx("client %s: route '%s' has no working sink; not "
		    "answering", addr, route->name);
		free(s);
		return;
	}
	s->kind = EV_SESSION;
	s->state = S_HERALDED;
	s->fd = -1;
	s->client = *from;
	s->local = local;
	s->route = route->name;
	snprintf(s->path, sizeof(s->path), "%s", path);
	memcpy(s->addr, addr, sizeof(addr));
	s->rt = rx->rt;
	nd_runtime_ref(s->rt);
	if (!socket_inherit(rx, s) && (!fd_room(rx, from) ||
	    !socket_open(rx, s))) {
		session_free(rx, s);
		return;
	}
	s->id = rx->next_id++;
	s->last_rx = now_sec();
	s->heralded_ms = now_ms();
	s->next = rx->sessions;
	rx->sessions = s;
	/* The notice comes with the first data: a HERALD alone is cheap. */
	log_debug("client %s:%u: HERALD answered from port %u, path '%s', "
	    "route '%s' (%s%s)", addr, ntohs(from->sin_port), s->port, path,
	    route->name, route->sink,
	    s->nchains < route->nsinks ? ", some sinks unavailable" : "");
	send_ack(s->fd, seqno);
}

/* The hook a HERALD from this client waits for (or, late, waited for). */
static struct pending *
pending_find(struct nd_receiver *rx, const struct sockaddr_in *from,
    bool late)
{
	struct pending *p;

	/* netdump-start runs beside the dump and holds nothing up. */
	for (p = rx->pendings; p != NULL; p = p->next)
		if (p->proc.hook != ND_HOOK_START && p->late == late &&
		    p->client.sin_addr.s_addr == from->sin_addr.s_addr &&
		    p->client.sin_port == from->sin_port)
			return p;
	return NULL;
}

/*
 * Start a hook that the HERALD waits for; 1 when it runs, 0 when absent,
 * -1 when it could not start (the dump is refused then).
 */
static int
pending_start(struct nd_receiver *rx, enum nd_hook hook,
    const struct sockaddr_in *from, struct in_addr local, const char *path,
    uint32_t seqno, uint64_t herald_ms)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct pending *p;
	char addr[INET_ADDRSTRLEN], dir[PATH_MAX + 8], envdir[PATH_MAX + 24];
	char envpath[ND_MAX_HERALD_PATH + 16], envaddr[32];
	const char *args[3] = { addr, dir, NULL };
	const char *env[4] = { envaddr, envdir, envpath, NULL };
	int r;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
	snprintf(dir, sizeof(dir), "%s/%s", rx->conf->server.dumpdir, path);
	snprintf(envaddr, sizeof(envaddr), "NETDUMP_CLIENT=%s", addr);
	snprintf(envdir, sizeof(envdir), "NETDUMP_DIR=%s", dir);
	snprintf(envpath, sizeof(envpath), "NETDUMP_PATH=%s", path);
	if (hook == ND_HOOK_START)
		args[1] = NULL;
	r = nd_hook_start(&rx->conf->server, hook, args, env, &p->proc);
	if (r <= 0) {
		free(p);
		return r;
	}
	p->kind = EV_HOOK;
	p->client = *from;
	p->local = local;
	p->seqno = seqno;
	p->started = now_sec();
	p->herald_ms = herald_ms;
	snprintf(p->path, sizeof(p->path), "%s", path);
	ev.data.ptr = p;
	if (epoll_ctl(rx->ep, EPOLL_CTL_ADD, p->proc.pidfd, &ev) == -1) {
		log_warn("%s: epoll_ctl", nd_hook_name(hook));
		nd_hook_kill(&p->proc, "cannot be watched");
		free(p);
		return -1;
	}
	p->next = rx->pendings;
	rx->pendings = p;
	return 1;
}

static void
pending_bury(struct nd_receiver *rx, struct pending *p)
{
	struct pending **pp;

	for (pp = &rx->pendings; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->dead = true;
	p->next = rx->pending_graveyard;
	rx->pending_graveyard = p;
}

/* Whether a route with a working sink takes this HERALD (logged if not). */
static bool
route_ok(struct nd_receiver *rx, const struct sockaddr_in *from,
    const char *path)
{
	const struct nd_route_conf *route;
	struct nd_chain *chains[MAX_CHAINS];
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
	route = nd_conf_route_match(rx->conf, path,
	    ntohl(from->sin_addr.s_addr));
	if (route == NULL) {
		nd_tally(&rx->tally, TALLY_NO_ROUTE, from, "client %s: no "
		    "route matches path '%s'; not answering", addr, path);
		return false;
	}
	if (route_chains(rx, route, chains, MAX_CHAINS) == 0) {
		nd_tally(&rx->tally, TALLY_NO_SINK, from, "client %s: route "
		    "'%s' has no working sink; not answering", addr,
		    route->name);
		return false;
	}
	return true;
}

/* Whether the kernel behind this HERALD has stopped waiting for hooks. */
static bool
herald_deadline_passed(const struct nd_receiver *rx, uint64_t herald_ms)
{
	return now_ms() - herald_ms >=
	    (uint64_t)rx->conf->server.herald_hook_deadline * 1000;
}

/*
 * A hook the HERALD waits for stops counting: the dump goes on (or is
 * refused for space) without its answer, and it runs on to hook_timeout
 * beside the dump, as netdump-start does.
 */
static void
pending_late(struct nd_receiver *rx, struct pending *p)
{
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &p->client.sin_addr, addr, sizeof(addr));
	p->late = true;
	log_warnx("client %s: %s did not answer within herald_hook_deadline "
	    "(%u s), and a kernel gives up on its HERALD at about 12 s; "
	    "going on without its answer (it may run to hook_timeout)",
	    addr, nd_hook_name(p->proc.hook),
	    rx->conf->server.herald_hook_deadline);
}

/*
 * The steps between a HERALD and its dump, each of which may say no by not
 * answering: free space (with netdump-nospace), then netdump-crash. done
 * holds the ADMIT_ steps already taken. Each hook has until
 * herald_hook_deadline after the HERALD; past it, pending_late.
 */
static void
herald_admit(struct nd_receiver *rx, const struct sockaddr_in *from,
    struct in_addr local, const char *path, uint32_t seqno,
    uint64_t herald_ms, unsigned done)
{
	const struct nd_server_conf *sv = &rx->conf->server;
	char addr[INET_ADDRSTRLEN];
	const char *floor;
	uint64_t avail, need;
	int r;

	inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
	/* Nothing runs for a HERALD that no route takes. */
	if (!route_ok(rx, from, path))
		return;
	if (!(done & ADMIT_CRASH_DONE) &&
	    !nd_space_ok(sv, &avail, &need, &floor)) {
		log_warnx("client %s: %" PRIu64 " bytes free in %s, below "
		    "%s (%" PRIu64 ")%s", addr, avail, sv->dumpdir, floor, need,
		    done & ADMIT_SPACE_ASKED ? "; giving up the dump" : "");
		r = done & ADMIT_SPACE_ASKED ? 0 : pending_start(rx,
		    ND_HOOK_NOSPACE, from, local, path, seqno, herald_ms);
		if (r == 1 || r == -2)	/* -2: no room to run it; ask again */
			return;
		refuse(rx, from, 60);
		return;
	}
	if (!(done & ADMIT_CRASH_DONE)) {
		r = pending_start(rx, ND_HOOK_CRASH, from, local, path, seqno,
		    herald_ms);
		if (r == -1) {
			refuse(rx, from, 60);
			return;
		}
		/* Waiting for it (or for room to run it) is over at the deadline. */
		if ((r == 1 || r == -2) && !herald_deadline_passed(rx, herald_ms))
			return;
		if (r == 1)	/* pending_start put it first */
			pending_late(rx, rx->pendings);
		else if (r == -2)
			log_warnx("client %s: max_hooks hooks run, and the "
			    "HERALD's deadline has passed; going on without "
			    "netdump-crash", addr);
	}
	session_start(rx, from, local, path, seqno);
}

static void
pending_done(struct nd_receiver *rx, struct pending *p, bool killed)
{
	char addr[INET_ADDRSTRLEN];
	int status;

	if (!killed) {
		ep_forget(rx->ep, p->proc.pidfd);
		status = nd_hook_reap(&p->proc);
	} else
		status = -1;
	inet_ntop(AF_INET, &p->client.sin_addr, addr, sizeof(addr));
	pending_bury(rx, p);
	if (rx->stopping)
		return;
	if (p->late) {
		if (p->proc.hook != ND_HOOK_START)
			log_info("client %s: %s answered %d after the "
			    "deadline; the answer is not used", addr,
			    nd_hook_name(p->proc.hook), status);
		return;
	}
	switch (p->proc.hook) {
	case ND_HOOK_CRASH:
		if (status != 0) {
			log_warnx("client %s: netdump-crash said no (status "
			    "%d); refusing the dump", addr, status);
			refuse(rx, &p->client, 60);
			return;
		}
		herald_admit(rx, &p->client, p->local, p->path, p->seqno,
		    p->herald_ms, ADMIT_SPACE_ASKED | ADMIT_CRASH_DONE);
		break;
	case ND_HOOK_NOSPACE:
		/* Non-zero: space was made, look once more; zero: give up. */
		if (status == 0) {
			log_warnx("client %s: netdump-nospace gave the dump up",
			    addr);
			refuse(rx, &p->client, 60);
			return;
		}
		herald_admit(rx, &p->client, p->local, p->path, p->seqno,
		    p->herald_ms, ADMIT_SPACE_ASKED);
		break;
	default:
		break;
	}
}

/*
 * A hook the HERALD still waits for at its deadline: netdump-crash is
 * taken as a yes, netdump-nospace as "look once more".
 */
static void
pending_expire(struct nd_receiver *rx, struct pending *p)
{
	pending_late(rx, p);
	herald_admit(rx, &p->client, p->local, p->path, p->seqno,
	    p->herald_ms, p->proc.hook == ND_HOOK_CRASH ?
	    ADMIT_SPACE_ASKED | ADMIT_CRASH_DONE : ADMIT_SPACE_ASKED);
}

static void
herald(struct nd_receiver *rx, const struct sockaddr_in *from,
    struct in_addr local, const struct nd_msg *m)
{
	const struct nd_server_conf *sv = &rx->conf->server;
	struct session *old, *other;
	struct pending *p;
	char addr[INET_ADDRSTRLEN], path[ND_MAX_HERALD_PATH + 1];
	const char *why;

	inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
	if (!nd_conf_client_allowed(sv, ntohl(from->sin_addr.s_addr))) {
		nd_tally(&rx->tally, TALLY_NOT_ALLOWED, from, "client %s: not "
		    "allowed to dump (allow, deny, secure); not answering",
		    addr);
		return;
	}
	old = session_find(rx, from);
	if (old == NULL && (other = session_of_addr(rx, from)) != NULL) {
		/*
		 * A kernel heralds from port 20024 only: a HERALD from another
		 * port of an address that is dumping is spoofed or stray, and
		 * must not take a second dump slot or disturb the first.
		 */
		nd_tally(&rx->tally, TALLY_OTHER_PORT, from, "client %s:%u: "
		    "HERALD while dump %" PRIu64 " from port %u is in "
		    "progress; ignored", addr, ntohs(from->sin_port),
		    other->id, ntohs(other->client.sin_port));
		return;
	}
	if (old != NULL && old->state != S_ENDED && !old->got_data) {
		/* The client missed our ack: answer from the same port. */
		send_ack(old->fd, m->seqno);
		return;
	}
	if (pending_find(rx, from, false) != NULL || refused(rx, from))
		return;
	if (old == NULL && (p = pending_find(rx, from, true)) != NULL) {
		/*
		 * The HERALD a late hook held up went on without it but
		 * found no place then (a flood, no descriptor): try again,
		 * on the first HERALD's clock and with no hook this time.
		 */
		herald_admit(rx, from, local, p->path, m->seqno, p->herald_ms,
		    ADMIT_SPACE_ASKED | ADMIT_CRASH_DONE);
		return;
	}
	if (old != NULL && old->state == S_ACTIVE) {
		/*
		 * The client's address and port are public, so a HERALD
		 * from them proves nothing. A live kernel resends an
		 * unanswered batch every second, so only a dump silent for
		 * restart_silence has lost its kernel; a kernel that restarts
		 * resends its HERALD for about 12 s and gets in then.
		 */
		time_t silent = old->paused ? 0 : now_sec() - old->last_data;

		if (silent < (time_t)sv->restart_silence) {
			nd_tally(&rx->tally, TALLY_ALIVE, from, "dump %"
			    PRIu64 " from %s: a new HERALD while the dump is "
			    "alive (last data %lld s ago, restart_silence "
			    "= %u); not answering", old->id, addr,
			    (long long)silent, sv->restart_silence);
			return;
		}
		log_warnx("dump %" PRIu64 " from %s: a new HERALD after %lld s "
		    "of silence: the client restarted its dump", old->id, addr,
		    (long long)silent);
	}
	if (old != NULL) {
		session_drain(rx, old);
		if (old->state == S_ACTIVE)
			session_end(old, "the client sent a new HERALD and "
			    "started over");
	}
	if (rx->stopping)
		return;
	if (m->len == 0)
		snprintf(path, sizeof(path), "%s", sv->default_path);
	else if ((why = nd_herald_path_check(m->payload, m->len, path,
	    sizeof(path))) != NULL) {
		nd_tally(&rx->tally, TALLY_PATH, from, "client %s: HERALD "
		    "path refused (%s); using the default path '%s'", addr,
		    why, sv->default_path);
		snprintf(path, sizeof(path), "%s", sv->default_path);
	}
	if (atomic_load(&nd_dumps_active) >= sv->max_concurrent_dumps) {
		rx->refused_busy++;
		return;
	}
	if (nd_dumps_of_client(from->sin_addr.s_addr) >=
	    sv->max_dumps_per_client) {
		nd_tally(&rx->tally, TALLY_CLIENT_DUMPS, from, "client %s: %u "
		    "dumps in flight (max_dumps_per_client); not answering",
		    addr, sv->max_dumps_per_client);
		return;
	}
	if (heralded_of(rx, from) >= sv->max_heralded_per_client) {
		nd_tally(&rx->tally, TALLY_CLIENT_HERALDED, from, "client %s: "
		    "%u sessions wait for their first data "
		    "(max_heralded_per_client); not answering", addr,
		    sv->max_heralded_per_client);
		return;
	}
	herald_admit(rx, from, local, path, m->seqno, now_ms(), 0);
}

/* A HERALD kept by herald_keep(), taken as if it came to the herald port. */
static void
herald_deferred(struct nd_receiver *rx, struct session *s)
{
	struct {
		struct nd_msg	m;
		uint8_t		path[ND_MAX_HERALD_PATH + 1];
	} h;

	/* Copied out first: answering it may bury s. */
	h.m = *s->herald;
	memcpy(h.path, s->herald->payload, h.m.len);
	h.m.payload = h.path;
	free(s->herald);
	s->herald = NULL;
	herald(rx, &s->client, s->local, &h.m);
}

static void
herald_readable(struct nd_receiver *rx)
{
	int n, i;

	for (i = 0; i < HERALD_BATCH; i++) {
		rx->hiov[i].iov_base = rx->hbufs + (size_t)i * RX_BUFSIZE;
		rx->hiov[i].iov_len = RX_BUFSIZE;
		memset(&rx->hmsgs[i].msg_hdr, 0, sizeof(rx->hmsgs[i].msg_hdr));
		rx->hmsgs[i].msg_hdr.msg_name = &rx->from[i];
		rx->hmsgs[i].msg_hdr.msg_namelen = sizeof(rx->from[i]);
		rx->hmsgs[i].msg_hdr.msg_iov = &rx->hiov[i];
		rx->hmsgs[i].msg_hdr.msg_iovlen = 1;
		rx->hmsgs[i].msg_hdr.msg_control = rx->cmsg[i];
		rx->hmsgs[i].msg_hdr.msg_controllen = sizeof(rx->cmsg[i]);
	}
	n = recvmmsg(rx->herald_fd, rx->hmsgs, HERALD_BATCH, MSG_DONTWAIT, NULL);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("herald socket: recvmmsg");
		return;
	}
	for (i = 0; i < n; i++) {
		struct msghdr *mh = &rx->hmsgs[i].msg_hdr;
		struct in_addr local = { .s_addr = INADDR_ANY };
		struct cmsghdr *c;
		struct nd_msg m;
		enum nd_decode_result dr;

		if (mh->msg_flags & MSG_TRUNC) {
			rx->herald_drops.n[DROP_BAD_LENGTH]++;
			continue;
		}
		dr = nd_msg_decode(rx->hiov[i].iov_base, rx->hmsgs[i].msg_len,
		    &m);
		if (dr != ND_DECODE_OK) {
			rx->herald_drops.n[dr == ND_DECODE_RUNT ? DROP_RUNT :
			    dr == ND_DECODE_BAD_LENGTH ? DROP_BAD_LENGTH :
			    DROP_BAD_TYPE]++;
			continue;
		}
		if (m.type != ND_MSG_HERALD) {
			rx->herald_drops.n[DROP_UNEXPECTED]++;
			continue;
		}
		for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c))
			if (c->cmsg_level == IPPROTO_IP &&
			    c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				local = pi.ipi_spec_dst;
			}
		herald(rx, &rx->from[i], local, &m);
	}
}

static void
tick(struct nd_receiver *rx)
{
	struct session *s, *next;
	struct pending *p, *pnext;
	time_t now = now_sec();
	unsigned timeout = rx->conf->server.timeout;
	char why[96];

	for (s = rx->sessions; s != NULL; s = next) {
		next = s->next;
		/* An ended dump still answers a repeated FINISHED. */
		if (s->state == S_ENDED && s->paused)
			session_pause(rx, s, false);
		if (s->state != S_ENDED && now - s->last_rx >= (time_t)timeout) {
			snprintf(why, sizeof(why), "the client fell silent for "
			    "%u s (timeout)", timeout);
			log_warnx("dump %" PRIu64 " from %s: %s", s->id, s->addr,
			    why);
			session_end(s, why);
		} else if (s->dump != NULL &&
		    now - s->last_progress >= PROGRESS_EVERY) {
			const struct nd_dump *d = s->dump;

			s->last_progress = now;
			log_info("dump %" PRIu64 " from %s: %" PRIu64 " MiB "
			    "received so far", s->id, s->addr,
			    d->cov.total >> 20);
		}
		/* Without a dump there is no FINISHED to answer again. */
		if (s->state == S_ENDED && (!s->started ||
		    now - s->ended_at >= (time_t)rx->conf->server.grace))
			bury(rx, s);
		else
			log_drops(&s->drops, s->addr, now);
	}
	for (p = rx->pendings; p != NULL; p = pnext) {
		pnext = p->next;
		if (now - p->started >= (time_t)rx->conf->server.hook_timeout) {
			ep_forget(rx->ep, p->proc.pidfd);
			nd_hook_kill(&p->proc, "ran past hook_timeout");
			pending_done(rx, p, true);
		} else if (!p->late && p->proc.hook != ND_HOOK_START &&
		    herald_deadline_passed(rx, p->herald_ms))
			pending_expire(rx, p);
	}
	log_drops(&rx->herald_drops, "herald socket", now);
	nd_tally_log(&rx->tally, now);
	if (rx->refused_busy != rx->refused_logged) {
		log_warnx("refused %" PRIu64 " HERALDs: %u dumps are running "
		    "(max_concurrent_dumps)", rx->refused_busy -
		    rx->refused_logged, rx->conf->server.max_concurrent_dumps);
		rx->refused_logged = rx->refused_busy;
	}
	if (rx->flood_refused != rx->flood_logged) {
		log_warnx("did not answer %" PRIu64 " HERALDs: %d sessions wait "
		    "for their first data (a flood of HERALDs?)",
		    rx->flood_refused - rx->flood_logged, MAX_HERALDED);
		rx->flood_logged = rx->flood_refused;
	}
	if (heralds_unanswered != rx->silent_logged) {
		log_warnx("%" PRIu64 " clients sent a HERALD and then nothing "
		    "(timeout)", heralds_unanswered - rx->silent_logged);
		rx->silent_logged = heralds_unanswered;
	}
	if (rx->evicted != rx->evicted_logged) {
		log_warnx("dropped %" PRIu64 " sessions that sent a HERALD but "
		    "no data (more than %d waiting: a flood of HERALDs?)",
		    rx->evicted - rx->evicted_logged, MAX_HERALDED);
		rx->evicted_logged = rx->evicted;
	}
}

/* Copy what was bound or opened at start into a reloaded configuration. */
static int
keep_bound(struct nd_server_conf *n, const struct nd_server_conf *o)
{
	char *addr, *dir, *rundir, *user = NULL, *sock = NULL;

	addr = strdup(o->address);
	dir = strdup(o->dumpdir);
	rundir = strdup(o->runtime_dir);
	if (o->user != NULL)
		user = strdup(o->user);
	if (o->status_socket != NULL)
		sock = strdup(o->status_socket);
	if (addr == NULL || dir == NULL || rundir == NULL ||
	    (o->user && user == NULL) || (o->status_socket && sock == NULL)) {
		free(addr);
		free(dir);
		free(rundir);
		free(user);
		free(sock);
		return -1;
	}
	free(n->address);
	free(n->dumpdir);
	free(n->runtime_dir);
	free(n->user);
	free(n->status_socket);
	n->address = addr;
	n->dumpdir = dir;
	n->runtime_dir = rundir;
	n->user = user;
	n->status_socket = sock;
	n->port = o->port;
	return 0;
}

/*
 * SIGHUP: a new configuration and new sinks for new dumps; dumps in
 * flight keep theirs. A bad file changes nothing. What is bound or opened
 * at start (address, port, dump directory, user, pid file, status socket
 * and runtime_dir)
 * needs a restart.
 */
static void
reload(struct nd_receiver *rx)
{
	const struct nd_server_conf *o = &rx->conf->server, *n;
	struct nd_runtime *rt;
	char err[ND_CONF_ERRSIZE];

	if (rx->reload == NULL)
		return;
	if ((rt = rx->reload(rx->reload_arg, err, sizeof(err))) == NULL) {
		log_warnx("SIGHUP: the new configuration is refused, the old "
		    "one stays: %s", err);
		return;
	}
	n = &rt->conf->server;
	if (strcmp(o->address, n->address) != 0 || o->port != n->port ||
	    strcmp(o->dumpdir, n->dumpdir) != 0 ||
	    (o->user == NULL) != (n->user == NULL) ||
	    (o->user && strcmp(o->user, n->user) != 0) ||
	    (o->status_socket == NULL) != (n->status_socket == NULL) ||
	    (o->status_socket && strcmp(o->status_socket,
	    n->status_socket) != 0)) {
		log_warnx("SIGHUP: address, port, dumpdir, user and "
		    "status_socket take effect only after a restart; the "
		    "running values stay");
		if (keep_bound(&rt->conf->server, o) == -1) {
			log_warnx("SIGHUP: out of memory; the old configuration "
			    "stays");
			nd_runtime_unref(rt);
			return;
		}
	}
	nd_runtime_unref(rx->rt);
	rx->rt = rt;
	rx->conf = rt->conf;
	rx->sinks = rt->sinks;
	log_info("SIGHUP: configuration reloaded from %s (%zu routes, %zu "
	    "sinks)", rt->conf->source, rt->conf->nroutes,
	    rt->conf->nsinks);
}

static void
human_bytes(uint64_t v, char *buf, size_t size)
{
	if (v >= (1ull << 30))
		snprintf(buf, size, "%.1f GiB", (double)v / (1ull << 30));
	else if (v >= (1ull << 20))
		snprintf(buf, size, "%.1f MiB", (double)v / (1ull << 20));
	else
		snprintf(buf, size, "%" PRIu64 " B", v);
}

/* One report per connection; a client that does not read loses it. */
static void
status_serve(struct nd_receiver *rx)
{
	struct nd_outcome recent[ND_RECENT];
	struct nd_buf b = { 0 };
	struct session *s;
	time_t now = now_sec();
	size_t i, n, active = 0;
	int fd;

	if ((fd = accept4(rx->status_fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return;
	for (s = rx->sessions; s != NULL; s = s->next)
		active += s->dump != NULL;
	nd_buf_printf(&b, "netdump-server %s, pid %ld, up %lld s, "
	    "configuration %s\n", ND_VERSION, (long)getpid(),
	    (long long)(now - rx->started), rx->conf->source);
	nd_buf_printf(&b, "listening on %s:%u, dumps in %s\n",
	    rx->conf->server.address, rx->conf->server.port,
	    rx->conf->server.dumpdir);
	nd_buf_printf(&b, "\ndumps in flight: %zu (max %u)\n", active,
	    rx->conf->server.max_concurrent_dumps);
	if (active > 0)
		nd_buf_printf(&b, "  %-5s %-21s %-16s %11s %11s %7s\n", "ID",
		    "CLIENT", "PATH", "BYTES", "RATE", "AGE");
	for (s = rx->sessions; s != NULL; s = s->next) {
		struct timespec nowts;
		char client[32], bytes[32], rate[32];
		double age;

		if (s->dump == NULL)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &nowts);
		age = ts_diff(&nowts, &s->dump->start_mono);
		snprintf(client, sizeof(client), "%s:%u", s->addr,
		    ntohs(s->client.sin_port));
		human_bytes(s->dump->cov.total, bytes, sizeof(bytes));
		snprintf(rate, sizeof(rate), "%.1f MB/s", age > 0 ?
		    (double)s->dump->cov.total / age / 1e6 : 0.0);
		nd_buf_printf(&b, "  %-5" PRIu64 " %-21s %-16.16s %11s %11s "
		    "%6.0fs\n", s->id, client, s->dump->path, bytes, rate, age);
	}
	n = nd_outcome_recent(recent);
	nd_buf_printf(&b, "\nrecent outcomes: %zu\n", n);
	for (i = 0; i < n; i++) {
		char bytes[32];

		human_bytes(recent[i].bytes, bytes, sizeof(bytes));
		nd_buf_printf(&b, "  %-5" PRIu64 " %-15s %-10s %11s %7.1fs  %s"
		    "%s%s%s\n", recent[i].id, recent[i].client,
		    recent[i].status, bytes, recent[i].seconds, recent[i].where,
		    recent[i].reason[0] ? " (" : "", recent[i].reason,
		    recent[i].reason[0] ? ")" : "");
	}
	if (!b.failed)
		(void)send(fd, b.s, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	free(b.s);
	close(fd);
}

static void
stop(struct nd_receiver *rx)
{
	struct session *s;

	rx->stopping = true;
	for (s = rx->sessions; s != NULL; s = s->next)
		if (s->state != S_ENDED)
			session_end(s, "the server was shut down");
}

int
nd_receiver_run(struct nd_receiver *rx)
{
	struct epoll_event evs[64];
	struct session *s;
	struct pending *p;
	int n, i;

	if (events_setup(rx) == -1)
		return 1;
	while (!rx->stopping) {
		n = epoll_wait(rx->ep, evs, 64, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			enum ev_kind kind = *(enum ev_kind *)tag;

			if (kind == EV_HOOK) {
				if (!((struct pending *)tag)->dead)
					pending_done(rx, tag, false);
			} else if (tag == &tag_herald)
				herald_readable(rx);
			else if (tag == &tag_timer) {
				uint64_t ticks;

				(void)read(rx->timer_fd, &ticks, sizeof(ticks));
				tick(rx);
			} else if (tag == &tag_signal) {
				struct signalfd_siginfo si;

				if (read(rx->signal_fd, &si, sizeof(si)) !=
				    sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP)
					reload(rx);
				else {
					log_info("signal %u: closing open dumps "
					    "and exiting", si.ssi_signo);
					stop(rx);
				}
			} else if (tag == &tag_status)
				status_serve(rx);
			else if (tag == &tag_wake)
				wake(rx);
			else if (!((struct session *)tag)->dead) {
				s = tag;
				(void)session_read(rx, s, 8);
				if (s->herald != NULL && !s->dead)
					herald_deferred(rx, s);
			}
		}
		/* Free only now: the event batch may still name them. */
		while ((s = rx->graveyard) != NULL) {
			rx->graveyard = s->next;
			session_free(rx, s);
		}
		while ((p = rx->pending_graveyard) != NULL) {
			rx->pending_graveyard = p->next;
			free(p);
		}
	}
	nd_dump_wait_all();
	return 0;
}
