/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The receive thread: the event loop, the herald socket's setup, each
 * session's socket (reading, acks, pausing, draining), the end of
 * sessions, timeouts, SIGHUP and the status socket. What each message of
 * a session does is session_msg.c's; whether a HERALD is answered and a
 * dump may start, admission.c's.
 */
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
#include "log.h"
#include "notify.h"
#include "proto.h"
#include "receiver.h"
#include "receiver_int.h"
#include "status.h"
#include "tally.h"
#include "util.h"

#define RX_SOCKBUF	(8 << 20)
#define DRAIN_WAIT_MS	1000		/* for a buffer, reading a restart's rest */
/*
 * What a restart's drain reads at most: more datagrams than the socket
 * buffer holds (each costs it far more than 256 bytes), so that a flood
 * at line rate onto the old socket cannot hold the one receive thread.
 */
#define DRAIN_MAX	(RX_SOCKBUF / 256)
#define DRAIN_STEP	16		/* batches between looks at the time */
static const char *const drop_names[DROP_NKINDS] = {
	[DROP_RUNT] = "runt datagrams",
	[DROP_BAD_LENGTH] = "datagrams whose length is not 24 + mh_len",
	[DROP_BAD_TYPE] = "unknown message types",
	[DROP_BEYOND_MAX] = "data beyond max_dump_size",
	[DROP_TOO_FAR] = "data too far beyond what had arrived",
	[DROP_FAR_JUMP] = "data far ahead of the stream while the client sent",
	[DROP_KDH_RANGE] = "KDH bytes beyond 512",
	[DROP_KEY_RANGE] = "key bytes beyond the key size limit",
	[DROP_BUSY] = "messages held off (sinks behind, or dump limit)",
	[DROP_AFTER_END] = "messages after the dump ended",
	[DROP_UNEXPECTED] = "unexpected messages",
};

/* Sessions that ended with a HERALD and no data, for a summary line. */
static uint64_t heralds_unanswered;

/* Tags for the fds that are not sessions or hooks. */
static enum ev_kind tag_herald = EV_HERALD, tag_timer = EV_TIMER,
    tag_signal = EV_SIGNAL, tag_status = EV_STATUS, tag_wake = EV_WAKE;

void
rx_sockbuf(int fd)
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
	TAILQ_INIT(&rx->waiting);
	rx->hash_seed = arc4random();
	rx->path_seed = (uint64_t)arc4random() << 32 | arc4random();
	rx->hash_mult = arc4random() | 1;
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
	rx_sockbuf(rx->herald_fd);
	if (bind(rx->herald_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		snprintf(err, errlen, "cannot bind %s:%" PRId64 ": %s",
		    conf->server.address, conf->server.port, strerror(errno));
		goto fail;
	}
	if (conf->server.linux_port != 0 && (rx->linux_port =
	    nd_linux_port_open(&conf->server, dumpdir_fd, err, errlen)) ==
	    NULL)
		goto fail;
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
	if (rx->linux_port != NULL &&
	    nd_linux_port_watch(rx->linux_port, rx->ep) == -1)
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
void
rx_ep_forget(int ep, int fd)
{
	if (ep != -1 && fd != -1)
		(void)epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
}

void
rx_session_free(struct nd_receiver *rx, struct session *s)
{
	if (s->fd != -1) {
		rx_ep_forget(rx->ep, s->fd);
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

	if (rx == NULL)
		return;
	for (s = rx->sessions; s != NULL; s = next) {
		next = s->next;
		rx_session_free(rx, s);
	}
	for (s = rx->graveyard; s != NULL; s = next) {
		next = s->next;
		rx_session_free(rx, s);
	}
	adm_free(rx);
	if (rx->herald_fd != -1)
		close(rx->herald_fd);
	nd_linux_port_close(rx->linux_port);
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
void
rx_session_end(struct nd_receiver *rx, struct session *s,
    const char *reason)
{
	struct nd_dump *d = s->dump;
	uint64_t limit = UINT64_MAX;
	const struct nds_kdh *kdh;

	if (s->state == S_HERALDED) {
		/* Counted, not logged one by one: a HERALD flood is like this. */
		rx_session_unwait(rx, s);
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
	kdh = nd_dump_read_kdh(d);
	if (d->conflicts == 0 && kdh != NULL &&
	    nd_cov_contains(&d->kdh_cov, 0, ND_KDH_SIZE) &&
	    kdh->compression != NDS_COMP_NONE &&
	    nd_kdh_data_fits(kdh, nd_cov_end(&d->cov)))
		limit = kdh->dumplength;
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

/*
 * Drops of a session that has no dump (yet) go into one count for all
 * of them: anyone can open a session with a HERALD and send it junk, from
 * new ports without end, and a line per session would be a line per
 * HERALD.
 */
static void
fold_drops(struct nd_receiver *rx, struct session *s)
{
	int k;

	for (k = 0; k < DROP_NKINDS; k++) {
		rx->undumped_drops.n[k] += s->drops.n[k] - s->drops.logged[k];
		s->drops.logged[k] = s->drops.n[k];
	}
}

struct session_bucket *
rx_bucket(struct nd_receiver *rx, in_addr_t addr)
{
	/*
	 * Multiplicative hashing with a key drawn at start: a flood whose
	 * forged addresses all fell in one bucket would make each HERALD
	 * walk every waiting session.
	 */
	return &rx->by_addr[(uint32_t)((addr ^ rx->hash_seed) *
	    rx->hash_mult) >> 20 & (SESSION_BUCKETS - 1)];
}

/* A new session joins the sessions, its address's bucket, the waiting. */
void
rx_session_link(struct nd_receiver *rx, struct session *s)
{
	s->prev = NULL;
	s->next = rx->sessions;
	if (rx->sessions != NULL)
		rx->sessions->prev = s;
	rx->sessions = s;
	LIST_INSERT_HEAD(rx_bucket(rx, s->client.sin_addr.s_addr), s,
	    by_addr);
	TAILQ_INSERT_TAIL(&rx->waiting, s, waiting_link);
	s->waiting = true;
	rx->nwaiting++;
}

/* s is no longer S_HERALDED (its dump began, it ended, it is buried). */
void
rx_session_unwait(struct nd_receiver *rx, struct session *s)
{
	if (!s->waiting)
		return;
	TAILQ_REMOVE(&rx->waiting, s, waiting_link);
	s->waiting = false;
	rx->nwaiting--;
}

void
rx_bury(struct nd_receiver *rx, struct session *s)
{
	if (s->dead)
		return;
	if (!s->started)
		fold_drops(rx, s);
	/* A flood of HERALDs buries sessions as fast as it comes. */
	rx_session_unwait(rx, s);
	LIST_REMOVE(s, by_addr);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		rx->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = NULL;
	s->dead = true;
	s->next = rx->graveyard;
	rx->graveyard = s;
}

/* Clear the error pending on a session's socket. */
static void
take_error(const struct session *s)
{
	socklen_t len;
	int e;

	len = sizeof(e);
	(void)getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len);
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
	if (!pause) {	/* we kept the client waiting */
		s->last_rx = s->last_data = now_sec();
		if (s->finish_at != 0)
			s->finish_at = s->last_rx + FINISH_WAIT;
	}
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
	time_t now;

	for (round = 0; round < rounds && !s->dead; round++) {
		/*
		 * No buffer free: leave the datagrams in the socket buffer
		 * (unacked, so the client waits) instead of dropping them.
		 */
		if (s->dump != NULL && nd_dump_pool_empty(s->dump)) {
			/*
			 * Paused, the socket is reported for an error only
			 * (epoll reports errors whatever the events asked
			 * for): an ICMP "port unreachable" for an ack. Taken
			 * here, or the loop would spin until the resume.
			 */
			if (s->paused)
				take_error(s);
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
		/*
		 * The error of an ack the client's host refused, reported
		 * once instead of the datagrams: they are still there.
		 */
		if (n == -1 && errno == ECONNREFUSED)
			continue;
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				log_warn("client %s: recvmmsg", s->addr);
			return n == 0 || errno != EINTR;
		}
		now = now_sec();	/* once a batch: a batch is quick */
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
			/*
			 * Even a message held off shows the client alive; a
			 * runt or a HERALD does not (anyone can send those),
			 * nor, for keeping a session that waits for its
			 * first data, a FINISHED (a kernel sends data first).
			 */
			if (m.type != ND_MSG_HERALD) {
				s->last_rx = now;
				if (m.type != ND_MSG_FINISHED ||
				    s->state != S_HERALDED)
					s->last_data = now;
			}
			if (s->restarted) {
				if (rx_session_msg(rx, s, &m))
					s->unanswered++;
				continue;
			}
			if (!rx_session_msg(rx, s, &m))
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
 * is dropped, so the next session can take the socket over clean. It
 * reads no more than the socket holds, a flood onto it notwithstanding.
 */
void
rx_session_drain(struct nd_receiver *rx, struct session *s)
{
	struct pollfd pfd = { .fd = rx->wake_fd, .events = POLLIN };
	uint64_t deadline = now_ms() + DRAIN_WAIT_MS, now, dropped = 0;
	uint64_t before = s->unanswered;	/* a HERALD may come again */
	unsigned rounds = DRAIN_MAX / RX_BATCH, step;
	uint8_t byte;

	s->restarted = s->draining = true;
	/* Each call reads up to step batches, fewer when a pause stops it. */
	for (; rounds > 0 && s->state == S_ACTIVE; rounds -= step) {
		step = rounds < DRAIN_STEP ? rounds : DRAIN_STEP;
		if (session_read(rx, s, step) || (now = now_ms()) >= deadline)
			break;
		if (s->paused && poll(&pfd, 1, (int)(deadline - now)) > 0)
			wake(rx);	/* resumes the other paused sessions too */
	}
	s->draining = false;
	while (dropped < DRAIN_MAX) {
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

static void
tick(struct nd_receiver *rx)
{
	struct session *s, *next;
	time_t now = now_sec();
	unsigned timeout = rx->conf->server.timeout;
	time_t progress = (time_t)rx->conf->server.progress_interval;
	char why[96];

	for (s = rx->sessions; s != NULL; s = next) {
		next = s->next;
		/* An ended dump still answers a repeated FINISHED. */
		if (s->state == S_ENDED && s->paused)
			session_pause(rx, s, false);
		/* A buffer free and no wake-up seen: resume all the same. */
		else if (s->paused && s->dump != NULL &&
		    !nd_dump_pool_empty(s->dump))
			session_pause(rx, s, false);
		/*
		 * Not while paused: the client's datagrams wait unread, and
		 * the silence is the sinks'. The worker holds the dump until
		 * they take it anyway; once they do, what waited is read
		 * and the client's silence counted from then.
		 */
		/* A FINISHED, then silence: what it said holds. */
		if (s->state != S_ENDED && s->finish_at != 0 && !s->paused &&
		    (now >= s->finish_at || now - s->last_rx >= (time_t)timeout))
			rx_session_end(rx, s, NULL);
		else if (s->state != S_ENDED && !s->paused &&
		    now - s->last_rx >= (time_t)timeout) {
			snprintf(why, sizeof(why), "the client fell silent for "
			    "%u s (timeout)", timeout);
			log_warnx("dump %" PRIu64 " from %s: %s", s->id, s->addr,
			    why);
			rx_session_end(rx, s, why);
		} else if (s->dump != NULL && progress > 0 &&
		    now - s->last_progress >= progress &&
		    s->dump->cov.total != s->progress_bytes) {
			/* A line for bytes that came, not for time. */
			const struct nd_dump *d = s->dump;

			s->last_progress = now;
			s->progress_bytes = d->cov.total;
			log_info("dump %" PRIu64 " from %s: %" PRIu64 " MiB "
			    "received so far", s->id, s->addr,
			    d->cov.total >> 20);
		}
		/* Without a dump there is no FINISHED to answer again. */
		if (s->state == S_ENDED && (!s->started ||
		    now - s->ended_at >= (time_t)rx->conf->server.grace))
			rx_bury(rx, s);
		else if (!s->started)
			fold_drops(rx, s);
		else
			log_drops(&s->drops, s->addr, now);
	}
	adm_tick(rx, now);
	if (rx->linux_port != NULL)
		nd_linux_port_tick(rx->linux_port, rx, now);
	log_drops(&rx->herald_drops, "herald socket", now);
	log_drops(&rx->undumped_drops, "sessions without a dump", now);
	nd_tally_log(&rx->tally, now);
	if (rx->refused_busy != rx->refused_logged) {
		log_warnx("refused %" PRIu64 " HERALDs: %" PRId64 " dumps are "
		    "running "
		    "(max_concurrent_dumps)", rx->refused_busy -
		    rx->refused_logged, rx->refused_limit);
		rx->refused_logged = rx->refused_busy;
	}
	if (rx->flood_refused != rx->flood_logged) {
		log_warnx("did not answer %" PRIu64 " HERALDs: %zu sessions "
		    "wait for their first data (a flood of HERALDs?)",
		    rx->flood_refused - rx->flood_logged, rx->nwaiting);
		rx->flood_logged = rx->flood_refused;
	}
	if (rx->flood_paced != rx->paced_logged) {
		log_warnx("did not answer %" PRIu64 " HERALDs: %zu sessions "
		    "wait for their first data, past half the room, which "
		    "then admits evenly over time (a flood of HERALDs?)",
		    rx->flood_paced - rx->paced_logged, rx->nwaiting);
		rx->paced_logged = rx->flood_paced;
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

/*
 * SIGHUP: a new configuration and new sinks for new dumps; dumps in
 * flight keep theirs. A bad file changes nothing. What is bound or opened
 * at start (address, port, dump directory, user, pid file, status socket,
 * runtime_dir, daemon mode, metrics) needs a restart.
 */
static void
reload(struct nd_receiver *rx)
{
	const struct nd_server_conf *o = &rx->conf->server, *n;
	struct nd_runtime *rt;
	char err[ND_CONF_ERRSIZE];

	if (rx->reload == NULL)
		return;
	if ((rt = rx->reload(rx->reload_arg, rx->rt, err, sizeof(err))) ==
	    NULL) {
		log_warnx("SIGHUP: the new configuration is refused, the old "
		    "one stays: %s", err);
		return;
	}
	n = &rt->conf->server;
	if (nd_conf_server_bound_differs(o, n)) {
		log_warnx("SIGHUP: address, port, linux_port, console_log_*, "
		    "dumpdir, runtime_dir, user, status_socket, pidfile, "
		    "daemon and metrics take effect only after a restart; the "
		    "running values stay");
		if (nd_conf_server_keep_bound(&rt->conf->server, o) == -1) {
			log_warnx("SIGHUP: out of memory; the old configuration "
			    "stays");
			nd_runtime_unref(rt);
			return;
		}
	}
	if (rt->conf->nnotifies > 0 && !nd_notify_running())
		log_warnx("SIGHUP: [notify] sections take effect only after a "
		    "restart when there were none at start; no webhook is "
		    "sent until then");
	nd_runtime_unref(rx->rt);
	rx->rt = rt;
	rx->conf = rt->conf;
	rx->sinks = rt->sinks;
	log_info("SIGHUP: configuration reloaded from %s (%zu routes, %zu "
	    "sinks, %zu of them unchanged and kept as they run)",
	    rt->conf->source, rt->conf->nroutes, rt->conf->nsinks,
	    rt->sinks->nkept);
}

/* The report of the status socket: the dumps in flight are ours. */
static void
status_serve(struct nd_receiver *rx)
{
	struct nd_status_flight *fl;
	struct timespec now;
	struct session *s;
	size_t n = 0;

	for (s = rx->sessions; s != NULL; s = s->next)
		n += s->dump != NULL;
	if (rx->linux_port != NULL)
		n += nd_linux_port_flights(rx->linux_port, NULL, 0);
	/* Out of memory (fl NULL): the report goes without them. */
	fl = calloc(n + 1, sizeof(*fl));
	clock_gettime(CLOCK_MONOTONIC, &now);
	n = 0;
	for (s = rx->sessions; fl != NULL && s != NULL; s = s->next) {
		if (s->dump == NULL)
			continue;
		fl[n] = (struct nd_status_flight){ .id = s->id,
		    .path = s->dump->path, .bytes = s->dump->cov.total,
		    .age = ts_diff(&now, &s->dump->start_mono) };
		snprintf(fl[n].client, sizeof(fl[n].client), "%s:%u", s->addr,
		    ntohs(s->client.sin_port));
		n++;
	}
	if (fl != NULL && rx->linux_port != NULL)
		n += nd_linux_port_flights(rx->linux_port, fl + n, SIZE_MAX);
	nd_status_serve(rx->status_fd, rx->conf, now_sec() - rx->started,
	    fl, n, atomic_load(&nd_dumps_active));
	free(fl);
}

static void
stop(struct nd_receiver *rx)
{
	struct session *s;

	rx->stopping = true;
	for (s = rx->sessions; s != NULL; s = s->next)
		if (s->state != S_ENDED)
			rx_session_end(rx, s, "the server was shut down");
	if (rx->linux_port != NULL)
		nd_linux_port_stop(rx->linux_port);
}

int
nd_receiver_run(struct nd_receiver *rx)
{
	struct epoll_event evs[64];
	struct session *s;
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

			if (kind == EV_HOOK)
				adm_hook_exited(rx, tag);
			else if (tag == &tag_herald)
				adm_herald_readable(rx);
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
			else if (kind == EV_LINUX)
				nd_linux_port_event(rx, tag);
			else if (tag == &tag_wake)
				wake(rx);
			else if (!((struct session *)tag)->dead) {
				s = tag;
				(void)session_read(rx, s, 8);
				if (s->herald != NULL && !s->dead)
					adm_herald_deferred(rx, s);
			}
		}
		/* Free only now: the event batch may still name them. */
		while ((s = rx->graveyard) != NULL) {
			rx->graveyard = s->next;
			rx_session_free(rx, s);
		}
		adm_reap(rx);
	}
	nd_dump_wait_all();
	return 0;
}
