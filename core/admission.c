/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Admission: which HERALD gets a session and an answer, and which session
 * gets a dump. A HERALD is judged against the sessions in progress, the
 * refusals and the caps per client; admission_hooks.c then takes it
 * through free space and the hooks run at HERALD time, which have until
 * herald_hook_deadline to answer. receiver.c reads the rest.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "admission.h"
#include "admission_int.h"
#include "assembler.h"
#include "dump.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "proto.h"
#include "receiver_int.h"
#include "tally.h"
#include "util.h"

/*
 * File descriptors kept back from the session sockets: the daemon's own,
 * and per dump its sinks' files and connections and its hooks' pipes.
 */
#define FD_RESERVE	64
#define FD_PER_DUMP	16

static void
send_ack(int fd, uint32_t seqno)
{
	uint8_t ack[ND_ACK_SIZE];

	nd_ack_encode(ack, seqno);
	if (send(fd, ack, sizeof(ack), MSG_DONTWAIT) == -1)
		log_debug("ack %" PRIu32 ": %s", seqno, strerror(errno));
}

static struct session *
session_find(struct nd_receiver *rx, const struct sockaddr_in *from)
{
	struct session *s;

	LIST_FOREACH(s, rx_bucket(rx, from->sin_addr.s_addr), by_addr)
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

	LIST_FOREACH(s, rx_bucket(rx, from->sin_addr.s_addr), by_addr)
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
	rx_sockbuf(fd);
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

/*
 * A refusal is of a client's address, port and HERALD path: a HERALD
 * with another path is not the same kernel's, and both address and port
 * are public, so a forged HERALD that a hook refuses must not get the
 * kernel's own refused. The path is kept as a hash keyed with a number
 * drawn at start, so that no forger can make another path hash alike.
 */
static uint64_t
path_key(const struct nd_receiver *rx, const char *path)
{
	return XXH3_64bits_withSeed(path, strlen(path), rx->path_seed);
}

/* The refusal slot of a client, or a free (or the oldest) one. */
static struct refusal *
refusal_slot(struct nd_receiver *rx, const struct sockaddr_in *from,
    const char *path, bool create)
{
	struct refusal *r, *oldest = NULL;
	uint64_t key = path_key(rx, path);
	size_t i;

	/* The client's own slot; else the one least recently used. */
	for (i = 0; i < REFUSALS; i++) {
		r = &rx->refusals[i];
		if (r->addr == from->sin_addr.s_addr &&
		    r->port == from->sin_port && r->path_key == key)
			return r;
		if (oldest == NULL || r->until < oldest->until)
			oldest = r;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	oldest->addr = from->sin_addr.s_addr;
	oldest->port = from->sin_port;
	oldest->path_key = key;
	return oldest;
}

/* Say no to a client's HERALDs for a while (its retransmissions too). */
static void
refuse(struct nd_receiver *rx, const struct sockaddr_in *from,
    const char *path, unsigned secs)
{
	struct refusal *r = refusal_slot(rx, from, path, true);

	r->until = now_sec() + (time_t)secs;
}

/*
 * A dump refused (a hook said no, no room): a FreeBSD kernel gives up on
 * its own; a Linux one would announce forever, so it is rebooted, as Red
 * Hat's server did with a client it would not take.
 */
void
adm_refuse_dump(struct nd_receiver *rx, const struct sockaddr_in *from,
    const char *path, bool linux_client, const char *reason, const char *why)
{
	char addr[INET_ADDRSTRLEN];

	refuse(rx, from, path, 60);
	nd_metrics_refused(reason, 1);
	if (linux_client)
		nd_linux_port_refused(rx, from);
	inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
	nd_notify_refused(rx->conf, addr, why);
}

static bool
refused(struct nd_receiver *rx, const struct sockaddr_in *from,
    const char *path)
{
	struct refusal *r = refusal_slot(rx, from, path, false);

	return r != NULL && r->until > now_sec();
}

/* Sessions of this address waiting for their first data ... */
static unsigned
heralded_of(struct nd_receiver *rx, const struct sockaddr_in *from)
{
	struct session *s;
	unsigned n = 0;

	struct pending *p;

	LIST_FOREACH(s, rx_bucket(rx, from->sin_addr.s_addr), by_addr)
		n += s->state == S_HERALDED &&
		    s->client.sin_addr.s_addr == from->sin_addr.s_addr;
	/* ... or for a hook to decide (a HERALD each, from any port). */
	for (p = rx->pendings; p != NULL; p = p->next)
		n += p->proc.hook != ND_HOOK_START && !p->notice &&
		    p->client.sin_addr.s_addr == from->sin_addr.s_addr;
	return n;
}

/*
 * Session sockets the descriptor limit leaves room for: what dumps and
 * hooks may hold, and the console logs and scrapes the other threads
 * may (a flood of either once took the last descriptors from dumps).
 */
static size_t
fd_budget(const struct nd_receiver *rx)
{
	const struct nd_server_conf *sv = &rx->conf->server;
	rlim_t reserve = FD_RESERVE + (rlim_t)FD_PER_DUMP *
	    sv->max_concurrent_dumps + 2 * (rlim_t)sv->max_hooks +
	    (rx->linux_port != NULL ? ND_CONSOLE_CLIENTS : 0) +
	    (sv->metrics != NULL ? ND_METRICS_CONNECTIONS : 0);

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
	rx_ep_forget(rx->ep, s->fd);
	close(s->fd);
	s->fd = -1;
	rx->nfds--;
}

/*
 * A session waiting for its first data that may be a kernel's: one that
 * has heard more than HERALDs (its data, held back while the dumps are
 * at their limit: only who got our ack knows its port), or is younger
 * than HERALD_KEEP_MS (an honest kernel's data follows our ack within a
 * round trip). HERALDs forged from the client's address are neither.
 */
static bool
waiting_kept(const struct session *s, uint64_t now)
{
	return s->last_data != 0 || now - s->heralded_ms < HERALD_KEEP_MS;
}

/* The oldest waiting session not waiting_kept; NULL if none. */
static struct session *
oldest_waiting(struct nd_receiver *rx, uint64_t now)
{
	struct session *s;

	/* In age order: past the first kept by its age, all are. */
	TAILQ_FOREACH(s, &rx->waiting, waiting_link) {
		if (s->last_data != 0)
			continue;
		return waiting_kept(s, now) ? NULL : s;
	}
	return NULL;
}

/*
 * Room for one more session socket within the budget: the oldest ended
 * session gives its socket up first (it only waits for a repeated
 * FINISHED), then the oldest waiting one not waiting_kept.
 */
static bool
fd_room(struct nd_receiver *rx, const struct sockaddr_in *from)
{
	struct session *s, *ended = NULL, *heralded;

	if (rx->nfds < fd_budget(rx))
		return true;
	for (s = rx->sessions; s != NULL; s = s->next)
		if (s->fd != -1 && s->state == S_ENDED && (ended == NULL ||
		    s->ended_at < ended->ended_at))
			ended = s;
	heralded = oldest_waiting(rx, now_ms());
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
	rx_bury(rx, s);
	return true;
}

/*
 * Room for one more dump of this client: max_concurrent_dumps (counting
 * starting, Linux sessions admitted without a dump yet) and
 * max_dumps_per_client, whose refusal is logged with what happens then.
 * Only a HERALD or an announcement left unanswered counts as refused
 * (herald); an admitted session's data that waits is not a refusal.
 */
static bool
dump_room(struct nd_receiver *rx, const struct nd_server_conf *sv,
    const struct sockaddr_in *from, unsigned starting, bool herald,
    const char *then)
{
	char addr[INET_ADDRSTRLEN];

	if ((int64_t)atomic_load(&nd_dumps_active) + starting >=
	    sv->max_concurrent_dumps) {
		if (herald) {
			rx->refused_busy++;
			/* The limit then: a reload may change it by the log. */
			rx->refused_limit = sv->max_concurrent_dumps;
			nd_metrics_refused("max_concurrent_dumps", 1);
		}
		return false;
	}
	if ((int64_t)nd_dumps_of_client(from->sin_addr.s_addr) >=
	    sv->max_dumps_per_client) {
		inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
		nd_tally(&rx->tally, herald ? TALLY_CLIENT_DUMPS :
		    TALLY_CLIENT_DUMPS_WAIT, from, "client %s: %" PRId64
		    " dumps in flight (max_dumps_per_client); %s", addr,
		    sv->max_dumps_per_client, then);
		return false;
	}
	return true;
}

/*
 * The first data of a HERALDED session: now the dump starts, if the
 * concurrency limit allows (if not, no ack: the client retransmits and
 * gets in when a dump ends).
 */
bool
adm_dump_begin(struct nd_receiver *rx, struct session *s)
{
	struct nd_dump_params p;

	if (!dump_room(rx, &s->rt->conf->server, &s->client, 0, false,
	    "its data waits"))
		return false;
	p = (struct nd_dump_params){ .id = s->id, .client = &s->client,
	    .path = s->path, .route = s->route, .rt = s->rt,
	    .dumpdir = s->rt->conf->server.dumpdir,
	    .dumpdir_fd = rx->dumpdir_fd, .wake_fd = rx->wake_fd,
	    .chains = s->chains, .nchains = s->nchains };
	if ((s->dump = nd_dump_start(&p)) == NULL)
		return false;
	nd_asm_init(&s->as, s->dump);
	rx_session_unwait(rx, s);
	s->state = S_ACTIVE;
	s->started = true;
	s->last_progress = s->last_data = s->last_new = now_sec();
	logit(LOG_NOTICE, "dump %" PRIu64 " from %s:%u started: path '%s', "
	    "route '%s' (%zu chain%s), answering from port %u", s->id,
	    s->addr, ntohs(s->client.sin_port), s->path, s->route, s->nchains,
	    s->nchains == 1 ? "" : "s", s->port);
	/* Beside the dump, only once it has data: a HERALD alone is cheap. */
	(void)adm_pending_start(rx, ND_HOOK_START, &s->client, s->local,
	    s->path, 0, now_ms(), false);
	return true;
}

/*
 * Room for one more session waiting for its first data. Past the cap the
 * oldest one goes (a flood of HERALDs, which never send data) but never
 * one waiting_kept. If all are, the new HERALD is not answered; its
 * kernel asks again a second later.
 */
static bool
heralded_room(struct nd_receiver *rx)
{
	struct session *oldest;
	uint64_t now = now_ms();

	/* (A descriptor budget below the room decides first: fd_room.) */
	if (rx->nwaiting < MAX_HERALDED / 2)
		return true;
	/*
	 * A flood fills the room in a burst, which would empty in a burst
	 * HERALD_KEEP_MS later, and so on: the room would be open for only
	 * part of each cycle, and a kernel whose retries beat with it (1 s)
	 * would never get in. Past half full, admissions are spread evenly,
	 * as many a millisecond as the room can turn over (counted in
	 * adm_session_start, once admitted).
	 */
	if (rx->admit_ms != now) {
		rx->admit_ms = now;
		rx->admitted_in_ms = 0;
	}
	if (rx->admitted_in_ms >= MAX_HERALDED / HERALD_KEEP_MS) {
		rx->flood_paced++;
		nd_metrics_refused("herald_flood", 1);
		return false;
	}
	if (rx->nwaiting < MAX_HERALDED)
		return true;
	if ((oldest = oldest_waiting(rx, now)) == NULL) {
		rx->flood_refused++;
		nd_metrics_refused("herald_flood", 1);
		return false;
	}
	rx->evicted++;
	socket_close(rx, oldest);
	rx_bury(rx, oldest);
	return true;
}

/*
 * Room for one more session of this address waiting for its first data
 * (max_heralded_per_client): its oldest one goes unless waiting_kept.
 * Otherwise HERALDs forged from other ports of a client's address,
 * renewed as they time out, would keep its kernel out. A HERALD from the
 * kernel's own port may take the place of one from another port however
 * young: renewed within a millisecond of their half second, forged ones
 * would otherwise be all a kernel's HERALD ever finds.
 */
static bool
client_heralded_room(struct nd_receiver *rx, const struct sockaddr_in *from)
{
	struct session *s, *oldest = NULL;
	uint64_t now = now_ms();
	bool kernel_port = from->sin_port == htons(ND_CLIENT_PORT);

	LIST_FOREACH(s, rx_bucket(rx, from->sin_addr.s_addr), by_addr)
		if (s->state == S_HERALDED && s->fd != -1 &&
		    s->client.sin_addr.s_addr == from->sin_addr.s_addr &&
		    (kernel_port ? s->last_data == 0 &&
		    s->client.sin_port != from->sin_port :
		    !waiting_kept(s, now)) &&
		    (oldest == NULL || s->heralded_ms < oldest->heralded_ms))
			oldest = s;
	if (oldest == NULL)
		return false;
	rx->evicted++;
	socket_close(rx, oldest);
	rx_bury(rx, oldest);
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
	rx_bury(rx, old);
	return true;
}

static bool
socket_open(struct nd_receiver *rx, struct session *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	/* Counted: anyone can send a HERALD from an address like that. */
	if ((s->fd = session_socket(&s->client, s->local, &s->port)) == -1) {
		nd_tally(&rx->tally, TALLY_SOCKET, &s->client, "client %s: "
		    "cannot open a session socket: %s", s->addr,
		    strerror(errno));
		return false;
	}
	rx->nfds++;
	if (epoll_ctl(rx->ep, EPOLL_CTL_ADD, s->fd, &ev) == -1) {
		nd_tally(&rx->tally, TALLY_SOCKET, &s->client, "client %s: "
		    "epoll_ctl: %s", s->addr, strerror(errno));
		return false;
	}
	return true;
}

void
adm_session_start(struct nd_receiver *rx, const struct sockaddr_in *from,
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
		rx_session_free(rx, s);
		return;
	}
	s->id = rx->next_id++;
	s->last_seqno = seqno;	/* a kernel numbers on from its HERALD's */
	s->last_rx = now_sec();
	s->heralded_ms = now_ms();
	rx_session_link(rx, s);
	rx->admitted_in_ms++;	/* see heralded_room */
	/* The notice comes with the first data: a HERALD alone is cheap. */
	log_debug("client %s:%u: HERALD answered from port %u, path '%s', "
	    "route '%s' (%s%s)", addr, ntohs(from->sin_port), s->port, path,
	    route->name, route->sink,
	    s->nchains < route->nsinks ? ", some sinks unavailable" : "");
	send_ack(s->fd, seqno);
}

/* Whether a route with a working sink takes this HERALD (logged if not). */
bool
adm_route_ok(struct nd_receiver *rx, const struct sockaddr_in *from,
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

/* How long a dump has heard nothing from its client; 0 while paused. */
static time_t
dump_silence(const struct session *s)
{
	return s->paused ? 0 : now_sec() - s->last_data;
}

/*
 * A new HERALD from the client of a session that got data or ended: a
 * dump still active has lost its client only if it has gone silent. The
 * old session is drained (and ended); false when the HERALD is not
 * answered.
 */
static bool
herald_restart(struct nd_receiver *rx, struct session *old,
    const struct sockaddr_in *from, const char *addr)
{
	const struct nd_server_conf *sv = &rx->conf->server;

	if (old->state == S_ACTIVE) {
		/*
		 * The client's address and port are public, so a HERALD
		 * from them proves nothing. A live kernel resends an
		 * unanswered batch every second, so only a dump silent for
		 * restart_silence has lost its kernel; a kernel that restarts
		 * resends its HERALD for about 12 s and gets in then.
		 */
		time_t silent = dump_silence(old);

		if (silent < (time_t)sv->restart_silence) {
			nd_tally(&rx->tally, TALLY_ALIVE, from, "dump %"
			    PRIu64 " from %s: a new HERALD while the dump is "
			    "alive (last data %lld s ago, restart_silence "
			    "= %" PRId64 "); not answering", old->id, addr,
			    (long long)silent, sv->restart_silence);
			return false;
		}
		log_warnx("dump %" PRIu64 " from %s: a new HERALD after %lld s "
		    "of silence: the client restarted its dump", old->id, addr,
		    (long long)silent);
	}
	rx_session_drain(rx, old);
	if (old->state == S_ACTIVE)
		rx_session_end(rx, old, "the client sent a new HERALD and "
		    "started over");
	return true;
}

/*
 * The session a HERALD from this address and port concerns, in *oldp:
 * its own, or its address's from another port. False: ignore it.
 */
static bool
herald_session(struct nd_receiver *rx, const struct sockaddr_in *from,
    const char *addr, struct session **oldp)
{
	const struct nd_server_conf *sv = &rx->conf->server;
	struct session *other;

	if ((*oldp = session_find(rx, from)) != NULL ||
	    (other = session_of_addr(rx, from)) == NULL)
		return true;
	/*
	 * A kernel heralds from port 20024 only: a HERALD from another port
	 * of an address that is dumping is spoofed or stray, and must not
	 * take a second dump slot or disturb the first. But behind a NAT
	 * that rewrites ports a kernel that restarted comes from another
	 * port: once the dump has been silent for restart_silence, as for
	 * the same port, that is a restart.
	 */
	if (dump_silence(other) < (time_t)sv->restart_silence) {
		nd_tally(&rx->tally, TALLY_OTHER_PORT, from, "client %s:%u: "
		    "HERALD while dump %" PRIu64 " from port %u is in "
		    "progress; ignored", addr, ntohs(from->sin_port),
		    other->id, ntohs(other->client.sin_port));
		return false;
	}
	log_warnx("dump %" PRIu64 " from %s:%u: a HERALD from port %u of its "
	    "address after its silence", other->id, addr,
	    ntohs(other->client.sin_port), ntohs(from->sin_port));
	*oldp = other;
	return true;
}

static void
herald(struct nd_receiver *rx, const struct sockaddr_in *from,
    struct in_addr local, const struct nd_msg *m)
{
	const struct nd_server_conf *sv = &rx->conf->server;
	struct session *old;
	struct pending *p;
	bool ended;
	char addr[INET_ADDRSTRLEN], path[ND_MAX_HERALD_PATH + 1];
	const char *why;

	inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
	if (!nd_conf_client_allowed(sv, ntohl(from->sin_addr.s_addr))) {
		nd_tally(&rx->tally, TALLY_NOT_ALLOWED, from, "client %s: not "
		    "allowed to dump (allow, deny, secure); not answering",
		    addr);
		return;
	}
	why = NULL;
	if (m->len == 0 || (why = nd_herald_path_check(m->payload, m->len,
	    path, sizeof(path))) != NULL)
		snprintf(path, sizeof(path), "%s", sv->default_path);
	if (!herald_session(rx, from, addr, &old))
		return;
	if (old != NULL && old->state != S_ENDED && !old->got_data) {
		/* The same HERALD again: the client missed our ack. */
		if (old->local.s_addr == local.s_addr &&
		    strcmp(old->path, path) == 0) {
			send_ack(old->fd, m->seqno);
			return;
		}
		/*
		 * Another one (another path, or to another of our
		 * addresses) is not the same kernel's: the client's address
		 * and port are public, so either may be forged. The waiting
		 * session keeps its place while it may be a kernel's (see
		 * waiting_kept); the newcomer is not answered, and a kernel
		 * asks again a second later. Else it goes, and the newcomer
		 * is admitted afresh.
		 */
		if (waiting_kept(old, now_ms())) {
			nd_tally(&rx->tally, TALLY_WAITING, from, "client "
			    "%s: another HERALD (path '%s') while one waits "
			    "for its data; not answering", addr, path);
			return;
		}
		socket_close(rx, old);
		rx_bury(rx, old);
		old = NULL;
	}
	if (adm_pending_find(rx, from, false) != NULL ||
	    refused(rx, from, path))
		return;
	if (old == NULL && (p = adm_pending_find(rx, from, true)) != NULL) {
		/*
		 * The HERALD a late hook held up went on without it but
		 * found no place then (a flood, no descriptor): try again,
		 * on the first HERALD's clock and with no hook this time.
		 */
		adm_herald_admit(rx, from, local, p->path, m->seqno,
		    p->herald_ms, ADMIT_SPACE_ASKED | ADMIT_CRASH_DONE);
		return;
	}
	/*
	 * An ended dump is restarted (its socket handed on) only once the
	 * newcomer passed the limits: until then it answers its client's
	 * repeated FINISHED, which a HERALD forged from the client's
	 * address and port, then refused, must not silence.
	 */
	ended = old != NULL && old->state == S_ENDED;
	if (old != NULL && !ended && !herald_restart(rx, old, from, addr))
		return;
	if (rx->stopping)
		return;
	if (why != NULL)
		nd_tally(&rx->tally, TALLY_PATH, from, "client %s: HERALD "
		    "path refused (%s); using the default path '%s'", addr,
		    why, sv->default_path);
	if (!dump_room(rx, sv, from, 0, true, "not answering"))
		return;
	if (heralded_of(rx, from) >= sv->max_heralded_per_client &&
	    !client_heralded_room(rx, from)) {
		nd_tally(&rx->tally, TALLY_CLIENT_HERALDED, from, "client %s: "
		    "%" PRId64 " sessions wait for their first data "
		    "(max_heralded_per_client); not answering", addr,
		    sv->max_heralded_per_client);
		return;
	}
	if (ended && !herald_restart(rx, old, from, addr))
		return;
	adm_herald_admit(rx, from, local, path, m->seqno, now_ms(), 0);
}

/*
 * A Linux client's crash announcement (its cookie checked): the same
 * steps as a HERALD's, the same limits, and when all say yes,
 * nd_linux_port_admit. Announcements repeat every second while a hook
 * runs or a limit holds; those are ignored here.
 */
void
adm_linux_start(struct nd_receiver *rx, const struct sockaddr_in *from,
    const char *path, unsigned starting)
{
	const struct nd_server_conf *sv = &rx->conf->server;
	struct in_addr any = { .s_addr = INADDR_ANY };
	struct pending *p;

	if (rx->stopping || adm_pending_find(rx, from, false) != NULL ||
	    refused(rx, from, path))
		return;
	/* Sessions admitted that have no dump yet count as dumps. */
	if (!dump_room(rx, sv, from, starting, true, "not answering"))
		return;
	/* A late hook's client tries again without it, on its first clock. */
	p = adm_pending_find(rx, from, true);
	adm_herald_admit(rx, from, any, p != NULL ? p->path : path, 0,
	    p != NULL ? p->herald_ms : now_ms(), ADMIT_LINUX |
	    (p != NULL ? ADMIT_SPACE_ASKED | ADMIT_CRASH_DONE : 0));
}

/* The chains of the route that takes path from this client; 0: none. */
size_t
adm_route_chains(struct nd_receiver *rx, const char *path,
    const struct sockaddr_in *from, struct nd_chain **out, size_t max,
    const char **route_name)
{
	const struct nd_route_conf *route;

	route = nd_conf_route_match(rx->conf, path,
	    ntohl(from->sin_addr.s_addr));
	if (route == NULL)
		return 0;
	*route_name = route->name;
	return route_chains(rx, route, out, max);
}

/*
 * Keep a HERALD that reached a session socket for adm_herald_deferred(),
 * the last one of a batch; not while the session is being drained for a
 * restart right now. False when it cannot be kept.
 */
bool
adm_herald_keep(struct session *s, const struct nd_msg *m)
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

/*
 * A HERALD kept by adm_herald_keep(), taken as if it came to the herald
 * port.
 */
void
adm_herald_deferred(struct nd_receiver *rx, struct session *s)
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

void
adm_herald_readable(struct nd_receiver *rx)
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

