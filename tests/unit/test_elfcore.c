/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the Linux netdump ELF core header (core/elfcore.c): the
 * header and a small sparse memory image go into a file that the system's
 * readelf (and gdb, when there is one) reads back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfcore.h"

#define PS		4096
#define OUT_MAX		(64 * 1024)
#define READELF_MAX	(64 * 1024)
#define MAX_SEGS	16

struct seg {
	uint64_t	offset, vaddr, paddr, filesz, memsz, align;
	char		flags[4];
};

/* What readelf said, and what we read back ourselves. */
struct seen {
	char		text[READELF_MAX];
	struct seg	load[MAX_SEGS];
	size_t		nload;
};

static uint8_t regs64[27 * 8];
static uint8_t regs32[17 * 4];
static uint8_t out[OUT_MAX];
static char dir[] = "/tmp/test_elfcore.XXXXXX";

static int
setup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(regs64); i++)
		regs64[i] = (uint8_t)(i + 1);
	for (i = 0; i < sizeof(regs32); i++)
		regs32[i] = (uint8_t)(0xa0 + i);
	return mkdtemp(dir) == NULL ? -1 : 0;
}

/* A failed test leaves its file behind: remove them all. */
static int
teardown(void **state)
{
	static const char *const names[] = { "one64", "ranges64", "i386",
	    "pae", "merged", "gdb" };
	char path[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
	return rmdir(dir);
}

static struct nd_elf_desc
desc_x86_64(uint64_t max_pfn, size_t max_loads)
{
	struct nd_elf_desc d = {
		.machine = EM_X86_64, .page_size = PS, .max_pfn = max_pfn,
		.task = 0xffff81001234a000ull,
		.page_offset = 0xffff810000000000ull,
		.regs = regs64, .regs_len = sizeof(regs64),
		.max_loads = max_loads,
	};

	return d;
}

static struct nd_elf_desc
desc_i386(uint64_t max_pfn, size_t max_loads)
{
	struct nd_elf_desc d = {
		.machine = EM_386, .page_size = PS, .max_pfn = max_pfn,
		.task = 0xc1234000, .page_offset = 0xc0000000,
		.regs = regs32, .regs_len = sizeof(regs32),
		.max_loads = max_loads,
	};

	return d;
}

/*
 * The header, then each RAM frame N at hs + N * PS filled with N + 1;
 * the file ends after max_pfn frames with holes for what is not RAM.
 */
static void
write_core(const char *path, size_t hs, const struct nd_elf_desc *d,
    const struct nd_elf_range *ram, size_t nram)
{
	uint8_t page[PS];
	uint64_t f;
	size_t i;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, out, hs, 0), (ssize_t)hs);
	for (i = 0; i < nram; i++)
		for (f = ram[i].first; f < ram[i].first + ram[i].count; f++) {
			memset(page, (int)(f + 1), sizeof(page));
			assert_int_equal(pwrite(fd, page, PS,
			    (off_t)(hs + f * PS)), PS);
		}
	assert_int_equal(ftruncate(fd, (off_t)(hs + d->max_pfn * PS)), 0);
	assert_int_equal(close(fd), 0);
}

static void
run_readelf(const char *path, struct seen *s)
{
	char cmd[256];
	const char *line;
	struct seg *g;
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -W -h -l -n '%s' 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(s->text, 1, sizeof(s->text) - 1, p);
	s->text[n] = '\0';
	assert_int_equal(pclose(p), 0);
	/* readelf warns on stderr about what it finds wrong: nothing. */
	assert_null(strstr(s->text, "readelf:"));
	s->nload = 0;
	for (line = s->text; line != NULL; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, "  LOAD ", 7) != 0)
			continue;
		assert_true(s->nload < MAX_SEGS);
		g = &s->load[s->nload++];
		assert_int_equal(sscanf(line, " LOAD 0x%" SCNx64 " 0x%" SCNx64
		    " 0x%" SCNx64 " 0x%" SCNx64 " 0x%" SCNx64 " %3s 0x%" SCNx64,
		    &g->offset, &g->vaddr, &g->paddr, &g->filesz, &g->memsz,
		    g->flags, &g->align), 7);
	}
}

static void
check_load(const struct seen *s, size_t i, size_t hs,
    const struct nd_elf_desc *d, uint64_t first, uint64_t count)
{
	const struct seg *g = &s->load[i];

	assert_true(i < s->nload);
	assert_true(g->paddr == first * PS);
	assert_true(g->offset == hs + first * PS);
	assert_true(g->vaddr == d->page_offset + first * PS);
	assert_true(g->filesz == count * PS);
	assert_true(g->memsz == count * PS);
	assert_string_equal(g->flags, "RWE");
	assert_true(g->align == PS);
}

/*
 * The notes read back with <elf.h>'s structs (this host is
 * little-endian, like the core): NT_PRSTATUS then NT_TASKSTRUCT, each
 * named "CORE" with n_namesz 4.
 */
static void
check_notes(const uint8_t *hdr, const struct nd_elf_desc *d)
{
	size_t off, filesz, prsz, reg_off, word, i;
	const uint8_t *p, *desc;
	Elf32_Nhdr nh;
	uint64_t task = 0;

	if (hdr[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;

		memcpy(&eh, hdr, sizeof(eh));
		memcpy(&ph, hdr + eh.e_phoff, sizeof(ph));
		assert_int_equal(ph.p_type, PT_NOTE);
		off = ph.p_offset;
		filesz = ph.p_filesz;
	} else {
		Elf32_Ehdr eh;
		Elf32_Phdr ph;

		memcpy(&eh, hdr, sizeof(eh));
		memcpy(&ph, hdr + eh.e_phoff, sizeof(ph));
		assert_int_equal(ph.p_type, PT_NOTE);
		off = ph.p_offset;
		filesz = ph.p_filesz;
	}
	if (d->machine == EM_X86_64) {
		prsz = 336, reg_off = 112, word = 8;
	} else {
		prsz = 144, reg_off = 72, word = 4;
	}
	p = hdr + off;
	memcpy(&nh, p, sizeof(nh));
	assert_int_equal(nh.n_type, NT_PRSTATUS);
	assert_int_equal(nh.n_namesz, 4);
	assert_int_equal(nh.n_descsz, prsz);
	assert_memory_equal(p + 12, "CORE", 4);
	desc = p + 16;
	assert_memory_equal(desc + reg_off, d->regs, d->regs_len);
	for (i = 0; i < prsz; i++)
		if (i < reg_off || i >= reg_off + d->regs_len)
			assert_int_equal(desc[i], 0);
	p = desc + prsz;
	memcpy(&nh, p, sizeof(nh));
	assert_int_equal(nh.n_type, NT_TASKSTRUCT);
	assert_int_equal(nh.n_namesz, 4);
	assert_int_equal(nh.n_descsz, word);
	assert_memory_equal(p + 12, "CORE", 4);
	memcpy(&task, p + 16, word);
	assert_true(task == d->task);
	assert_int_equal((size_t)(p + 16 + word - (hdr + off)), filesz);
}

/* What readelf says of every core here. */
static void
check_common(const struct seen *s, const struct nd_elf_desc *d, int elf64)
{
	assert_non_null(strstr(s->text, "Type:                              "
	    "CORE (Core file)"));
	assert_non_null(strstr(s->text, elf64 ?
	    "Class:                             ELF64" :
	    "Class:                             ELF32"));
	assert_non_null(strstr(s->text, "little endian"));
	assert_non_null(strstr(s->text, d->machine == EM_X86_64 ?
	    "Advanced Micro Devices X86-64" : "Intel 80386"));
	assert_non_null(strstr(s->text, "  NOTE "));
	assert_non_null(strstr(s->text, d->machine == EM_X86_64 ?
	    "CORE                 0x00000150\tNT_PRSTATUS" :
	    "CORE                 0x00000090\tNT_PRSTATUS"));
	assert_non_null(strstr(s->text, d->machine == EM_X86_64 ?
	    "CORE                 0x00000008\tNT_TASKSTRUCT" :
	    "CORE                 0x00000004\tNT_TASKSTRUCT"));
}

/* Frame f of the file is RAM filled with f + 1, or a hole. */
static void
check_page(const char *path, size_t hs, uint64_t f, int ram)
{
	uint8_t page[PS], want[PS];
	int fd;

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, page, PS, (off_t)(hs + f * PS)), PS);
	close(fd);
	memset(want, ram ? (int)(f + 1) : 0, sizeof(want));
	assert_memory_equal(page, want, PS);
}

static void
test_x86_64_one_range(void **state)
{
	struct nd_elf_desc d = desc_x86_64(64, 4);
	struct nd_elf_range ram[] = { { 0, 64 } };
	static struct seen s;
	char path[64];
	size_t hs;

	(void)state;
	hs = nd_elf_header_size(&d);
	/* 64 + 5 * 56 + 352 + 24 bytes, one page. */
	assert_int_equal(hs, PS);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(nd_elf_header_build(&d, ram, 1, out, sizeof(out)), 1);
	/* Past the header region nothing was touched. */
	assert_int_equal(out[hs], 0xee);
	snprintf(path, sizeof(path), "%s/one64", dir);
	write_core(path, hs, &d, ram, 1);
	run_readelf(path, &s);
	check_common(&s, &d, 1);
	assert_int_equal(s.nload, 1);
	check_load(&s, 0, hs, &d, 0, 64);
	check_notes(out, &d);
	check_page(path, hs, 63, 1);
	assert_int_equal(unlink(path), 0);
}

static void
test_x86_64_ranges(void **state)
{
	struct nd_elf_desc d = desc_x86_64(160, 4);
	struct nd_elf_range ram[] = { { 0, 16 }, { 20, 8 }, { 40, 24 },
	    { 128, 32 } };
	static struct seen s;
	char path[64];
	size_t hs, i;

	(void)state;
	hs = nd_elf_header_size(&d);
	assert_int_equal(nd_elf_header_build(&d, ram, 4, out, sizeof(out)),
	    4);
	snprintf(path, sizeof(path), "%s/ranges64", dir);
	write_core(path, hs, &d, ram, 4);
	run_readelf(path, &s);
	check_common(&s, &d, 1);
	assert_int_equal(s.nload, 4);
	for (i = 0; i < 4; i++)
		check_load(&s, i, hs, &d, ram[i].first, ram[i].count);
	check_notes(out, &d);
	check_page(path, hs, 17, 0);
	check_page(path, hs, 20, 1);
	check_page(path, hs, 100, 0);
	check_page(path, hs, 159, 1);
	assert_int_equal(unlink(path), 0);
}

static void
test_i386(void **state)
{
	struct nd_elf_desc d = desc_i386(96, 3);
	/* No RAM at frame 0: the first PT_LOAD still starts there. */
	struct nd_elf_range ram[] = { { 1, 15 }, { 32, 32 }, { 80, 16 } };
	static struct seen s;
	char path[64];
	size_t hs;

	(void)state;
	hs = nd_elf_header_size(&d);
	assert_int_equal(hs, PS);
	assert_int_equal(nd_elf_header_build(&d, ram, 3, out, sizeof(out)),
	    3);
	snprintf(path, sizeof(path), "%s/i386", dir);
	write_core(path, hs, &d, ram, 3);
	run_readelf(path, &s);
	check_common(&s, &d, 0);
	assert_int_equal(s.nload, 3);
	check_load(&s, 0, hs, &d, 0, 16);
	check_load(&s, 1, hs, &d, 32, 32);
	check_load(&s, 2, hs, &d, 80, 16);
	check_notes(out, &d);
	check_page(path, hs, 0, 0);
	check_page(path, hs, 1, 1);
	check_page(path, hs, 95, 1);
	assert_int_equal(unlink(path), 0);

	/* One range from frame 0 too. */
	ram[0].first = 0;
	ram[0].count = 96;
	assert_int_equal(nd_elf_header_build(&d, ram, 1, out, sizeof(out)),
	    1);
	write_core(path, hs, &d, ram, 1);
	run_readelf(path, &s);
	check_common(&s, &d, 0);
	assert_int_equal(s.nload, 1);
	check_load(&s, 0, hs, &d, 0, 96);
	assert_int_equal(unlink(path), 0);
}

/*
 * A client's START claims what no i386 kernel has (linux_wire.c reads
 * both as 64-bit numbers): a page_offset past 4 GiB, whose vaddr would
 * wrap, leaves vaddr unknown (0); a task pointer past 32 bits is written
 * as 0, not cut to its low half.
 */
static void
test_i386_claims_past_32_bits(void **state)
{
	struct nd_elf_desc d = desc_i386(96, 3);
	struct nd_elf_range ram[] = { { 16, 16 } };
	struct nd_elf_desc want;
	Elf32_Ehdr eh;
	Elf32_Phdr ph;
	size_t i;

	(void)state;
	d.page_offset = 0x1c0000000ull;
	d.task = 0x1c1234000ull;
	assert_int_equal(nd_elf_header_build(&d, ram, 1, out, sizeof(out)),
	    1);
	assert_int_equal(out[EI_CLASS], ELFCLASS32);
	memcpy(&eh, out, sizeof(eh));
	for (i = 1; i < eh.e_phnum; i++) {
		memcpy(&ph, out + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		assert_int_equal(ph.p_type, PT_LOAD);
		assert_int_equal(ph.p_vaddr, 0);
	}
	want = d;
	want.task = 0;
	check_notes(out, &want);
}

/* An i386 with PAE past 4 GiB: ELF64, EM_386, no vaddr past 4 GiB. */
static void
test_i386_past_4g(void **state)
{
	struct nd_elf_desc d = desc_i386(0x180000, 2);
	struct nd_elf_range ram[] = { { 0, 0x1000 }, { 0x100000, 0x80000 } };
	static struct seen s;
	char path[64];
	size_t hs;
	int fd;

	(void)state;
	hs = nd_elf_header_size(&d);
	assert_int_equal(hs, PS);
	assert_int_equal(nd_elf_header_build(&d, ram, 2, out, sizeof(out)),
	    2);
	assert_int_equal(out[EI_CLASS], ELFCLASS64);
	snprintf(path, sizeof(path), "%s/pae", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, out, hs), (ssize_t)hs);
	close(fd);
	run_readelf(path, &s);
	check_common(&s, &d, 1);
	assert_int_equal(s.nload, 2);
	check_load(&s, 0, hs, &d, 0, 0x1000);
	assert_true(s.load[1].paddr == 0x100000000ull);
	assert_true(s.load[1].offset == hs + 0x100000000ull);
	assert_true(s.load[1].vaddr == 0);
	check_notes(out, &d);
	assert_int_equal(unlink(path), 0);

	/* A file that ends below 4 GiB stays ELF32; one at 4 GiB not. */
	d.max_pfn = 0xffffe;
	assert_int_equal(nd_elf_header_build(&d, ram, 1, out, sizeof(out)),
	    1);
	assert_int_equal(out[EI_CLASS], ELFCLASS32);
	d.max_pfn = 0xfffff;
	assert_int_equal(nd_elf_header_build(&d, ram, 1, out, sizeof(out)),
	    1);
	assert_int_equal(out[EI_CLASS], ELFCLASS64);
}

/* The PT_LOADs of an x86_64 header, read back with <elf.h>. */
static size_t
loads64(struct nd_elf_range *got, size_t max)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	size_t i, n;

	memcpy(&eh, out, sizeof(eh));
	n = eh.e_phnum - 1u;
	assert_true(n <= max);
	for (i = 0; i < n; i++) {
		memcpy(&ph, out + eh.e_phoff + (1 + i) * sizeof(ph),
		    sizeof(ph));
		assert_int_equal(ph.p_type, PT_LOAD);
		assert_true(ph.p_filesz == ph.p_memsz);
		got[i].first = ph.p_paddr / PS;
		got[i].count = ph.p_filesz / PS;
	}
	return n;
}

static void
test_merge(void **state)
{
	/* Holes of 4, 30, 2, 100, 9 frames. */
	struct nd_elf_range ram[] = { { 0, 10 }, { 14, 6 }, { 50, 5 },
	    { 57, 3 }, { 160, 40 }, { 209, 1 } };
	struct nd_elf_desc d = desc_x86_64(256, 3);
	struct nd_elf_range got[8];
	static struct seen s;
	char path[64];
	size_t hs;

	(void)state;
	/* The widest holes, 100 and 30, stay; the others read as zeros. */
	assert_int_equal(nd_elf_header_build(&d, ram, 6, out, sizeof(out)),
	    3);
	assert_int_equal(loads64(got, 8), 3);
	assert_true(got[0].first == 0 && got[0].count == 20);
	assert_true(got[1].first == 50 && got[1].count == 10);
	assert_true(got[2].first == 160 && got[2].count == 50);
	hs = nd_elf_header_size(&d);
	snprintf(path, sizeof(path), "%s/merged", dir);
	write_core(path, hs, &d, ram, 6);
	run_readelf(path, &s);
	check_common(&s, &d, 1);
	assert_int_equal(s.nload, 3);
	check_load(&s, 1, hs, &d, 50, 10);
	check_page(path, hs, 55, 0);
	check_page(path, hs, 57, 1);
	assert_int_equal(unlink(path), 0);

	/* One PT_LOAD: everything from the first frame to the last. */
	d.max_loads = 1;
	assert_int_equal(nd_elf_header_build(&d, ram, 6, out, sizeof(out)),
	    1);
	assert_int_equal(loads64(got, 8), 1);
	assert_true(got[0].first == 0 && got[0].count == 210);

	/* Room for all: nothing merges. */
	d.max_loads = 6;
	assert_int_equal(nd_elf_header_build(&d, ram, 6, out, sizeof(out)),
	    6);
	assert_int_equal(loads64(got, 8), 6);
	assert_true(got[3].first == 57 && got[3].count == 3);
}

/* Ties go to the first holes; touching ranges always join. */
static void
test_merge_ties_and_adjacent(void **state)
{
	struct nd_elf_range ram[] = { { 2, 2 }, { 6, 2 }, { 10, 2 },
	    { 14, 2 }, { 16, 4 } };
	struct nd_elf_desc d = desc_x86_64(32, 3);
	struct nd_elf_range got[8];

	(void)state;
	assert_int_equal(nd_elf_header_build(&d, ram, 5, out, sizeof(out)),
	    3);
	assert_int_equal(loads64(got, 8), 3);
	assert_true(got[0].first == 2 && got[0].count == 2);
	assert_true(got[1].first == 6 && got[1].count == 2);
	assert_true(got[2].first == 10 && got[2].count == 10);

	d.max_loads = 8;
	assert_int_equal(nd_elf_header_build(&d, ram, 5, out, sizeof(out)),
	    4);
	assert_int_equal(loads64(got, 8), 4);
	assert_true(got[3].first == 14 && got[3].count == 6);

	/* No RAM at all: the notes alone. */
	assert_int_equal(nd_elf_header_build(&d, NULL, 0, out, sizeof(out)),
	    0);
	assert_int_equal(loads64(got, 8), 0);
	check_notes(out, &d);
}

/* Unknown page_offset: vaddr 0; big header: more than a page. */
static void
test_vaddr_unknown_and_size(void **state)
{
	struct nd_elf_desc d = desc_x86_64(64, 4);
	struct nd_elf_range ram[] = { { 8, 8 } };
	struct nd_elf_range got[2];
	Elf64_Phdr ph;

	(void)state;
	d.page_offset = 0;
	assert_int_equal(nd_elf_header_build(&d, ram, 1, out, sizeof(out)),
	    1);
	assert_int_equal(loads64(got, 2), 1);
	memcpy(&ph, out + sizeof(Elf64_Ehdr) + sizeof(ph), sizeof(ph));
	assert_true(ph.p_vaddr == 0 && ph.p_paddr == 8 * PS);
	/* 64 + 101 * 56 + 376 = 6096: two pages; 16 KiB pages: one. */
	d.max_loads = 100;
	assert_int_equal(nd_elf_header_size(&d), 2 * PS);
	d.page_size = 16384;
	assert_int_equal(nd_elf_header_size(&d), 16384);
	d.page_size = 1024;
	assert_int_equal(nd_elf_header_size(&d), 6 * 1024);
}

/*
 * gdb (bfd) finds the registers by its own idea of the prstatus layout
 * (elf_x86_64_grok_prstatus, elf_i386_grok_prstatus): a second check of
 * offsets 112 and 72. Skipped without gdb.
 */
static void
gdb_register(const char *path, const char *reg, uint64_t want)
{
	char cmd[256], text[4096], line[64];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "gdb -batch -nx -ex 'core-file %s' "
	    "-ex 'info registers %s' 2>&1", path, reg);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(text, 1, sizeof(text) - 1, p);
	text[n] = '\0';
	assert_int_equal(pclose(p), 0);
	snprintf(line, sizeof(line), "%-15s0x%" PRIx64, reg, want);
	if (strstr(text, line) == NULL)
		fail_msg("gdb said:\n%s\nnot: %s", text, line);
}

static uint64_t
reg_at(const uint8_t *regs, size_t i, size_t word)
{
	uint64_t v = 0;

	memcpy(&v, regs + i * word, word);
	return v;
}

static void
test_gdb(void **state)
{
	struct nd_elf_range ram[] = { { 0, 16 } };
	struct nd_elf_desc d;
	char path[64];
	size_t hs;

	(void)state;
	if (system("command -v gdb >/dev/null 2>&1") != 0)
		skip();
	snprintf(path, sizeof(path), "%s/gdb", dir);
	/* user_regs_struct: rip is register 16, rsp 19. */
	d = desc_x86_64(16, 2);
	hs = nd_elf_header_size(&d);
	assert_int_equal(nd_elf_header_build(&d, ram, 1, out, sizeof(out)),
	    1);
	write_core(path, hs, &d, ram, 1);
	gdb_register(path, "rip", reg_at(regs64, 16, 8));
	gdb_register(path, "rsp", reg_at(regs64, 19, 8));
	/* i386: eax is register 6, eip 12, esp 15. */
	d = desc_i386(16, 2);
	hs = nd_elf_header_size(&d);
	assert_int_equal(nd_elf_header_build(&d, ram, 1, out, sizeof(out)),
	    1);
	write_core(path, hs, &d, ram, 1);
	gdb_register(path, "eax", reg_at(regs32, 6, 4));
	gdb_register(path, "eip", reg_at(regs32, 12, 4));
	gdb_register(path, "esp", reg_at(regs32, 15, 4));
	assert_int_equal(unlink(path), 0);
}

static void
refused(const struct nd_elf_desc *d, const struct nd_elf_range *ram,
    size_t nram, size_t outlen, int err)
{
	memset(out, 0x5a, sizeof(out));
	errno = 0;
	assert_int_equal(nd_elf_header_build(d, ram, nram, out, outlen), -1);
	assert_int_equal(errno, err);
	assert_int_equal(out[0], 0x5a);
}

static void
test_refusals(void **state)
{
	struct nd_elf_range ram[] = { { 0, 16 }, { 32, 32 } };
	struct nd_elf_range bad[2];
	struct nd_elf_desc d;
	size_t i;
	static const uint32_t pages[] = { 0, 512, 1000, 3000, 4097,
	    2 * 1024 * 1024 };

	(void)state;
	d = desc_x86_64(64, 4);
	d.machine = EM_IA_64;
	assert_int_equal(nd_elf_header_size(&d), 0);
	refused(&d, ram, 2, sizeof(out), EINVAL);
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		d = desc_x86_64(64, 4);
		d.page_size = pages[i];
		assert_int_equal(nd_elf_header_size(&d), 0);
		refused(&d, ram, 2, sizeof(out), EINVAL);
	}
	d = desc_x86_64(64, 0);
	assert_int_equal(nd_elf_header_size(&d), 0);
	refused(&d, ram, 2, sizeof(out), EINVAL);
	d = desc_x86_64(64, ND_ELF_MAX_LOADS + 1);
	assert_int_equal(nd_elf_header_size(&d), 0);
	d = desc_x86_64(UINT64_MAX / PS, 4);
	assert_int_equal(nd_elf_header_size(&d), 0);

	/* Registers of the other architecture, or none. */
	d = desc_x86_64(64, 4);
	d.regs_len = sizeof(regs32);
	refused(&d, ram, 2, sizeof(out), EINVAL);
	d = desc_i386(64, 4);
	d.regs_len = sizeof(regs64);
	refused(&d, ram, 2, sizeof(out), EINVAL);
	d.regs_len = sizeof(regs32);
	d.regs = NULL;
	refused(&d, ram, 2, sizeof(out), EINVAL);

	/* The output one byte short. */
	d = desc_x86_64(64, 4);
	refused(&d, ram, 2, nd_elf_header_size(&d) - 1, ENOBUFS);
	refused(&d, ram, 2, 0, ENOBUFS);

	/* RAM maps: unsorted, overlapping, empty, past max_pfn. */
	bad[0] = ram[1], bad[1] = ram[0];
	refused(&d, bad, 2, sizeof(out), EINVAL);
	bad[0] = ram[0], bad[1] = (struct nd_elf_range){ 15, 4 };
	refused(&d, bad, 2, sizeof(out), EINVAL);
	bad[1] = (struct nd_elf_range){ 20, 0 };
	refused(&d, bad, 2, sizeof(out), EINVAL);
	bad[1] = (struct nd_elf_range){ 60, 5 };
	refused(&d, bad, 2, sizeof(out), EINVAL);
	bad[1] = (struct nd_elf_range){ 64, 1 };
	refused(&d, bad, 2, sizeof(out), EINVAL);
	bad[1] = (struct nd_elf_range){ 20, UINT64_MAX };
	refused(&d, bad, 2, sizeof(out), EINVAL);
	refused(&d, NULL, 2, sizeof(out), EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x86_64_one_range),
		cmocka_unit_test(test_x86_64_ranges),
		cmocka_unit_test(test_i386),
		cmocka_unit_test(test_i386_past_4g),
		cmocka_unit_test(test_i386_claims_past_32_bits),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_ties_and_adjacent),
		cmocka_unit_test(test_vaddr_unknown_and_size),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_gdb),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
