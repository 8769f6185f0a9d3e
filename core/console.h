/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Console text from Linux clients (netlog, mainline netconsole plain and
 * extended, see linux_wire.h), kept per client in a file "log" in the
 * client's directory beneath the dump directory, one directory per boot,
 * named as Red Hat's netdump-server did: <client-ip>-YYYY-MM-DD-HH:MM
 * (local time), with -1, -2 ... when that name is taken.
 *
 * Single-threaded: the receiver calls everything from its own thread.
 */
#ifndef ND_CONSOLE_H
#define ND_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct nd_console;

struct nd_console_conf {
	int		dumpdir_fd;	/* O_DIRECTORY of the dump directory; borrowed */
	uint64_t	log_size;	/* rotate "log" beyond this many bytes */
	unsigned	log_keep;	/* rotated files kept: log.1 .. log.N */
	unsigned	max_clients;	/* clients tracked at once (LRU evicted) */
	time_t		(*wall_clock)(void);	/* names directories; NULL:
						 * time(), the system's */
};

/* NULL on ENOMEM. log_size 0: never rotate; max_clients 0 is taken as 1. */
struct nd_console *nd_console_new(const struct nd_console_conf *);
/* Writes out what is waiting (incomplete messages) and closes the files. */
void	nd_console_free(struct nd_console *);
/*
 * The console's clock, the "now" of its calls: seconds that only move
 * forward (CLOCK_MONOTONIC), so that no setting of the system's clock can
 * hold its timers back or run them out early. The wall clock only names
 * directories.
 */
time_t	nd_console_now(void);
/*
 * One datagram from a client allowed to send console text, at
 * nd_console_now(). true if it was console text (consumed, also when
 * it could not be stored, and for an empty datagram), false if it is a
 * netdump reply that is not REPLY_LOG, or one that does not decode (for the
 * dump front-end).
 */
bool	nd_console_input(struct nd_console *, uint32_t addr /* network order */,
	    const uint8_t *buf, size_t len, time_t now);
/*
 * Once a second: flush fragments waiting too long (5 s), close files idle
 * for 60 s, log the rate-limited counters.
 */
void	nd_console_tick(struct nd_console *, time_t now);
/*
 * The client's current directory name (relative to the dump directory),
 * or NULL if it has none; and the last oops/panic line seen in this boot,
 * or NULL. For the dump front-end and the manifest. The strings are the
 * console's: valid until the next nd_console_input, _tick or _free.
 */
const char *nd_console_dir(struct nd_console *, uint32_t addr);
const char *nd_console_oops(struct nd_console *, uint32_t addr);
/* The first oops or panic line of this boot: what the crash was. */
const char *nd_console_first_oops(struct nd_console *, uint32_t addr);
/*
 * A client whose console showed its first oops or panic of this boot
 * since the last call: true, its address (network order) and directory.
 */
bool	nd_console_crashed(struct nd_console *, uint32_t *addr,
	    const char **dir);
/*
 * The client's directory of this boot as nd_console_dir, made (or the
 * newest found) if it has none yet; NULL when that fails. For a crash.
 */
const char *nd_console_boot_dir(struct nd_console *, uint32_t addr,
	    time_t now);

#endif /* ND_CONSOLE_H */
