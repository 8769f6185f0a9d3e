/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for panic signatures (core/signature.c): the normalisation
 * rules on real FreeBSD panic strings, each from the source that panics
 * with it (or a report of it), and the backtrace frames of both formats
 * FreeBSD prints before a dump.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "signature.h"

struct norm_case {
	const char	*in;
	const char	*want;
};

static void
normalise_corpus(void **state)
{
	static const struct norm_case cases[] = {
		/* sys/vm/vm_fault.c: "vm_fault: fault on nofault entry,
		 * addr: %lx" (stress2 logs show the bare hex) and "%p". */
		{ "vm_fault: fault on nofault entry, addr: cdbbe000",
		  "vm_fault: fault on nofault entry, addr: ?" },
		{ "vm_fault_hold: fault on nofault entry, addr: 0x33522000",
		  "vm_fault_hold: fault on nofault entry, addr: 0x?" },
		/* sys/amd64/amd64/trap.c: trap_fatal panics with
		 * trap_msg[type]. */
		{ "page fault", "page fault" },
		{ "general protection fault", "general protection fault" },
		/* sys/kern/kern_mutex.c, _mtx_lock_spin_failed. */
		{ "spin lock held too long", "spin lock held too long" },
		/* sys/kern/subr_turnstile.c, propagate_priority. */
		{ "sleeping thread", "sleeping thread" },
		/* KASSERT (sys/sys/kassert.h): "Assertion %s failed at
		 * %s:%d"; the build root differs, the source path not. */
		{ "Assertion td->td_critnest == 0 failed at "
		  "/usr/src/sys/kern/subr_trap.c:180",
		  "Assertion td->td_critnest == # failed at "
		  "sys/kern/subr_trap.c:#" },
		{ "Assertion td->td_critnest == 0 failed at "
		  "/home/build/freebsd/sys/kern/subr_trap.c:181",
		  "Assertion td->td_critnest == # failed at "
		  "sys/kern/subr_trap.c:#" },
		/* sys/kern/kern_mutex.c, __mtx_assert. */
		{ "mutex Giant not owned at /usr/src/sys/kern/vfs_subr.c:3219",
		  "mutex Giant not owned at sys/kern/vfs_subr.c:#" },
		/* sys/ufs/ufs/ufs_lookup.c, ufs_dirbad. */
		{ "ufs_dirbad: /: bad dir ino 2 at offset 0: mangled entry",
		  "ufs_dirbad: /: bad dir ino # at offset #: mangled entry" },
		/* sys/vm/uma_dbg.c, trash_ctor. */
		{ "Memory modified after free 0xfffff80012345000(248) "
		  "val=deadc0dd @ 0xfffff80012345010",
		  "Memory modified after free 0x?(#) val=? @ 0x?" },
		/* sys/contrib/openzfs: VERIFY3 keeps its name, the values
		 * go. */
		{ "VERIFY3(0 == zap_add(mos, obj, name, 8, 1, &v, tx)) "
		  "failed (0 == 17)",
		  "VERIFY3(# == zap_add(mos, obj, name, #, #, &v, tx)) "
		  "failed (# == #)" },
		/* Device names keep their unit. */
		{ "ada0: lost device, 3 refs", "ada0: lost device, # refs" },
		/* White space, a second line, a Linux console timestamp. */
		{ "  page   fault \n  second line", "page fault" },
		{ "[    1.003000] Kernel panic - not syncing: Oops",
		  "Kernel panic - not syncing: Oops" },
		/* CONFIG_PRINTK_CALLER: the thread or cpu after the time. */
		{ "[   12.345678] [ T1234] BUG: kernel NULL pointer "
		  "dereference, address: 0000000000000010",
		  "BUG: kernel NULL pointer dereference, address: #" },
		{ "[   12.345678] [    C2] Oops: 0002 [#1] SMP",
		  "Oops: # [##] SMP" },
		/* A terminal escape in a panic string is not one in a log. */
		{ "\x1b[2J\x1b[31mpwned", "?[2J?[31mpwned" },
		/* Nor one in UTF-8's C1 (U+009B, CSI). */
		{ "panic \xc2\x9b" "2J here", "panic ??2J here" },
		{ "", "" },
	};
	char out[ND_SIG_PANIC_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nd_panic_normalise(cases[i].in, strlen(cases[i].in), out,
		    sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("'%s'\n  gave '%s'\n  want '%s'", cases[i].in,
			    out, cases[i].want);
	}
}

/* The same crash on two machines, at other addresses: one text. */
static void
normalise_same_crash(void **state)
{
	char a[ND_SIG_PANIC_MAX + 1], b[ND_SIG_PANIC_MAX + 1];
	static const char x[] = "spin lock 0xffffffff81cf4c80 (smp rendezvous)"
	    " held by 0xfffff80003a1b000 (tid 100014) too long";
	static const char y[] = "spin lock 0xffffffff81d00000 (smp rendezvous)"
	    " held by 0xfffff80004000000 (tid 100231) too long";

	(void)state;
	nd_panic_normalise(x, sizeof(x) - 1, a, sizeof(a));
	nd_panic_normalise(y, sizeof(y) - 1, b, sizeof(b));
	assert_string_equal(a, b);
	assert_string_equal(a, "spin lock 0x? (smp rendezvous) held by 0x? "
	    "(tid #) too long");
}

static void
normalise_cut(void **state)
{
	char in[400], out[ND_SIG_PANIC_MAX + 8];

	(void)state;
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	assert_int_equal(nd_panic_normalise(in, strlen(in), out, sizeof(out)),
	    ND_SIG_PANIC_MAX);
	assert_int_equal(strlen(out), ND_SIG_PANIC_MAX);
	/* Words: cut after the last whole one, never inside one. */
	for (size_t i = 0; i < sizeof(in) - 1; i++)
		in[i] = i % 10 == 9 ? ' ' : 'b';
	assert_int_equal(nd_panic_normalise(in, strlen(in), out, sizeof(out)),
	    159);
	assert_int_equal(out[158], 'b');
	/* A buffer smaller than the text: cut, terminated. */
	assert_int_equal(nd_panic_normalise("page fault", 10, out, 5), 4);
	assert_string_equal(out, "page");
}

/*
 * FreeBSD 12 and later (sys/kern/subr_kdb.c kdb_backtrace,
 * stack_print_ddb): "#N 0x... at func+0x...".
 */
static const char msgbuf_new[] =
    "Fatal trap 12: page fault while in kernel mode\n"
    "cpuid = 1; apic id = 01\n"
    "fault virtual address\t= 0x18\n"
    "panic: page fault\n"
    "cpuid = 1\n"
    "time = 1700000000\n"
    "KDB: stack backtrace:\n"
    "#0 0xffffffff80b9002d at kdb_backtrace+0x5d\n"
    "#1 0xffffffff80b43132 at vpanic+0x132\n"
    "#2 0xffffffff80b42ff3 at panic+0x43\n"
    "#3 0xffffffff8100c85c at trap_fatal+0x40c\n"
    "#4 0xffffffff8100c8af at trap_pfault+0x4f\n"
    "#5 0xffffffff80fe3828 at calltrap+0x8\n"
    "#6 0xffffffff80d4e2a1 at tcp_output+0x1141\n"
    "#7 0xffffffff80d5c8a5 at tcp_usr_send+0x235\n"
    "#8 0xffffffff80bbfe7c at sosend_generic+0x5fc\n"
    "#9 0xffffffff80bc04e0 at sosend+0x50\n"
    "Uptime: 3d2h\n";

/* Before FreeBSD 12 (ddb's db_trace): "func() at func+0x.../frame ...". */
static const char msgbuf_old[] =
    "Sleeping thread (tid 100066, pid 12) owns a non-sleepable lock\n"
    "KDB: stack backtrace of thread 100066:\n"
    "sched_switch() at sched_switch+0x482/frame 0xfffffe001c39c8d0\n"
    "panic: sleeping thread\n"
    "KDB: stack backtrace:\n"
    "db_trace_self_wrapper() at db_trace_self_wrapper+0x2b/frame "
    "0xfffffe001c39c9c0\n"
    "vpanic() at vpanic+0x186/frame 0xfffffe001c39ca00\n"
    "panic() at panic+0x43/frame 0xfffffe001c39ca60\n"
    "propagate_priority() at propagate_priority+0x2a1/frame "
    "0xfffffe001c39caa0\n"
    "--- trap 0xc, rip = 0xffffffff80a1b2c3, rsp = 0xfffffe001c39cb00 ---\n"
    "igb_mq_start_locked() at igb_mq_start_locked+0xe4/frame "
    "0xfffffe001c39cda0\n"
    "igb_mq_start() at igb_mq_start+0x224/frame 0xfffffe001c39ce10\n";

static void
frames_both_formats(void **state)
{
	char f[ND_SIG_FRAMES][ND_SIG_FRAME_MAX];

	(void)state;
	assert_int_equal(nd_backtrace_frames(msgbuf_new, sizeof(msgbuf_new) -
	    1, f, ND_SIG_FRAMES), 3);
	assert_string_equal(f[0], "tcp_output");
	assert_string_equal(f[1], "tcp_usr_send");
	assert_string_equal(f[2], "sosend_generic");
	/* The last "KDB: stack backtrace:" (the panic's), not the one of
	 * the sleeping thread; the "--- trap" line is passed over. */
	assert_int_equal(nd_backtrace_frames(msgbuf_old, sizeof(msgbuf_old) -
	    1, f, ND_SIG_FRAMES), 3);
	assert_string_equal(f[0], "propagate_priority");
	assert_string_equal(f[1], "igb_mq_start_locked");
	assert_string_equal(f[2], "igb_mq_start");
}

/*
 * i386's ddb prints the arguments (sys/i386/i386/db_trace.c), arm64's a
 * register line under each frame (sys/arm64/arm64/db_trace.c); a ring
 * may hold CRs and msgbuf_show_timestamp's "[time] ".
 */
static void
frames_other_formats(void **state)
{
	char f[ND_SIG_FRAMES][ND_SIG_FRAME_MAX];
	static const char i386[] = "KDB: stack backtrace:\n"
	    "db_trace_self_wrapper(c1107f6c,c1a5e8a0,0,c0fd6c11,f3d4e9c0,...) "
	    "at db_trace_self_wrapper+0x2a/frame 0xf3d4e998\n"
	    "vpanic(c10e6a31,f3d4e9d4,f3d4e9d4,f3d4ea08,c0a8e1c3,...) at "
	    "vpanic+0x116/frame 0xf3d4e9c0\n"
	    "ufs_dirbad(c6b1e000,200,c10f2b7e,0,c6b1e000,...) at "
	    "ufs_dirbad+0x4e/frame 0xf3d4e9e4\n";
	static const char arm64[] = "KDB: stack backtrace:\n"
	    "db_trace_self() at db_trace_self\n"
	    "\t pc = 0xffff00000050f8a0  lr = 0xffff000000089b8c\n"
	    "\t sp = 0xffff0000c03b2380  fp = 0xffff0000c03b2590\n\n"
	    "vpanic() at vpanic+0x1a0\n"
	    "\t pc = 0xffff00000026fbe4  lr = 0xffff00000026f8c4\n"
	    "zio_done() at zio_done+0x2c4\n";
	static const char crlf[] = "KDB: stack backtrace:\r\n"
	    "[ 12.5] #0 0xffffffff80b9002d at kdb_backtrace+0x5d\r\n"
	    "[ 12.5] #1 0xffffffff80d4e2a1 at tcp_output+0x1141\r\n";

	(void)state;
	assert_int_equal(nd_backtrace_frames(i386, sizeof(i386) - 1, f,
	    ND_SIG_FRAMES), 1);
	assert_string_equal(f[0], "ufs_dirbad");
	assert_int_equal(nd_backtrace_frames(arm64, sizeof(arm64) - 1, f,
	    ND_SIG_FRAMES), 1);
	assert_string_equal(f[0], "zio_done");
	assert_int_equal(nd_backtrace_frames(crlf, sizeof(crlf) - 1, f,
	    ND_SIG_FRAMES), 1);
	assert_string_equal(f[0], "tcp_output");
}

static void
frames_none(void **state)
{
	char f[ND_SIG_FRAMES][ND_SIG_FRAME_MAX];
	static const char cut[] = "panic: x\nKDB: stack backtrace:";
	static const char junk[] = "KDB: stack backtrace:\nnot a frame\n"
	    "#1 0xffff at vpanic+0x1\n";

	(void)state;
	assert_int_equal(nd_backtrace_frames("", 0, f, ND_SIG_FRAMES), 0);
	assert_int_equal(nd_backtrace_frames(cut, sizeof(cut) - 1, f,
	    ND_SIG_FRAMES), 0);
	/* The first line that is not a frame ends the backtrace. */
	assert_int_equal(nd_backtrace_frames(junk, sizeof(junk) - 1, f,
	    ND_SIG_FRAMES), 0);
}

static void
signature_fill_and_canon(void **state)
{
	struct nd_signature a, b;
	char ca[512], cb[512];

	(void)state;
	assert_false(nd_signature_fill(&a, "amd64", "FreeBSD 14.1", NULL,
	    NULL, 0));
	assert_false(nd_signature_fill(&a, "amd64", "FreeBSD 14.1", "  ",
	    NULL, 0));
	assert_true(nd_signature_fill(&a, "amd64",
	    "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC\n",
	    "page fault", msgbuf_new, sizeof(msgbuf_new) - 1));
	assert_string_equal(a.version,
	    "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC");
	assert_int_equal(a.nframes, 3);
	nd_signature_canon(&a, ca, sizeof(ca));
	assert_string_equal(ca, "amd64\nFreeBSD 14.1-RELEASE "
	    "releng/14.1-n267679-10e31f0946d8 GENERIC\npage fault\n"
	    "tcp_output\ntcp_usr_send\nsosend_generic\n");
	/* Another backtrace: another signature. */
	assert_true(nd_signature_fill(&b, "amd64",
	    "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC",
	    "page fault", msgbuf_old, sizeof(msgbuf_old) - 1));
	nd_signature_canon(&b, cb, sizeof(cb));
	assert_string_not_equal(ca, cb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(normalise_corpus),
		cmocka_unit_test(normalise_same_crash),
		cmocka_unit_test(normalise_cut),
		cmocka_unit_test(frames_both_formats),
		cmocka_unit_test(frames_other_formats),
		cmocka_unit_test(frames_none),
		cmocka_unit_test(signature_fill_and_canon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
