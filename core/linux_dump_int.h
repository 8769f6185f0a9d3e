/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the Linux front-end's two files share, and no other includes: the
 * session (linux_dump.c drives it, linux_pull.c pulls its memory) and
 * the front-end's state.
 */
#ifndef ND_LINUX_DUMP_INT_H
#define ND_LINUX_DUMP_INT_H

#include <netinet/in.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "assembler.h"
#include "elfcore.h"
#include "linux_wire.h"
#include "proto.h"

#define LX_WINDOW	64	/* page requests out at once, at most */
/*
 * ... and at most this many bytes of replies on their way: a client
 * answers a request with page_size / 1024 datagrams at once, and 64
 * pages of 16 or 64 KiB (ia64) had 1 or 4 MiB coming at once: on
 * loopback without loss a 64 MiB dump then had 366 or 285 requests sent
 * again, and with 64 KiB pages a third of the speed.
 */
#define LX_WINDOW_BYTES	(256u << 10)
#define LX_RTO_MIN	20	/* ms */
#define LX_RTO_MAX	1000
#define LX_CTL_RTO	500	/* ms, a control request (not measured) */
#define LX_CTL_TRIES	20	/* then the client is taken as gone */
#define LX_PAGE_TRIES	64	/* then the page is given up as missing */
#define LX_GIVEN_UP_LOGGED 8	/* pages given up said one by one; then
				 * counted in the dump's summary */
#define LX_FAST_AFTER	2	/* later pages answered: resend */
#define LX_SHOW_TRIES	5	/* SHOW_STATE, LX_CTL_RTO * 2 apart */
#define LX_SHOW_MAX_MS	300000	/* console text delays the reboot so long */
#define LX_REBOOTS	3	/* COMM_REBOOT is never answered */
#define LX_MAX_GATED	64	/* announcements waiting for admission */
#define LX_MAX_HANDSHAKE 64	/* admitted, HELLO not answered yet */
#define LX_MAX_REFUSED	16	/* refused clients being rebooted at once */
#define LX_MAX_DONE	256	/* ended sessions kept (LX_LINGER) */
#define LX_MAX_LOADS	128	/* PT_LOAD room in the header */
#define LX_MAX_HOLES	4096	/* non-RAM ranges kept for the header */
#define LX_PAGE_MAX	65536	/* ia64's largest; the mask is 64 bits */
_Static_assert(LX_WINDOW_BYTES >= LX_PAGE_MAX,
    "the window holds a page of the largest size");
#define LX_ZERO_FILL	64	/* frames: shorter holes are written */
/*
 * A skip REPLY_RESERVED claims is taken whole while the frames not RAM
 * stay within this plus the RAM that came; beyond, a frame per reply.
 * (As the FreeBSD path's GAP_SLACK: what one reply can make of zeros.)
 */
#define LX_HOLE_SLACK	((uint64_t)16 << 20)
#define LX_LOG_EVERY	10	/* seconds between counter lines */
#define LX_LINGER	60	/* seconds a DONE session stays: late
				 * answers to it are not strangers' */
#define EM_386		3
#define EM_X86_64	62
#define BLK		((uint64_t)ND_BLOCK_SIZE)

enum lx_state {
	LX_GATED,
	LX_HANDSHAKE,
	LX_INFO,
	LX_MEMORY,
	LX_SHOW_STATE,
	LX_REBOOT,
	LX_DONE,
};

struct lx_slot {
	bool		 used;
	uint32_t	 pfn;
	uint64_t	 mask;		/* chunks received */
	uint64_t	 sent;		/* ms */
	uint64_t	 seq;		/* send order */
	unsigned	 tries;
	unsigned	 later;		/* later requests answered since */
};

struct lx_session {
	struct lx_session	*next;
	struct sockaddr_in	 from;
	char			 addr[INET_ADDRSTRLEN];
	enum lx_state		 state;
	uint64_t		 id;
	char			 path[ND_MAX_HERALD_PATH + 1];
	uint32_t		 machine;	/* START's nr */
	struct lx_start		 start;
	time_t			 gated_at;
	uint64_t		 last_rx;	/* ms */
	time_t			 done_at;

	/* The one control request out (HANDSHAKE .. SHOW_STATE, REBOOT). */
	uint32_t		 ctl_cmd;
	uint32_t		 ctl_nr;
	/*
	 * A page request's nr is its frame number XOR this, drawn for the
	 * session: the client echoes it, and frame numbers are pulled in
	 * order, so bare ones would let a forger who cannot see our
	 * requests answer them (a RESERVED reply turns RAM into holes).
	 */
	uint32_t		 pfn_key;
	uint64_t		 ctl_sent;
	uint64_t		 show_since;	/* ms, SHOW_STATE first sent */
	unsigned		 ctl_tries;

	/* INFO */
	uint32_t		 page_size;
	uint64_t		 max_pfn;
	uint32_t		 ram_pages;
	uint8_t			 regs[216];
	size_t			 regs_len;
	bool			 have_regs;
	bool			 just_reboot;	/* refused: HELLO, SHOW_STATE,
						 * REBOOT, no memory */
	bool			 wait_slot;	/* INFO done, a dump limit
						 * holds: memory waits */

	/* MEMORY */
	struct nd_dump		*dump;
	struct nd_asm		 as;
	struct nd_elf_desc	 desc;
	uint64_t		 header_size;
	uint8_t			*header;	/* the provisional one */
	unsigned		 chunks;	/* per page */
	unsigned		 window;	/* page requests out at once */
	uint64_t		 next_pfn;	/* the next frame to ask for */
	struct lx_slot		 win[LX_WINDOW];
	unsigned		 nout;
	uint64_t		 seq;
	uint64_t		 srtt, rttvar;	/* ms << 3, ms << 2 */
	struct nd_elf_range	*holes;		/* not RAM, sorted, merged */
	size_t			 nholes, holes_cap;
	uint64_t		 claimed_end;	/* of a skip cut short */
	bool			 hole_budget_said;
	unsigned		 given_up;	/* page frames */
};

struct nd_lx {
	int			 fd;
	struct nd_console	*console;
	struct lx_session	*sessions;
	/* Counted, logged every LX_LOG_EVERY s at most. */
	uint64_t		 cookie_bad, cookie_logged;
	uint64_t		 machine_bad, machine_logged;
	uint64_t		 unasked, unasked_logged;
	uint64_t		 malformed, malformed_logged;
	uint64_t		 other_port, other_port_logged;
	uint64_t		 refused_over, refused_over_logged;
	uint64_t		 unproven, unproven_logged;
	uint64_t		 no_hello, no_hello_logged;
	char			 last_cookie[INET_ADDRSTRLEN];
	char			 last_machine[INET_ADDRSTRLEN];
	char			 last_other[INET_ADDRSTRLEN];
	char			 last_refused[INET_ADDRSTRLEN];
	char			 last_unproven[INET_ADDRSTRLEN];
	char			 last_no_hello[INET_ADDRSTRLEN];
	time_t			 logged_at;
};

static inline uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct nd_receiver;

/* linux_dump.c */
void	lx_send_request(struct nd_lx *, struct lx_session *, uint32_t nr,
	    uint32_t command, uint32_t from);
void	lx_show_state(struct nd_lx *, struct lx_session *);

/* linux_pull.c: the MEMORY state. */
void	lx_memory_begin(struct nd_lx *, struct nd_receiver *,
	    struct lx_session *);
void	lx_mem_reply(struct nd_lx *, struct lx_session *,
	    const struct lx_reply *);
void	lx_skip_reply(struct nd_lx *, struct lx_session *,
	    const struct lx_reply *);
void	lx_pages_late(struct nd_lx *, struct lx_session *, uint64_t now);
/* The receive side is done with the dump; why NULL: it may be complete. */
void	lx_memory_end(struct nd_lx *, struct lx_session *, const char *why);

#endif /* ND_LINUX_DUMP_INT_H */
