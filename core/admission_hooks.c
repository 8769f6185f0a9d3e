/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Admission's hooks: the steps between an admitted HERALD (or a Linux
 * client's START) and its session, each of which may say no by not
 * answering: free space, with netdump-nospace, then netdump-crash. A hook
 * runs as a child watched through its pidfd in the receiver's epoll set;
 * the HERALD waits for it until herald_hook_deadline, then goes on
 * without its answer, and the hook may run on to hook_timeout.
 */
#include <sys/epoll.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admission.h"
#include "admission_int.h"
#include "hooks.h"
#include "linux_port.h"
#include "log.h"
#include "receiver_int.h"
#include "space.h"

/* The hook a HERALD from this client waits for (or, late, waited for). */
struct pending *
adm_pending_find(struct nd_receiver *rx, const struct sockaddr_in *from,
    bool late)
{
	struct pending *p;

	/* netdump-start runs beside the dump and holds nothing up. */
	for (p = rx->pendings; p != NULL; p = p->next)
		if (p->proc.hook != ND_HOOK_START && !p->notice &&
		    p->late == late &&
		    p->client.sin_addr.s_addr == from->sin_addr.s_addr &&
		    p->client.sin_port == from->sin_port)
			return p;
	return NULL;
}

/*
 * Start a hook for this client (netdump-crash and netdump-nospace, which
 * its HERALD waits for; netdump-start and a console's crash notice,
 * which nothing waits for): 1 when it runs, 0 when it is absent or not
 * fit to run, -2 when max_hooks run already, -1 when it could not start
 * (no memory, no epoll watch; the dump is refused then). herald: the
 * HERALD's own (a bare HERALD starts it: its lines are nd_hook_say's);
 * the others need data or a console's crash, bounded apart.
 */
int
adm_pending_start(struct nd_receiver *rx, enum nd_hook hook,
    const struct sockaddr_in *from, struct in_addr local, const char *path,
    uint32_t seqno, uint64_t herald_ms, bool herald)
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
	r = nd_hook_start(&rx->conf->server, hook, args, env, &p->proc,
	    herald);
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

/* Whether the kernel behind this HERALD has stopped waiting for hooks. */
static bool
herald_deadline_passed(const struct nd_receiver *rx, uint64_t herald_ms)
{
	return now_ms() - herald_ms >=
	    (uint64_t)rx->conf->server.herald_hook_deadline * 1000;
}

/*
 * A HERALD below min_free, said at most LOW_SPACE_LINES times every
 * LOW_SPACE_EVERY seconds when its dump is given up (its client is then
 * refused for a while), once while it waits for netdump-nospace; the next
 * line says how many were not (anyone can send a HERALD).
 */
#define LOW_SPACE_EVERY	10
#define LOW_SPACE_LINES	5

static void
low_space_say(const char *addr, uint64_t avail, const char *dir,
    const char *floor, uint64_t need, bool giving_up, const char *tail)
{
	static time_t since;
	static unsigned lines;
	static uint64_t quiet;
	time_t now = now_sec();
	char more[64] = "";

	if (lines == 0 || now - since >= LOW_SPACE_EVERY) {
		since = now;
		lines = 0;
	}
	if (lines >= (giving_up ? LOW_SPACE_LINES : 1)) {
		quiet++;
		return;
	}
	lines++;
	if (quiet > 0)
		snprintf(more, sizeof(more), " (and %" PRIu64 " HERALDs not "
		    "logged since)", quiet);
	quiet = 0;
	log_warnx("client %s: %" PRIu64 " bytes free in %s, below %s (%"
	    PRIu64 ")%s%s", addr, avail, dir, floor, need, tail, more);
}

/*
 * When this client's HERALD first found every hook place taken (-2 from
 * adm_pending_start): herald_ms the first time. An entry older than twice
 * the deadline is another crash's (a client waits the deadline at most),
 * and its place is free; with none free a newcomer is not remembered, so
 * that a flood of HERALDs cannot push out the clients already waiting.
 */
static uint64_t
hook_wait_since(struct nd_receiver *rx, const struct sockaddr_in *from,
    uint64_t herald_ms)
{
	uint64_t too_old = 2000 *
	    (uint64_t)rx->conf->server.herald_hook_deadline;
	struct hook_wait *w, *free_place = NULL;
	bool mine, stale;
	unsigned i;

	for (i = 0; i < HOOK_WAITS; i++) {
		w = &rx->hook_waits[i];
		mine = w->since != 0 && w->addr == from->sin_addr.s_addr &&
		    w->port == from->sin_port;
		stale = w->since == 0 || herald_ms < w->since ||
		    herald_ms - w->since >= too_old;
		if (mine && !stale)
			return w->since;
		if (stale && free_place == NULL)
			free_place = w;
	}
	if (free_place != NULL)
		*free_place = (struct hook_wait){ from->sin_addr.s_addr,
		    from->sin_port, herald_ms };
	return herald_ms;
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
	if (!nd_hook_say(p->proc.herald))
		return;
	if (p->linux_client) {
		log_warnx("client %s: %s did not answer within hook_timeout; "
		    "going on without its answer", addr,
		    nd_hook_name(p->proc.hook));
		return;
	}
	log_warnx("client %s: %s did not answer within herald_hook_deadline "
	    "(%" PRId64 " s), and a kernel gives up on its HERALD at about "
	    "12 s; "
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
void
adm_herald_admit(struct nd_receiver *rx, const struct sockaddr_in *from,
    struct in_addr local, const char *path, uint32_t seqno,
    uint64_t herald_ms, unsigned done)
{
	const struct nd_server_conf *sv = &rx->conf->server;
	char addr[INET_ADDRSTRLEN];
	const char *floor;
	uint64_t avail, need;
	bool waits;
	int r;

	inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
	/* Nothing runs for a HERALD that no route takes. */
	if (!adm_route_ok(rx, from, path))
		return;
	if (!(done & ADMIT_CRASH_DONE) &&
	    !nd_space_ok(sv, &avail, &need, &floor)) {
		r = done & ADMIT_SPACE_ASKED ? 0 : adm_pending_start(rx,
		    ND_HOOK_NOSPACE, from, local, path, seqno, herald_ms, true);
		if (r == 1)
			rx->pendings->linux_client = done & ADMIT_LINUX;
		/* -2: no room to run it; ask again, up to the deadline. */
		waits = r == 1 || (r == -2 && !herald_deadline_passed(rx,
		    hook_wait_since(rx, from, herald_ms)));
		low_space_say(addr, avail, sv->dumpdir, floor, need, !waits,
		    done & ADMIT_SPACE_ASKED ? "; giving up the dump" : "");
		if (waits)
			return;
		adm_refuse_dump(rx, from, path, done & ADMIT_LINUX,
		    "min_free",
		    r == -2 ? "the dump directory is below min_free, and max_hooks "
		    "hooks ran until the HERALD's deadline" : "the dump "
		    "directory is below min_free");
		return;
	}
	if (!(done & ADMIT_CRASH_DONE)) {
		r = adm_pending_start(rx, ND_HOOK_CRASH, from, local, path,
		    seqno, herald_ms, true);
		if (r == 1)
			rx->pendings->linux_client = done & ADMIT_LINUX;
		if (r == -1) {
			adm_refuse_dump(rx, from, path, done & ADMIT_LINUX,
			    "netdump_crash", "netdump-crash could not run");
			return;
		}
		/*
		 * A Linux client announces until it is answered: its
		 * netdump-crash has until hook_timeout to say no.
		 */
		if (r == 1 && (done & ADMIT_LINUX))
			return;
		/* Waiting for it (or for room to run it) is over at the deadline. */
		if (r == -2)
			herald_ms = hook_wait_since(rx, from, herald_ms);
		if ((r == 1 || r == -2) && !herald_deadline_passed(rx, herald_ms))
			return;
		if (r == 1)	/* adm_pending_start put it first */
			pending_late(rx, rx->pendings);
		else if (r == -2 && nd_hook_say(true))
			log_warnx("client %s: max_hooks hooks run, and the "
			    "HERALD's deadline has passed; going on without "
			    "netdump-crash", addr);
	}
	if (done & ADMIT_LINUX)
		nd_linux_port_admit(rx, from, path);
	else
		adm_session_start(rx, from, local, path, seqno);
}

static void
pending_done(struct nd_receiver *rx, struct pending *p, bool killed)
{
	char addr[INET_ADDRSTRLEN];
	int status;

	if (!killed) {
		rx_ep_forget(rx->ep, p->proc.pidfd);
		status = nd_hook_reap(&p->proc);
	} else
		status = -1;
	inet_ntop(AF_INET, &p->client.sin_addr, addr, sizeof(addr));
	pending_bury(rx, p);
	if (rx->stopping)
		return;
	if (p->notice) {
		log_info("client %s: netdump-crash for the crash on its "
		    "console exited %d", addr, status);
		return;
	}
	if (p->late) {
		if (p->proc.hook != ND_HOOK_START &&
		    nd_hook_say(p->proc.herald))
			log_info("client %s: %s answered %d after the "
			    "deadline; the answer is not used", addr,
			    nd_hook_name(p->proc.hook), status);
		return;
	}
	switch (p->proc.hook) {
	case ND_HOOK_CRASH:
		if (status != 0) {
			if (nd_hook_say(p->proc.herald))
				log_warnx("client %s: netdump-crash said no "
				    "(status %d); refusing the dump", addr,
				    status);
			adm_refuse_dump(rx, &p->client, p->path,
			    p->linux_client, "netdump_crash",
			    "netdump-crash said no");
			return;
		}
		adm_herald_admit(rx, &p->client, p->local, p->path, p->seqno,
		    p->herald_ms, ADMIT_SPACE_ASKED | ADMIT_CRASH_DONE |
		    (p->linux_client ? ADMIT_LINUX : 0));
		break;
	case ND_HOOK_NOSPACE:
		/* Non-zero: space was made, look once more; zero: give up. */
		if (status == 0) {
			if (nd_hook_say(p->proc.herald))
				log_warnx("client %s: netdump-nospace gave the "
				    "dump up", addr);
			adm_refuse_dump(rx, &p->client, p->path,
			    p->linux_client, "netdump_nospace",
			    "netdump-nospace gave the dump up");
			return;
		}
		adm_herald_admit(rx, &p->client, p->local, p->path, p->seqno,
		    p->herald_ms, ADMIT_SPACE_ASKED |
		    (p->linux_client ? ADMIT_LINUX : 0));
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
	adm_herald_admit(rx, &p->client, p->local, p->path, p->seqno,
	    p->herald_ms, (p->proc.hook == ND_HOOK_CRASH ?
	    ADMIT_SPACE_ASKED | ADMIT_CRASH_DONE : ADMIT_SPACE_ASKED) |
	    (p->linux_client ? ADMIT_LINUX : 0));
}

/*
 * A Linux client's console showed a crash and no netdump session came
 * for it: netdump-crash runs as a notice (ip, its boot directory), and
 * its answer decides nothing.
 */
void
adm_crash_notice(struct nd_receiver *rx, const struct sockaddr_in *from,
    const char *dir)
{
	struct in_addr any = { .s_addr = INADDR_ANY };

	if (!rx->stopping && adm_pending_start(rx, ND_HOOK_CRASH, from, any,
	    dir, 0, now_ms(), false) == 1)
		rx->pendings->notice = true;
}

void
adm_start_notice(struct nd_receiver *rx, const struct sockaddr_in *from,
    const char *path)
{
	struct in_addr any = { .s_addr = INADDR_ANY };

	if (!rx->stopping)
		(void)adm_pending_start(rx, ND_HOOK_START, from, any, path, 0,
		    now_ms(), false);
}

void
adm_hook_exited(struct nd_receiver *rx, struct pending *p)
{
	if (!p->dead)
		pending_done(rx, p, false);
}

void
adm_tick(struct nd_receiver *rx, time_t now)
{
	struct pending *p, *pnext;

	for (p = rx->pendings; p != NULL; p = pnext) {
		pnext = p->next;
		if (now - p->started >= (time_t)rx->conf->server.hook_timeout) {
			/*
			 * A Linux client's hook that never answered is late,
			 * not a no: a dump is not lost to a slow hook.
			 */
			if (p->linux_client && !p->late && !p->notice &&
			    p->proc.hook != ND_HOOK_START)
				pending_expire(rx, p);
			rx_ep_forget(rx->ep, p->proc.pidfd);
			nd_hook_kill(&p->proc, "ran past hook_timeout");
			pending_done(rx, p, true);
		} else if (!p->late && !p->notice && !p->linux_client &&
		    p->proc.hook != ND_HOOK_START &&
		    herald_deadline_passed(rx, p->herald_ms))
			pending_expire(rx, p);
	}
}

void
adm_reap(struct nd_receiver *rx)
{
	struct pending *p;

	while ((p = rx->pending_graveyard) != NULL) {
		rx->pending_graveyard = p->next;
		free(p);
	}
}

void
adm_free(struct nd_receiver *rx)
{
	struct pending *p;

	while ((p = rx->pendings) != NULL) {
		rx->pendings = p->next;
		rx_ep_forget(rx->ep, p->proc.pidfd);
		nd_hook_kill(&p->proc, "still ran when the server stopped");
		free(p);
	}
	adm_reap(rx);
}
