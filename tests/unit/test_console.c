/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for console and oops capture (core/console.c), in a
 * temporary dump directory. The datagrams are what the RHEL 4 kernel's
 * netconsole/netdump send (REPLY_LOG: version 4, nr 0, code 2, info the
 * console offset) and the examples of
 * Documentation/networking/netconsole.rst, as in test_linux_wire.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console.h"
#include "linux_wire.h"
#include "log.h"

#define T0	((time_t)1800000000)	/* 2027-01-15 08:00:00 UTC */
#define IP1	htonl_(0x0a000001)	/* 10.0.0.1 */
#define IP2	htonl_(0x0a000002)
#define IP3	htonl_(0x0a000003)
#define IP4	htonl_(0x0a000004)

struct fx {
	char			 dir[64];
	int			 dfd;
	struct nd_console	*con;
	struct nd_console_conf	 conf;
};

/*
 * The wall clock the console names directories by. The helpers below set
 * it to the time they are given, so that the console's clock and the
 * wall clock agree unless a test steps one of them.
 */
static time_t wall_now = T0;

static time_t
fake_wall(void)
{
	return wall_now;
}

static uint32_t
htonl_(uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };
	uint32_t r;

	memcpy(&r, b, 4);
	return r;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_console.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(f->dfd >= 0);
	wall_now = T0;
	f->conf = (struct nd_console_conf){ .dumpdir_fd = f->dfd,
	    .log_size = 1 << 20, .log_keep = 3, .max_clients = 16,
	    .wall_clock = fake_wall };
	f->con = nd_console_new(&f->conf);
	assert_non_null(f->con);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	nd_console_free(f->con);
	close(f->dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* send_netdump_msg for a REPLY_LOG chunk. */
static size_t
netlog(uint8_t *out, uint32_t offset, const char *text)
{
	size_t i, len = strlen(text);

	out[0] = 4;
	for (i = 0; i < 4; i++) {
		out[1 + i] = 0;
		out[5 + i] = (uint8_t)(LX_REPLY_LOG >> (24 - 8 * i));
		out[9 + i] = (uint8_t)(offset >> (24 - 8 * i));
	}
	memcpy(out + 13, text, len);
	return 13 + len;
}

static bool
nl(struct fx *f, uint32_t addr, uint32_t offset, const char *text,
    time_t now)
{
	uint8_t d[2048];

	wall_now = now;
	return nd_console_input(f->con, addr, d, netlog(d, offset, text),
	    now);
}

static bool
txt(struct fx *f, uint32_t addr, const char *s, time_t now)
{
	wall_now = now;
	return nd_console_input(f->con, addr, (const uint8_t *)s, strlen(s),
	    now);
}

/* The contents of <dump dir>/<dir>/<name>, or NULL if it is absent. */
static const char *
file(struct fx *f, const char *dir, const char *name)
{
	static char buf[1 << 17];
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", f->dir, dir, name);
	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static const char *
client_log(struct fx *f, uint32_t addr)
{
	const char *d = nd_console_dir(f->con, addr);

	assert_non_null(d);
	return file(f, d, "log");
}

/* How many entries of the dump directory start with prefix. */
static int
count_dirs(struct fx *f, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(f->dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void
test_plain(void **state)
{
	struct fx *f = *state;
	struct stat st;
	char path[256];

	assert_null(nd_console_dir(f->con, IP1));
	assert_true(txt(f, IP1, "[    0.000000] Linux version 6.8.0\n", T0));
	assert_true(txt(f, IP1, "partial ", T0));
	assert_true(txt(f, IP1, "line\n", T0 + 1));
	assert_string_equal(nd_console_dir(f->con, IP1),
	    "10.0.0.1-2027-01-15-08:00");
	assert_string_equal(client_log(f, IP1),
	    "[    0.000000] Linux version 6.8.0\npartial line\n");
	assert_null(nd_console_oops(f->con, IP1));
	snprintf(path, sizeof(path), "%s/10.0.0.1-2027-01-15-08:00", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/10.0.0.1-2027-01-15-08:00/log",
	    f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* In order, a duplicate, a gap, the late chunk, an overlap. */
static void
test_netlog(void **state)
{
	struct fx *f = *state;

	assert_true(nl(f, IP1, 5000, "eth0: link up\n", T0));
	assert_true(nl(f, IP1, 5014, "one\n", T0));
	assert_true(nl(f, IP1, 5014, "one\n", T0));		/* duplicate */
	assert_true(nl(f, IP1, 5024, "three\n", T0));		/* gap 5018.. */
	assert_true(nl(f, IP1, 5030, "four\n", T0));
	assert_true(nl(f, IP1, 5018, "two\n", T0));	/* late, 4 of 6 */
	assert_true(nl(f, IP1, 5030, "four\nfive\n", T0));	/* overlap */
	assert_true(nl(f, IP1, 5018, "two\n", T0));		/* duplicate */
	assert_string_equal(client_log(f, IP1),
	    "eth0: link up\none\n"
	    "[netdump-server: 6 bytes of console text missing here]\n"
	    "three\nfour\n"
	    "[netdump-server: late console text from offset 5018]\n"
	    "two\n"
	    "[netdump-server: console text resumes at offset 5035]\n"
	    "five\n");
	/* The rest of the gap, 2 bytes, still comes late. */
	assert_true(nl(f, IP1, 5020, "o\nX\n", T0));
	assert_true(nl(f, IP1, 5040, "six\n", T0));
	assert_string_equal(strstr(client_log(f, IP1), "five\n"),
	    "five\n"
	    "[netdump-server: late console text from offset 5022]\n"
	    "X\n"
	    "[netdump-server: console text resumes at offset 5040]\n"
	    "six\n");
}

/* The fragments of netconsole.rst's example, second one first. */
static void
test_ext(void **state)
{
	struct fx *f = *state;
	static const char frag0[] = "6,416,1758426,-,ncfrag=0/31;the first "
	    "chunk,";
	static const char frag1[] = "6,416,1758426,-,ncfrag=16/31; the 2nd "
	    "chunk.";
	static const char rel[] = "6.4.0,6,417,501151268,-;netconsole: "
	    "network logging started\n";

	assert_true(txt(f, IP1, frag1, T0));
	assert_null(nd_console_dir(f->con, IP1));	/* nothing written */
	assert_true(txt(f, IP1, frag0, T0));
	assert_string_equal(client_log(f, IP1),
	    "[    1.758426] the first chunk, the 2nd chunk.\n");
	assert_true(txt(f, IP1, frag0, T0));		/* duplicate seq */
	assert_true(txt(f, IP1, "6,416,1758426,-;again", T0));
	/* Within a minute of its directory: the same boot. */
	assert_true(txt(f, IP1, rel, T0 + 1));
	assert_true(txt(f, IP1, rel, T0 + 1));
	assert_true(txt(f, IP1, "4,418,501151300,c,caller=T1;x", T0 + 2));
	assert_string_equal(client_log(f, IP1),
	    "[    1.758426] the first chunk, the 2nd chunk.\n"
	    "[  501.151268] netconsole: network logging started\n"
	    "[  501.151300] x\n");
	assert_int_equal(count_dirs(f, "10.0.0.1-"), 1);
}

/* An incomplete message goes out on the timeout and on another seq. */
static void
test_ext_incomplete(void **state)
{
	struct fx *f = *state;

	assert_true(txt(f, IP1, "6,500,2000000,-,ncfrag=0/20;0123456789",
	    T0));
	nd_console_tick(f->con, T0 + 4);
	assert_null(nd_console_dir(f->con, IP1));
	nd_console_tick(f->con, T0 + 5);
	assert_string_equal(client_log(f, IP1),
	    "[netdump-server: message 500 incomplete: 10 of 20 bytes came]\n"
	    "[    2.000000] 0123456789\n");
	/* Its last part, late: the seq was written. */
	assert_true(txt(f, IP1, "6,500,2000000,-,ncfrag=10/20;abcdefghij",
	    T0 + 6));
	assert_true(txt(f, IP1, "6,501,2000001,-,ncfrag=5/10;fghij", T0 + 6));
	assert_true(txt(f, IP1, "6,502,2000002,-;next\n", T0 + 6));
	assert_string_equal(client_log(f, IP1),
	    "[netdump-server: message 500 incomplete: 10 of 20 bytes came]\n"
	    "[    2.000000] 0123456789\n"
	    "[netdump-server: message 501 incomplete: 5 of 10 bytes came]\n"
	    "[    2.000001] fghij\n"
	    "[    2.000002] next\n");
}

/* A marker, an ext seq reset, a netlog offset reset: a directory each. */
static void
test_boot(void **state)
{
	struct fx *f = *state;
	char first[64];
	uint8_t big[1001];

	assert_true(txt(f, IP1, "up for days\n", T0));
	snprintf(first, sizeof(first), "%s", nd_console_dir(f->con, IP1));
	assert_true(txt(f, IP1, "netconsole: network logging started\n",
	    T0 + 300));
	assert_string_not_equal(nd_console_dir(f->con, IP1), first);
	assert_string_equal(nd_console_dir(f->con, IP1),
	    "10.0.0.1-2027-01-15-08:05");
	assert_string_equal(client_log(f, IP1),
	    "netconsole: network logging started\n");
	assert_string_equal(file(f, first, "log"), "up for days\n");

	/* RHEL: the marker in a netlog chunk; same minute, so "-1". */
	assert_true(nl(f, IP2, 7000, "old boot\n", T0));
	assert_true(nl(f, IP2, 7009, "[...network console startup...]\n",
	    T0 + 100));
	assert_string_equal(nd_console_dir(f->con, IP2),
	    "10.0.0.2-2027-01-15-08:01");
	/* Within a minute of its directory, another marker is that boot. */
	assert_true(nl(f, IP2, 7042, "[...network console startup...]\n",
	    T0 + 110));
	assert_int_equal(count_dirs(f, "10.0.0.2-"), 2);
	assert_true(nl(f, IP2, 7075, "[...network console startup...]\n",
	    T0 + 170));
	assert_true(nl(f, IP2, 7075, "[...network console startup...]\n",
	    T0 + 171));
	assert_int_equal(count_dirs(f, "10.0.0.2-"), 3);
	assert_string_equal(nd_console_dir(f->con, IP2),
	    "10.0.0.2-2027-01-15-08:02");

	/*
	 * A netlog offset far back: a duplicate near (in the same second),
	 * a new boot far.
	 */
	assert_true(nl(f, IP2, 0, "dup\n", T0 + 171));
	assert_int_equal(count_dirs(f, "10.0.0.2-"), 3);
	memset(big, 'x', 1000);
	big[1000] = '\0';
	assert_true(nl(f, IP2, 70000, (char *)big, T0 + 300));
	assert_true(nl(f, IP2, 0, "Linux version 2.6.9-89.ELsmp\n", T0 + 300));
	assert_int_equal(count_dirs(f, "10.0.0.2-"), 4);
	assert_string_equal(client_log(f, IP2),
	    "Linux version 2.6.9-89.ELsmp\n");

	/* Ext seq going back by more than 1000, and to 0. */
	assert_true(txt(f, IP3, "6,5000,9000000,-;a\n", T0));
	assert_true(txt(f, IP3, "6,4000,9000001,-;b\n", T0));	/* late */
	assert_int_equal(count_dirs(f, "10.0.0.3-"), 1);
	assert_true(txt(f, IP3, "6,3000,9000002,-;c\n", T0 + 100));
	assert_int_equal(count_dirs(f, "10.0.0.3-"), 2);
	assert_true(txt(f, IP3, "6,0,0,-;d\n", T0 + 200));
	assert_int_equal(count_dirs(f, "10.0.0.3-"), 3);
	assert_string_equal(client_log(f, IP3), "[    0.000000] d\n");

	/*
	 * A host that crashed soon after its boot, having sent less than
	 * NL_FAR: after a silence its netlog starts at 0 again, its marker
	 * at the same place. A new boot, not copies of the old one (which
	 * lost the new boot's text and put the rest in the old directory);
	 * a copy that follows within a second is still a copy.
	 */
	assert_true(nl(f, IP4, 0, "[...network console startup...]\n"
	    "boot 1\n", T0));
	assert_true(nl(f, IP4, 0, "[...network console startup...]\n"
	    "Unable to handle kernel NULL pointer dereference\n", T0 + 65));
	assert_int_equal(count_dirs(f, "10.0.0.4-"), 2);
	assert_true(nl(f, IP4, 0, "[...network console startup...]\n"
	    "Unable to handle kernel NULL pointer dereference\n", T0 + 65));
	assert_int_equal(count_dirs(f, "10.0.0.4-"), 2);
	assert_string_equal(client_log(f, IP4),
	    "[...network console startup...]\n"
	    "Unable to handle kernel NULL pointer dereference\n");
	/* ... and behind what was written, with no marker: the same. */
	assert_true(nl(f, IP4, 20, "boot 3\n", T0 + 200));
	assert_int_equal(count_dirs(f, "10.0.0.4-"), 3);
	assert_string_equal(client_log(f, IP4), "boot 3\n");
	/* A chunk that fills a gap after a silence is late, not a boot. */
	assert_true(nl(f, IP4, 100, "after a gap\n", T0 + 201));
	assert_true(nl(f, IP4, 27, "late fill\n", T0 + 210));
	assert_int_equal(count_dirs(f, "10.0.0.4-"), 3);
	assert_non_null(strstr(client_log(f, IP4), "after a gap\n"));
	assert_non_null(strstr(client_log(f, IP4), "late fill\n"));
	assert_null(strstr(client_log(f, IP4), "started over"));
}

/*
 * A client that says it booted in every datagram (markers, sequence
 * resets) gets one directory a minute, not one per datagram.
 */
static void
test_boot_flood(void **state)
{
	struct fx *f = *state;
	char d[64];
	int i;

	for (i = 0; i < 500; i++) {
		assert_true(txt(f, IP1, "netconsole: network logging started\n",
		    T0 + i / 100));
		snprintf(d, sizeof(d), "6,%d,1,-;x", i % 2 ? 5000 : 0);
		assert_true(txt(f, IP2, d, T0 + i / 100));
	}
	assert_int_equal(count_dirs(f, "10.0.0.1-"), 1);
	assert_int_equal(count_dirs(f, "10.0.0.2-"), 1);
	assert_true(txt(f, IP1, "netconsole: network logging started\n",
	    T0 + 61));
	assert_int_equal(count_dirs(f, "10.0.0.1-"), 2);
}

/*
 * A reboot whose first netlog chunk is lost: the next chunks, far behind
 * what was written, start the new boot rather than pass for duplicates.
 * And a 32-bit offset that wraps past 4 GiB goes on in order.
 */
static void
test_netlog_reset_wrap(void **state)
{
	struct fx *f = *state;
	char text[1001];

	memset(text, 'a', 1000);
	text[1000] = '\0';
	assert_true(nl(f, IP1, 0, "boot one\n", T0));
	assert_true(nl(f, IP1, 9, text, T0));
	assert_true(nl(f, IP1, 20009, text, T0));	/* a gap, marked */
	assert_true(nl(f, IP1, 1000, "boot two, chunk 0 lost\n", T0 + 100));
	assert_int_equal(count_dirs(f, "10.0.0.1-"), 2);
	assert_string_equal(client_log(f, IP1), "boot two, chunk 0 lost\n");

	assert_true(nl(f, IP2, 0xfffffff0u, "0123456789abcdef", T0));
	assert_true(nl(f, IP2, 0, "after the wrap\n", T0));
	assert_true(nl(f, IP2, 0, "after the wrap\n", T0));	/* dup */
	assert_int_equal(count_dirs(f, "10.0.0.2-"), 1);
	assert_string_equal(client_log(f, IP2),
	    "0123456789abcdefafter the wrap\n");
}

/* An oops line goes to syslog and the manifest without terminal controls. */
static void
test_oops_controls(void **state)
{
	struct fx *f = *state;

	assert_true(txt(f, IP1, "Oops: \033[2J\033]0;owned\007 0002\n", T0));
	assert_string_equal(nd_console_oops(f->con, IP1),
	    "Oops: ?[2J?]0;owned? 0002");
	/* The log keeps the bytes as they came. */
	assert_string_equal(client_log(f, IP1),
	    "Oops: \033[2J\033]0;owned\007 0002\n");
	/* C1 controls in UTF-8 (CSI, OSC) as well. */
	assert_true(txt(f, IP1, "Oops: \xc2\x9b" "2J\xc2\x9d" "0;x 0003\n",
	    T0 + 1));
	assert_string_equal(nd_console_oops(f->con, IP1),
	    "Oops: ??2J??0;x 0003");
}

/*
 * A copy of an older message, or a late one, while a long message is
 * being put together does not cut it short.
 */
static void
test_ext_reorder(void **state)
{
	struct fx *f = *state;

	assert_true(txt(f, IP1, "6,5,1000,-;five", T0));
	assert_true(txt(f, IP1, "6,7,3000,-,ncfrag=0/10;01234", T0));
	assert_true(txt(f, IP1, "6,5,1000,-;five", T0));	/* a copy */
	assert_true(txt(f, IP1, "6,6,2000,-;six, late", T0));
	assert_true(txt(f, IP1, "6,7,3000,-,ncfrag=5/10;56789", T0));
	assert_string_equal(client_log(f, IP1),
	    "[    0.001000] five\n"
	    "[    0.002000] six, late\n"
	    "[    0.003000] 0123456789\n");
}

/*
 * A number far ahead from the client's address (a forger's, who needs
 * only the address: console text is not acknowledged) does not make the
 * client's next messages copies: they were never written, so they are
 * written, late; the copies of what was written are still dropped.
 */
static void
test_ext_forged_ahead(void **state)
{
	struct fx *f = *state;

	assert_true(txt(f, IP1, "6,100,1000,-;a", T0));
	assert_true(txt(f, IP1, "6,600,1000,-;forged", T0));
	assert_true(txt(f, IP1, "6,101,2000,-;b", T0));
	assert_true(txt(f, IP1, "6,101,2000,-;b", T0));	/* a copy */
	assert_true(txt(f, IP1, "6,100,1000,-;a", T0));	/* a copy */
	assert_true(txt(f, IP1, "6,102,3000,-;Oops: 0002 [#1] SMP", T0));
	assert_string_equal(client_log(f, IP1),
	    "[    0.001000] a\n"
	    "[    0.001000] forged\n"
	    "[    0.002000] b\n"
	    "[    0.003000] Oops: 0002 [#1] SMP\n");

	/*
	 * The largest numbers there are, the second with a boot marker (in
	 * the first minute of the directory: the same boot) so that the
	 * number is taken as it is: the window moves up to it and stops
	 * (counting past it looped for ever, on the receive thread).
	 */
	assert_true(txt(f, IP2, "6,18446744073709551614,1000,-;a", T0));
	assert_true(txt(f, IP2, "6,18446744073709551615,2000,-;"
	    "[...network console startup...]", T0));
	assert_true(txt(f, IP2, "6,18446744073709551615,2000,-;copy", T0));
	assert_string_equal(client_log(f, IP2),
	    "[    0.001000] a\n"
	    "[    0.002000] [...network console startup...]\n");
}

/*
 * An older message in parts ends a newer one waiting (written cut short);
 * once the older one is written, a late part of the newer one is a copy of
 * what was written, not the start of a message to write again.
 */
static void
test_ext_older_part(void **state)
{
	struct fx *f = *state;

	assert_true(txt(f, IP1, "6,2,1000,-;two", T0));
	assert_true(txt(f, IP1, "6,5,4000,-,ncfrag=0/10;01234", T0));
	assert_true(txt(f, IP1, "6,3,2000,-,ncfrag=0/5;three", T0));
	assert_true(txt(f, IP1, "6,5,4000,-,ncfrag=5/10;56789", T0));
	nd_console_tick(f->con, T0 + 10);
	assert_string_equal(client_log(f, IP1),
	    "[    0.001000] two\n"
	    "[netdump-server: message 5 incomplete: 5 of 10 bytes came]\n"
	    "[    0.004000] 01234\n"
	    "[    0.002000] three\n");
}

/* A restarted server appends to the newest directory with a log. */
static void
test_restart(void **state)
{
	struct fx *f = *state;
	static const char *const mk[] = {
		"10.0.0.1-2020-01-01-00:00", "10.0.0.1-2026-05-01-10:00-2",
		"10.0.0.1-2026-05-01-10:00-10", "10.0.0.1-2026-05-01-10:00-9",
		"10.0.0.10-2099-01-01-00:00", "10.0.0.1-2099-01-01-00:00x",
		"elsewhere",
	};
	char path[256], first[64];
	size_t i;
	int fd;

	for (i = 0; i < sizeof(mk) / sizeof(mk[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, mk[i]);
		assert_int_equal(mkdir(path, 0700), 0);
		snprintf(path, sizeof(path), "%s/%s/log", f->dir, mk[i]);
		assert_true((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
		close(fd);
	}
	/* Newer, but no log; a symlink to one with a log. */
	snprintf(path, sizeof(path), "%s/10.0.0.1-2098-01-01-00:00", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/10.0.0.1-2098-01-02-00:00", f->dir);
	assert_int_equal(symlink("elsewhere", path), 0);

	assert_true(txt(f, IP1, "still up\n", T0));
	assert_string_equal(nd_console_dir(f->con, IP1),
	    "10.0.0.1-2026-05-01-10:00-10");
	snprintf(first, sizeof(first), "%s", nd_console_dir(f->con, IP1));
	nd_console_free(f->con);
	f->con = nd_console_new(&f->conf);
	assert_non_null(f->con);
	assert_null(nd_console_dir(f->con, IP1));
	assert_true(nl(f, IP1, 900, "and up\n", T0 + 600));
	assert_string_equal(nd_console_dir(f->con, IP1), first);
	assert_string_equal(client_log(f, IP1), "still up\nand up\n");

	/* A client first seen with its stream at 0 has just booted. */
	assert_true(nl(f, IP2, 0, "Linux version 2.6.9\n", T0));
	assert_true(txt(f, IP3, "6,1,0,-;Linux version 6.8\n", T0));
	nd_console_free(f->con);
	f->con = nd_console_new(&f->conf);
	assert_non_null(f->con);
	assert_true(nl(f, IP2, 0, "Linux version 2.6.9\n", T0 + 60));
	assert_true(txt(f, IP3, "6,0,0,-;Linux version 6.8\n", T0 + 60));
	assert_int_equal(count_dirs(f, "10.0.0.2-"), 2);
	assert_int_equal(count_dirs(f, "10.0.0.3-"), 2);
}

/* Rotation keeps log_keep old files; log_keep 0 keeps none. */
static void
test_rotation(void **state)
{
	struct fx *f = *state;
	char line[64];
	const char *d;
	int i;

	nd_console_free(f->con);
	f->conf.log_size = 100;
	f->conf.log_keep = 2;
	f->con = nd_console_new(&f->conf);
	for (i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "line %02d 0123456789abcdefghij\n",
		    i);		/* 30 bytes: three to a file */
		assert_true(txt(f, IP1, line, T0 + i));
	}
	d = nd_console_dir(f->con, IP1);
	assert_string_equal(file(f, d, "log"),
	    "line 09 0123456789abcdefghij\n");
	assert_non_null(strstr(file(f, d, "log.1"), "line 06"));
	assert_non_null(strstr(file(f, d, "log.1"), "line 08"));
	assert_non_null(strstr(file(f, d, "log.2"), "line 03"));
	assert_null(file(f, d, "log.3"));

	/* The file closed after a minute idle is rotated when reopened. */
	nd_console_tick(f->con, T0 + 100);
	assert_true(txt(f, IP1, "line 10 0123456789abcdefghij\n", T0 + 100));
	assert_true(txt(f, IP1, "line 11 0123456789abcdefghij\n", T0 + 100));
	assert_true(txt(f, IP1, "line 12 0123456789abcdefghij\n", T0 + 100));
	assert_non_null(strstr(file(f, d, "log.1"), "line 09"));
	assert_null(strstr(file(f, d, "log"), "line 09"));

	nd_console_free(f->con);
	f->conf.log_keep = 0;
	f->con = nd_console_new(&f->conf);
	for (i = 0; i < 10; i++)
		assert_true(txt(f, IP2, "0123456789012345678901234567890123"
		    "456789\n", T0));
	d = nd_console_dir(f->con, IP2);
	assert_int_equal(strlen(file(f, d, "log")), 82);
	assert_null(file(f, d, "log.1"));
}

/* stderr into a file, to count the log lines. */
static int
capture_stderr(FILE **out)
{
	int saved = dup(2);

	*out = tmpfile();
	assert_non_null(*out);
	fflush(stderr);
	dup2(fileno(*out), 2);
	return saved;
}

static int count_in_last;	/* lines with "bytes of console text not" */

static int
count_in(FILE *fp, int saved, const char *needle)
{
	char line[4096];
	int n = 0;

	count_in_last = 0;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
		else if (strstr(line, "bytes of console text not") != NULL)
			count_in_last++;
	fclose(fp);
	return n;
}

static void
test_oops(void **state)
{
	struct fx *f = *state;
	static char longl[3000];
	static const char part[] = "Unable to handle kernel NULL pointer "
	    "deref";
	FILE *fp;
	int saved;

	saved = capture_stderr(&fp);
	/* die() on RHEL 4, the line split across two chunks. */
	assert_true(nl(f, IP1, 100, part, T0));
	assert_null(nd_console_oops(f->con, IP1));
	assert_true(nl(f, IP1, 100 + (uint32_t)strlen(part),
	    "erence at virtual address 00000000\r\n"
	    " printing eip:\n", T0));
	assert_string_equal(nd_console_oops(f->con, IP1), "Unable to handle "
	    "kernel NULL pointer dereference at virtual address 00000000");
	assert_true(txt(f, IP1, "Call Trace:\n", T0 + 1));
	assert_string_equal(nd_console_oops(f->con, IP1), "Unable to handle "
	    "kernel NULL pointer dereference at virtual address 00000000");
	assert_true(txt(f, IP1, " [<c0105d5b>] do_IRQ+0x1b/0x30\n"
	    "Kernel panic - not syncing: Fatal exception in interrupt\n",
	    T0 + 2));
	assert_string_equal(nd_console_oops(f->con, IP1),
	    "Kernel panic - not syncing: Fatal exception in interrupt");
	/* Longer than the line buffer: cut, and the oops line to 200. */
	memset(longl, 'y', sizeof(longl) - 2);
	memcpy(longl, "Oops: 0002 [#1] ", 16);
	longl[sizeof(longl) - 2] = '\n';
	assert_true(txt(f, IP1, longl, T0 + 3));
	assert_int_equal(strlen(nd_console_oops(f->con, IP1)), 200);
	assert_memory_equal(nd_console_oops(f->con, IP1), "Oops: 0002", 10);
	nd_console_tick(f->con, T0 + 30);
	assert_int_equal(count_in(fp, saved, "(in 10.0.0.1-"), 1);

	/* The ones not logged are counted once the minute is over. */
	saved = capture_stderr(&fp);
	nd_console_tick(f->con, T0 + 60);
	assert_true(txt(f, IP1, "kernel BUG at mm/slab.c:1234!\n", T0 + 61));
	assert_int_equal(count_in(fp, saved, "(in 10.0.0.1-"), 1);

	/* A new boot has no oops yet. */
	assert_true(txt(f, IP1, "netconsole: network logging started\n",
	    T0 + 300));
	assert_null(nd_console_oops(f->con, IP1));
	assert_null(nd_console_oops(f->con, IP2));
}

/*
 * A log or directory replaced by a symlink is never followed: the text is
 * dropped, counted, and said once a minute.
 */
static void
test_no_follow(void **state)
{
	struct fx *f = *state;
	char path[256], target[256], moved[256];
	FILE *fp;
	int saved, fd;

	snprintf(target, sizeof(target), "%s/target", f->dir);
	assert_true((fd = open(target, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	assert_true(txt(f, IP1, "first\n", T0));
	nd_console_tick(f->con, T0 + 60);		/* closes it */
	snprintf(path, sizeof(path), "%s/%s/log", f->dir,
	    nd_console_dir(f->con, IP1));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(target, path), 0);
	saved = capture_stderr(&fp);
	assert_true(txt(f, IP1, "second\n", T0 + 61));
	assert_true(txt(f, IP1, "third\n", T0 + 62));
	nd_console_tick(f->con, T0 + 121);
	assert_int_equal(count_in(fp, saved, "cannot open log in"), 1);
	assert_int_equal(count_in_last, 1);	/* "6 bytes" at the tick */
	assert_string_equal(file(f, ".", "target"), "");

	/* The directory itself. */
	assert_true(txt(f, IP2, "first\n", T0));
	nd_console_tick(f->con, T0 + 60);
	snprintf(path, sizeof(path), "%s/%s", f->dir,
	    nd_console_dir(f->con, IP2));
	snprintf(moved, sizeof(moved), "%s/moved", f->dir);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(symlink(moved, path), 0);
	assert_true(txt(f, IP2, "second\n", T0 + 61));
	assert_string_equal(file(f, "moved", "log"), "first\n");
}

static void
test_evict(void **state)
{
	struct fx *f = *state;
	char first[64];

	nd_console_free(f->con);
	f->conf.max_clients = 2;
	f->con = nd_console_new(&f->conf);
	assert_true(txt(f, IP1, "one\n", T0));
	snprintf(first, sizeof(first), "%s", nd_console_dir(f->con, IP1));
	assert_true(txt(f, IP1, "6,7,1,-,ncfrag=0/4;ab", T0));
	assert_true(txt(f, IP2, "two\n", T0));
	/* Both heard within a minute: a newcomer waits, nobody goes. */
	assert_true(txt(f, IP3, "three\n", T0 + 59));
	assert_null(nd_console_dir(f->con, IP3));
	assert_non_null(nd_console_dir(f->con, IP1));
	assert_true(txt(f, IP3, "three\n", T0 + 60));
	assert_null(nd_console_dir(f->con, IP1));
	assert_non_null(nd_console_dir(f->con, IP2));
	assert_non_null(nd_console_dir(f->con, IP3));
	/* Its waiting message went out; back, it finds its directory. */
	assert_true(txt(f, IP1, "one again\n", T0 + 121));
	assert_string_equal(nd_console_dir(f->con, IP1), first);
	assert_null(nd_console_dir(f->con, IP2));
	assert_string_equal(client_log(f, IP1), "one\n"
	    "[netdump-server: message 7 incomplete: 2 of 4 bytes came]\n"
	    "[    0.000001] ab\n"
	    "one again\n");
}

/*
 * The system's clock steps (NTP setting a machine that just booted, an
 * operator): the console's timers run on its own clock, which only moves
 * forward, and do not move with it; only directory names follow the wall
 * clock.
 */
static void
test_wall_clock_steps(void **state)
{
	struct fx *f = *state;
	const uint8_t three[] = "three\n";

	/* Ahead of 0 by far: a field never set is long ago. */
	assert_true(nd_console_now() >= (time_t)1 << 30);
	nd_console_free(f->con);
	f->conf.max_clients = 2;
	f->con = nd_console_new(&f->conf);
	assert_true(txt(f, IP1, "one\n", T0));
	assert_true(txt(f, IP2, "two\n", T0));
	/* A day forward, a second later: both were heard a second ago. */
	wall_now = T0 + 86400;
	assert_true(nd_console_input(f->con, IP3, three, 6, T0 + 1));
	assert_null(nd_console_dir(f->con, IP3));
	assert_non_null(nd_console_dir(f->con, IP1));
	/* An hour back, a minute on: the least recently heard goes. */
	wall_now = T0 - 3600;
	assert_true(nd_console_input(f->con, IP3, three, 6, T0 + 60));
	assert_null(nd_console_dir(f->con, IP1));
	assert_non_null(nd_console_dir(f->con, IP2));
	assert_string_equal(nd_console_dir(f->con, IP3),
	    "10.0.0.3-2027-01-15-07:00");
	assert_string_equal(client_log(f, IP3), "three\n");
}

/*
 * Datagrams from 100 addresses in one second (forged, say): 16 new clients
 * get a directory, the others nothing; a second later new ones are heard
 * again.
 */
static void
test_new_client_flood(void **state)
{
	struct fx *f = *state;
	uint32_t i;

	nd_console_free(f->con);
	f->conf.max_clients = 256;
	f->con = nd_console_new(&f->conf);
	for (i = 0; i < 100; i++)
		assert_true(txt(f, htonl_(0x0a010000 + i), "x\n", T0));
	assert_int_equal(count_dirs(f, "10.1."), 16);
	assert_null(nd_console_dir(f->con, htonl_(0x0a010000 + 50)));
	assert_true(txt(f, htonl_(0x0a010000 + 50), "x\n", T0 + 1));
	assert_non_null(nd_console_dir(f->con, htonl_(0x0a010000 + 50)));
	assert_int_equal(count_dirs(f, "10.1."), 17);
}

/* The dump front-end's replies are not console text. */
static void
test_not_log(void **state)
{
	struct fx *f = *state;
	static const char start[] = "task_struct:0xc0350000 "
	    "page_offset:0xc0000000 netdump_magic:0x1111111111111111\n";
	uint8_t d[64 + sizeof(start)];

	netlog(d, 5, start);
	d[8] = LX_REPLY_START_NETDUMP;
	assert_false(nd_console_input(f->con, IP1, d, 13 + strlen(start), T0));
	d[8] = LX_REPLY_MEM;
	assert_false(nd_console_input(f->con, IP1, d, 13 + 16, T0));
	d[8] = LX_REPLY_LOG;
	assert_false(nd_console_input(f->con, IP1, d, 12, T0));	/* runt */
	d[0] = 6;		/* 9 would be a tab: text */
	assert_false(nd_console_input(f->con, IP1, d, 20, T0));
	assert_null(nd_console_dir(f->con, IP1));
	assert_int_equal(count_dirs(f, "10."), 0);
}

static void
test_hostile(void **state)
{
	struct fx *f = *state;
	static uint8_t zeros[65536], xs[65536];
	uint8_t d[1500];
	const char *log;

	assert_true(nd_console_input(f->con, IP1, zeros, 0, T0));
	assert_false(nd_console_input(f->con, IP1, zeros, sizeof(zeros), T0));
	assert_null(nd_console_dir(f->con, IP1));
	memset(xs, 'x', sizeof(xs));
	assert_true(nd_console_input(f->con, IP1, xs, sizeof(xs), T0));
	assert_int_equal(strlen(client_log(f, IP1)), sizeof(xs));

	assert_true(txt(f, IP2, "6,9,1,-,ncfrag=0/65536;x", T0));
	assert_true(txt(f, IP2, "6,9,1,-,ncfrag=65535/65536;z", T0));
	/* Another total for the same seq: not of this message. */
	assert_true(txt(f, IP2, "6,9,1,-,ncfrag=7/8;q", T0));
	nd_console_tick(f->con, T0 + 5);
	assert_string_equal(client_log(f, IP2),
	    "[netdump-server: message 9 incomplete: 2 of 65536 bytes came]\n"
	    "[    0.000001] xz\n");

	/* An offset at the end of 32 bits, then text with NULs. */
	memset(d, 'a', sizeof(d));
	netlog(d, 0xfffffff0u, "");
	assert_true(nd_console_input(f->con, IP3, d, 13 + 1447, T0));
	assert_true(nd_console_input(f->con, IP3, d, 13 + 1447, T0));
	assert_false(nd_console_input(f->con, IP3, d, 13 + 1448, T0));
	log = client_log(f, IP3);
	assert_int_equal(strlen(log), 1447);
}

static int
open_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* One random datagram: netlog, ext (often fragments), plain or noise. */
static size_t
random_datagram(uint8_t *d, size_t size, unsigned *seq)
{
	static const char *const text[] = {
		"[...network console startup...]\n",
		"netconsole: network logging started\n",
		"Kernel panic - not syncing: x\n", "Call Trace:\n", "ok\n",
	};
	size_t n, i;
	int k = rand() % 4;

	n = (size_t)(rand() % 1600);
	for (i = 0; i < n; i++)
		d[i] = (uint8_t)(rand() % 4 == 0 ? '\n' : 'a' + rand() % 26);
	if (rand() % 8 == 0) {
		i = (size_t)(rand() % 5);
		if (n > strlen(text[i]))
			memcpy(d + n / 2, text[i], strlen(text[i]));
	}
	if (k == 0) {
		(void)netlog(d, (uint32_t)(rand() % 3 == 0 ? rand() % 100000 :
		    rand() % 4000), "");
		d[0] = 4;
		return n < 13 ? 13 : n > 1460 ? 1460 : n;
	}
	if (k == 1) {
		*seq += (unsigned)(rand() % 3) - (rand() % 50 == 0 ? 1500 : 0);
		i = (size_t)snprintf((char *)d, size, "6,%u,%d,-,ncfrag=%d/%d;",
		    *seq, rand(), rand() % 70000, 1 + rand() % 70000);
		if (rand() % 2)
			i = (size_t)snprintf((char *)d, size, "6,%u,%d,-;",
			    *seq, rand());
		return i + n / 4;
	}
	if (k == 2 && n > 0)
		d[0] = (uint8_t)(rand() % 256);
	return n;
}

/* Random datagrams from more clients than are tracked: bounded. */
static void
test_random(void **state)
{
	struct fx *f = *state;
	static uint8_t d[2048];
	unsigned seq = 100;
	int i, fds = open_fds();
	time_t now = T0;

	nd_console_free(f->con);
	f->conf.max_clients = 4;
	f->conf.log_size = 4096;
	f->conf.log_keep = 1;
	f->con = nd_console_new(&f->conf);
	srand(1);
	for (i = 0; i < 20000; i++) {
		(void)nd_console_input(f->con, htonl_(0x0a000001u +
		    (uint32_t)(rand() % 8)), d, random_datagram(d, sizeof(d),
		    &seq), now);
		if (i % 50 == 0)
			nd_console_tick(f->con, ++now);
		if (i % 100 == 0)
			assert_true(open_fds() <= fds + 4);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netlog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_incomplete, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_flood, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_netlog_reset_wrap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ext_reorder, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ext_forged_ahead, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ext_older_part, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_oops_controls, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_follow, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_evict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wall_clock_steps, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_new_client_flood, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random, setup, teardown),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	log_init(1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
