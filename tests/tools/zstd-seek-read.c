/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zstd-seek-read FILE OFFSET LENGTH
 *
 * Print LENGTH bytes of the data in the zstd seekable file FILE, starting
 * at OFFSET of the decompressed data, to stdout. Only the frames the range
 * touches are read and decompressed, through the seek table at the end of
 * the file (zstd's contrib/seekable_format). A range running past the end
 * gives what there is, like dd.
 *
 * It checks what a careful reader checks: the table's framing, that the
 * frames fill the file up to the table, and for each frame read its
 * compressed and decompressed size, zstd's own checksum and the table's
 * checksum (the lower 32 bits of XXH64 of the frame's data, computed here
 * independently of libzstd). Exit 0 on success, 1 on any error (no seek
 * table, a damaged file), 2 on bad usage.
 *
 * A test helper: it decompresses a frame at a time into memory, so a frame
 * (1 GiB at most in the format) costs its size in memory.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#define SKIPPABLE_MAGIC		0x184D2A5Eu
#define SEEKABLE_MAGIC		0x8F92EAB1u
#define SKIPPABLE_HEADER_SIZE	8
#define SEEK_FOOTER_SIZE	9
#define SEEK_CHECKSUM_FLAG	0x80
#define SEEK_RESERVED_BITS	0x7c

struct frame {
	uint64_t	coff;		/* in the file */
	uint64_t	doff;		/* in the decompressed data */
	uint32_t	csize;
	uint32_t	dsize;
	uint32_t	checksum;
};

static const char *progname = "zstd-seek-read";

static uint32_t
get_le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

static uint64_t
get_le64(const unsigned char *b)
{
	return (uint64_t)get_le32(b) | (uint64_t)get_le32(b + 4) << 32;
}

/* XXH64, written from its specification, for the seek table checksums. */
#define P1	0x9E3779B185EBCA87ull
#define P2	0xC2B2AE3D27D4EB4Full
#define P3	0x165667B19E3779F9ull
#define P4	0x85EBCA77C2B2AE63ull
#define P5	0x27D4EB2F165667C5ull

static uint64_t
rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static uint64_t
xxh_round(uint64_t acc, uint64_t in)
{
	return rotl64(acc + in * P2, 31) * P1;
}

static uint64_t
xxh_merge(uint64_t h, uint64_t v)
{
	return (h ^ xxh_round(0, v)) * P1 + P4;
}

static uint64_t
xxh64(const void *buf, size_t len, uint64_t seed)
{
	const unsigned char *p = buf, *end = p + len;
	uint64_t h, v1, v2, v3, v4;

	if (len >= 32) {
		v1 = seed + P1 + P2;
		v2 = seed + P2;
		v3 = seed;
		v4 = seed - P1;
		for (; end - p >= 32; p += 32) {
			v1 = xxh_round(v1, get_le64(p));
			v2 = xxh_round(v2, get_le64(p + 8));
			v3 = xxh_round(v3, get_le64(p + 16));
			v4 = xxh_round(v4, get_le64(p + 24));
		}
		h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) +
		    rotl64(v4, 18);
		h = xxh_merge(h, v1);
		h = xxh_merge(h, v2);
		h = xxh_merge(h, v3);
		h = xxh_merge(h, v4);
	} else
		h = seed + P5;
	h += (uint64_t)len;
	for (; end - p >= 8; p += 8)
		h = rotl64(h ^ xxh_round(0, get_le64(p)), 27) * P1 + P4;
	if (end - p >= 4) {
		h = rotl64(h ^ (uint64_t)get_le32(p) * P1, 23) * P2 + P3;
		p += 4;
	}
	for (; p < end; p++)
		h = rotl64(h ^ *p * P5, 11) * P1;
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s FILE OFFSET LENGTH\n", progname);
	exit(2);
}

static bool
parse_u64(const char *s, uint64_t *v)
{
	unsigned long long n;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*v = n;
	return true;
}

static int
read_at(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pread(fd, p, len, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read the seek table of the file fd, size bytes long. Returns the frames
 * (*nframes of them, and a sentinel after them), whether the table has
 * checksums in *sums, or NULL after a message.
 */
static struct frame *
read_table(const char *path, int fd, uint64_t size, size_t *nframes,
    bool *sums)
{
	unsigned char foot[SEEK_FOOTER_SIZE], head[SKIPPABLE_HEADER_SIZE];
	unsigned char *tab = NULL, *e;
	struct frame *f = NULL;
	uint64_t tsize, coff = 0, doff = 0;
	uint32_t n, i;
	size_t esize;

	if (size < SKIPPABLE_HEADER_SIZE + SEEK_FOOTER_SIZE ||
	    read_at(fd, foot, sizeof(foot), size - sizeof(foot)) == -1 ||
	    get_le32(foot + 5) != SEEKABLE_MAGIC) {
		fprintf(stderr, "%s: %s: no seek table\n", progname, path);
		return NULL;
	}
	n = get_le32(foot);
	if (foot[4] & SEEK_RESERVED_BITS) {
		fprintf(stderr, "%s: %s: seek table descriptor 0x%02x has "
		    "reserved bits set\n", progname, path, foot[4]);
		return NULL;
	}
	*sums = (foot[4] & SEEK_CHECKSUM_FLAG) != 0;
	esize = *sums ? 12 : 8;
	tsize = SKIPPABLE_HEADER_SIZE + (uint64_t)n * esize + SEEK_FOOTER_SIZE;
	if (tsize > size || read_at(fd, head, sizeof(head), size - tsize) ==
	    -1 || get_le32(head) != SKIPPABLE_MAGIC ||
	    get_le32(head + 4) != tsize - SKIPPABLE_HEADER_SIZE) {
		fprintf(stderr, "%s: %s: no seek table (a footer for %" PRIu32
		    " frames, but no skippable frame of that size)\n",
		    progname, path, n);
		return NULL;
	}
	if ((tab = malloc((size_t)n * esize + 1)) == NULL ||
	    (f = calloc((size_t)n + 1, sizeof(*f))) == NULL) {
		fprintf(stderr, "%s: out of memory\n", progname);
		goto fail;
	}
	if (read_at(fd, tab, (size_t)n * esize, size - tsize +
	    SKIPPABLE_HEADER_SIZE) == -1) {
		fprintf(stderr, "%s: %s: cannot read the seek table\n",
		    progname, path);
		goto fail;
	}
	for (i = 0, e = tab; i < n; i++, e += esize) {
		f[i].coff = coff;
		f[i].doff = doff;
		f[i].csize = get_le32(e);
		f[i].dsize = get_le32(e + 4);
		f[i].checksum = *sums ? get_le32(e + 8) : 0;
		coff += f[i].csize;
		doff += f[i].dsize;
	}
	/* The frames must fill the file up to the table, no more, no less. */
	if (coff != size - tsize) {
		fprintf(stderr, "%s: %s: the seek table covers %" PRIu64
		    " bytes of frames, the file has %" PRIu64 "\n", progname,
		    path, coff, size - tsize);
		goto fail;
	}
	/* A sentinel: where the data ends. */
	f[n].coff = coff;
	f[n].doff = doff;
	free(tab);
	*nframes = n;
	return f;
fail:
	free(tab);
	free(f);
	return NULL;
}

int
main(int argc, char *argv[])
{
	const char *path;
	struct frame *f = NULL, *fr;
	ZSTD_DCtx *dctx = NULL;
	unsigned char *cbuf = NULL, *dbuf = NULL;
	size_t nframes, i, lo, hi, mid, ccap = 0, dcap = 0, z, skip, n;
	uint64_t offset, length, end;
	struct stat sb;
	int fd = -1, rc = 1;
	bool sums;

	if (argc != 4)
		usage();
	path = argv[1];
	if (!parse_u64(argv[2], &offset) || !parse_u64(argv[3], &length))
		usage();
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		fprintf(stderr, "%s: %s: %s\n", progname, path,
		    strerror(errno));
		goto out;
	}
	if ((f = read_table(path, fd, (uint64_t)sb.st_size, &nframes,
	    &sums)) == NULL)
		goto out;
	if (offset >= f[nframes].doff || length == 0) {
		rc = 0;
		goto out;
	}
	end = length > f[nframes].doff - offset ? f[nframes].doff :
	    offset + length;
	if ((dctx = ZSTD_createDCtx()) == NULL) {
		fprintf(stderr, "%s: out of memory\n", progname);
		goto out;
	}

	/* The first frame whose data ends beyond offset. */
	lo = 0;
	hi = nframes;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (f[mid].doff + f[mid].dsize <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < nframes && f[i].doff < end; i++) {
		fr = &f[i];
		if (fr->dsize == 0)
			continue;
		if (fr->csize > ccap) {
			free(cbuf);
			ccap = fr->csize;
			if ((cbuf = malloc(ccap)) == NULL)
				goto nomem;
		}
		if (fr->dsize > dcap) {
			free(dbuf);
			dcap = fr->dsize;
			if ((dbuf = malloc(dcap)) == NULL)
				goto nomem;
		}
		if (read_at(fd, cbuf, fr->csize, fr->coff) == -1) {
			fprintf(stderr, "%s: %s: frame %zu: cannot read "
			    "%" PRIu32 " bytes at %" PRIu64 "\n", progname,
			    path, i, fr->csize, fr->coff);
			goto out;
		}
		z = ZSTD_findFrameCompressedSize(cbuf, fr->csize);
		if (ZSTD_isError(z) || z != fr->csize) {
			fprintf(stderr, "%s: %s: frame %zu: not one zstd frame "
			    "of %" PRIu32 " bytes\n", progname, path, i,
			    fr->csize);
			goto out;
		}
		z = ZSTD_decompressDCtx(dctx, dbuf, fr->dsize, cbuf, fr->csize);
		if (ZSTD_isError(z) || z != fr->dsize) {
			fprintf(stderr, "%s: %s: frame %zu: %s\n", progname,
			    path, i, ZSTD_isError(z) ? ZSTD_getErrorName(z) :
			    "decompressed size differs from the seek table");
			goto out;
		}
		if (sums && (uint32_t)xxh64(dbuf, fr->dsize, 0) !=
		    fr->checksum) {
			fprintf(stderr, "%s: %s: frame %zu: seek table "
			    "checksum mismatch\n", progname, path, i);
			goto out;
		}
		skip = offset > fr->doff ? (size_t)(offset - fr->doff) : 0;
		n = (end < fr->doff + fr->dsize ? (size_t)(end - fr->doff) :
		    fr->dsize) - skip;
		if (fwrite(dbuf + skip, 1, n, stdout) != n)
			goto wfail;
	}
	if (fflush(stdout) == EOF)
		goto wfail;
	rc = 0;
	goto out;
nomem:
	fprintf(stderr, "%s: out of memory\n", progname);
	goto out;
wfail:
	fprintf(stderr, "%s: stdout: %s\n", progname, strerror(errno));
out:
	ZSTD_freeDCtx(dctx);
	free(cbuf);
	free(dbuf);
	free(f);
	if (fd != -1)
		close(fd);
	return rc;
}
