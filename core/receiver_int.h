/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What receiver.c shares with the code its thread runs (session_msg.c,
 * admission.c, admission_hooks.c, the Linux front-end's linux_*.c) and
 * no other file includes: the receiver, its sessions, and the helpers of
 * receiver.c they call. One thread runs them all, so nothing here is locked.
 */
#ifndef ND_RECEIVER_INT_H
#define ND_RECEIVER_INT_H

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "admission.h"
#include "assembler.h"
#include "conf.h"
#include "linux_port.h"
#include "proto.h"
#include "receiver.h"
#include "tally.h"

#define RX_BATCH	64		/* datagrams per recvmmsg */
/*
 * Sessions are found by their client's address in a table this wide: a
 * HERALD flood from many addresses keeps thousands waiting, and each
 * HERALD looks its address up.
 */
#define SESSION_BUCKETS	4096
#define FINISH_WAIT	5		/* s: a FINISHED not numbered next
					 * ends the dump if nothing follows
					 * (a kernel resends each second) */
#define RX_BUFSIZE	65536		/* > the largest UDP payload */
#define HERALD_BATCH	16		/* datagrams per recvmmsg, herald port */
#define MAX_CHAINS	ND_ROUTE_MAX_CHAINS

/* Reasons a datagram is dropped without an ack, counted per source. */
enum drop {
	DROP_RUNT,
	DROP_BAD_LENGTH,
	DROP_BAD_TYPE,
	DROP_BEYOND_MAX,
	DROP_TOO_FAR,
	DROP_FAR_JUMP,
	DROP_KDH_RANGE,
	DROP_KEY_RANGE,
	DROP_BUSY,
	DROP_AFTER_END,
	DROP_UNEXPECTED,
	DROP_NKINDS
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
	EV_LINUX,
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
	struct session		*prev;		/* in sessions only */
	LIST_ENTRY(session)	 by_addr;	/* in rx->by_addr, while in
						 * sessions */
	TAILQ_ENTRY(session)	 waiting_link;	/* in rx->waiting */
	bool			 waiting;	/* in rx->waiting: HERALDED */
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
	bool			 draining;	/* in rx_session_drain() */
	uint64_t		 unanswered;	/* messages read since then */
	time_t			 last_rx;	/* any message but a HERALD,
						 * or admission */
	time_t			 last_data;	/* any but a HERALD */
	time_t			 finish_at;	/* a FINISHED that may be
						 * forged: ends the session
						 * then unless data is
						 * taken first; 0 none */
	uint32_t		 last_seqno;	/* highest taken; see taken() */
	uint32_t		 finish_seqno;	/* finish_at's FINISHED's */
	/*
	 * A HERALD that came to this session's socket after data, from a
	 * client that restarted and took this port from an ack of its old
	 * self: answered as one at the herald port once the batch is read.
	 */
	struct nd_msg		*herald;
	time_t			 ended_at;
	time_t			 last_progress;
	uint64_t		 progress_bytes; /* cov.total then */
	time_t			 last_new;	/* vmcore bytes new to the dump */
	struct drops		 drops;
};

LIST_HEAD(session_bucket, session);
TAILQ_HEAD(session_queue, session);

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
	struct nd_linux_port	*linux_port;	/* NULL: linux_port = 0 */
	struct session		*sessions;	/* newest first */
	struct session		*graveyard;
	struct session_bucket	 by_addr[SESSION_BUCKETS];
	/* S_HERALDED sessions, oldest first (by heralded_ms). */
	struct session_queue	 waiting;
	size_t			 nwaiting;
	struct pending		*pendings;
	struct pending		*pending_graveyard;
	struct refusal		 refusals[REFUSALS];
	/* HERALDs that found every hook place taken: since when. */
	struct hook_wait {
		uint32_t	 addr;
		uint16_t	 port;
		uint64_t	 since;		/* now_ms; 0: unused */
	}			 hook_waits[HOOK_WAITS];
	uint64_t		 next_id;
	struct drops		 herald_drops;
	struct drops		 undumped_drops;	/* of sessions with no dump */
	uint64_t		 refused_busy, refused_logged;
	int64_t			 refused_limit;	/* max_concurrent_dumps then */
	uint64_t		 evicted, evicted_logged;
	uint64_t		 flood_refused, flood_logged;
	uint64_t		 flood_paced, paced_logged;
	uint32_t		 hash_seed, hash_mult;	/* of rx_bucket */
	uint64_t		 path_seed;	/* of refusals' path_key */
	uint64_t		 admit_ms;	/* now_ms of the last admission */
	unsigned		 admitted_in_ms; /* in that millisecond */
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
	 * (rx_session_drain) while the rest of its batch waits.
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

static inline uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline time_t
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* receiver.c, for admission; each is described where it is defined. */
void	rx_sockbuf(int fd);
void	rx_ep_forget(int ep, int fd);
void	rx_session_free(struct nd_receiver *, struct session *);
void	rx_session_end(struct nd_receiver *, struct session *,
	    const char *reason);
void	rx_session_link(struct nd_receiver *, struct session *);
void	rx_session_unwait(struct nd_receiver *, struct session *);
struct session_bucket *rx_bucket(struct nd_receiver *, in_addr_t);
void	rx_bury(struct nd_receiver *, struct session *);
void	rx_session_drain(struct nd_receiver *, struct session *);
/* session_msg.c: one well-formed message of a session; true: ack it. */
bool	rx_session_msg(struct nd_receiver *, struct session *,
	    const struct nd_msg *);

#endif /* ND_RECEIVER_INT_H */
