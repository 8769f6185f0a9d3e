/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: console capture (console.c, console_files.c), the
 * text any host may send to the Linux port: netlog replies (REPLY_LOG,
 * offsets into a 32-bit stream), mainline netconsole plain and extended
 * (ncfrag= parts reassembled), from a few clients, with time moving on
 * and the once-a-second tick between datagrams.
 *
 * Input: a sequence of records, each [client (low 2 bits) and seconds to
 * wait (the rest)] [length, 2 bytes big-endian] [datagram]. The logs go
 * to a scratch dump directory, rotated at 4 KiB, two kept, at most three
 * clients tracked (a fourth evicts one).
 *
 * Invariants: no crash, no leak, no read or write out of bounds
 * (ASan/UBSan); the bytes the logs hold are bounded by what was fed
 * (each datagram can add at most a line of its own, a timestamp and a
 * note); nothing is written outside the client directories.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "console.h"

#define NOTE_MAX	512	/* a marker or note line, a timestamp */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char root[64];

/* The scratch directory is empty after every input. */
static void
remove_root(void)
{
	(void)rmdir(root);
}

/* Remove everything below dir (two levels: client folders, their logs). */
static uint64_t
sweep(int dirfd, int depth)
{
	uint64_t bytes = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL)
		abort();
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			abort();
		if (S_ISDIR(st.st_mode)) {
			int sub;

			/* Only client folders, one level down. */
			if (depth > 0)
				abort();
			if ((sub = openat(dirfd, de->d_name, O_RDONLY |
			    O_DIRECTORY)) == -1)
				abort();
			bytes += sweep(sub, depth + 1);
			close(sub);
			if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) == -1)
				abort();
		} else {
			if (!S_ISREG(st.st_mode) || depth == 0)
				abort();
			bytes += (uint64_t)st.st_size;
			if (unlinkat(dirfd, de->d_name, 0) == -1)
				abort();
		}
	}
	closedir(d);
	return bytes;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nd_console_conf conf = { .log_size = 4096, .log_keep = 2,
	    .max_clients = 3 };
	static const uint32_t addrs[4] = { 0x0100000a, 0x0200000a,
	    0x0300000a, 0x0400000a };	/* 10.0.0.1-4, network order */
	struct nd_console *con;
	time_t now = 1795430102;
	uint64_t fed = 0, records = 0, kept;
	size_t at = 0, len;
	uint32_t addr;
	const char *dir;
	int dfd;

	if (root[0] == '\0') {
		snprintf(root, sizeof(root), "/tmp/fuzz_console.XXXXXX");
		if (mkdtemp(root) == NULL)
			abort();
		atexit(remove_root);
	}
	if ((dfd = open(root, O_RDONLY | O_DIRECTORY)) == -1)
		abort();
	conf.dumpdir_fd = dfd;
	if ((con = nd_console_new(&conf)) == NULL)
		abort();
	while (at + 3 <= size) {
		addr = addrs[data[at] & 3];
		now += data[at] >> 2;
		len = (size_t)data[at + 1] << 8 | data[at + 2];
		at += 3;
		if (len > size - at)
			len = size - at;
		nd_console_tick(con, now);
		(void)nd_console_input(con, addr, data + at, len, now);
		/* What the dump front-end asks of it. */
		if ((dir = nd_console_dir(con, addr)) != NULL &&
		    (strchr(dir, '/') != NULL || dir[0] == '.'))
			abort();
		(void)nd_console_oops(con, addr);
		(void)nd_console_first_oops(con, addr);
		fed += len;
		records++;
		at += len;
	}
	{
		uint32_t a;
		const char *d;

		while (nd_console_crashed(con, &a, &d))
			if (d == NULL || strchr(d, '/') != NULL)
				abort();
	}
	nd_console_tick(con, now + 3600);
	nd_console_free(con);
	kept = sweep(dfd, 0);
	close(dfd);
	/* Each datagram adds at most its bytes, a timestamp and a note. */
	if (kept > fed * 2 + (records + 8) * NOTE_MAX)
		abort();
	return 0;
}
