/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the zstd transform (sinks/zstd, compiled in).
 * Every call goes through the exported descriptor, as the host would make
 * it; the next stage is a mock that keeps each object it is given in
 * memory, logs the operations, and fails on request. What the module
 * emits is checked by decompressing it with libzstd and, for the seekable
 * format, by parsing the seek table here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/resource.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zstd.h>

#include "netdump/sink.h"

#include "mock_host.h"

/* The module's descriptor, from sinks/zstd/zstd.c compiled in. */
extern const struct nds_sink_module nds_sink_module;

#define M	nds_sink_module
#define KiB	((size_t)1024)
#define MiB	(1024 * KiB)
#define GiB	(1024 * MiB)
#define PAGE	(4 * KiB)
#define PIECE	(256 * KiB)	/* how the image is handed in */
#define MINIDUMP_MAGIC	"minidump FreeBSD/amd64"
#define JUDGE_MIN_T	4096	/* the module's JUDGE_MIN */

/* ------------------------------------------------------------------ */
/* The mock next stage */

enum mock_op { OP_OPEN, OP_WRITE, OP_HOLE, OP_CLOSE, OP_NONE };

struct oplog {
	enum mock_op	 op;
	uint64_t	 offset;
	uint64_t	 len;
};

#define MAXOBJ		8
#define MAXLOG		4096
#define MAXHOLEBUF	(256 * MiB)	/* holes it stores as zeros */

struct mock;

struct mobj {
	struct mock		*m;
	enum nds_object_kind	 kind;
	unsigned char		*buf;	/* holes stored as zeros */
	size_t			 len;
	size_t			 cap;
	bool			 contiguous; /* no op skipped ahead */
	bool			 closed;
	uint64_t		 size;		/* as closed */
	char			 suffix[64];	/* NULL as "" */
	struct oplog		 log[MAXLOG];
	size_t			 nlog;
};

struct mock {
	struct mobj	 obj[MAXOBJ];
	size_t		 nobj;
	/* Fail the fail_after+1-th op of kind fail_op with fail_result. */
	enum mock_op	 fail_op;
	unsigned int	 fail_after;
	enum nds_result	 fail_result;
	unsigned int	 count[OP_NONE];
};

static bool
mock_fails(struct mock *m, enum mock_op op, char *err)
{
	if (m->fail_op == op && m->count[op]++ == m->fail_after) {
		snprintf(err, NDS_ERRBUF_SIZE, "mock: injected failure");
		return true;
	}
	return false;
}

static void
mock_log_op(struct mobj *o, enum mock_op op, uint64_t offset, uint64_t len)
{
	if (o->nlog < MAXLOG)
		o->log[o->nlog++] = (struct oplog){ op, offset, len };
}

static void
mock_store(struct mobj *o, uint64_t offset, const void *buf, uint64_t len)
{
	size_t end;

	assert_true(offset + len <= MAXHOLEBUF);
	if (offset != o->len)
		o->contiguous = false;
	end = (size_t)(offset + len);
	if (end > o->cap) {
		o->cap = o->cap == 0 ? 64 * KiB : o->cap;
		while (o->cap < end)
			o->cap *= 2;
		assert_non_null(o->buf = realloc(o->buf, o->cap));
	}
	if (offset > o->len)
		memset(o->buf + o->len, 0, (size_t)offset - o->len);
	if (buf != NULL)
		memcpy(o->buf + offset, buf, (size_t)len);
	else
		memset(o->buf + offset, 0, (size_t)len);
	if (end > o->len)
		o->len = end;
}

static enum nds_result
mock_open(void *ctx, enum nds_object_kind kind, void **object,
    char err[NDS_ERRBUF_SIZE])
{
	struct mock *m = ctx;
	struct mobj *o;

	if (mock_fails(m, OP_OPEN, err))
		return m->fail_result;
	assert_true(m->nobj < MAXOBJ);
	o = &m->obj[m->nobj++];
	o->m = m;
	o->kind = kind;
	o->contiguous = true;
	mock_log_op(o, OP_OPEN, 0, 0);
	*object = o;
	return NDS_OK;
}

static enum nds_result
mock_write(void *object, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct mobj *o = object;

	assert_false(o->closed);
	if (mock_fails(o->m, OP_WRITE, err))
		return o->m->fail_result;
	mock_log_op(o, OP_WRITE, offset, len);
	mock_store(o, offset, buf, len);
	return NDS_OK;
}

static enum nds_result
mock_hole(void *object, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct mobj *o = object;

	assert_false(o->closed);
	if (mock_fails(o->m, OP_HOLE, err))
		return o->m->fail_result;
	mock_log_op(o, OP_HOLE, offset, len);
	mock_store(o, offset, NULL, len);
	return NDS_OK;
}

static enum nds_result
mock_close(void *object, const struct nds_object *obj,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct mobj *o = object;

	assert_false(o->closed);
	assert_int_equal(obj->kind, o->kind);
	/* Always releases the object, failed or not. */
	o->closed = true;
	o->size = obj->size;
	snprintf(o->suffix, sizeof(o->suffix), "%s",
	    obj->suffix != NULL ? obj->suffix : "");
	snprintf(where, NDS_WHERE_SIZE, "mock/%d", (int)o->kind);
	mock_log_op(o, OP_CLOSE, obj->size, 0);
	if (mock_fails(o->m, OP_CLOSE, err))
		return o->m->fail_result;
	return NDS_OK;
}

/* ------------------------------------------------------------------ */
/* Harness */

struct env {
	struct mock		 m;
	struct nds_stage	 stage;
	struct nds_dump		 dump;
	struct nds_kdh		 kdh;
	void			*config;	/* the host's, for inst */
	void			*inst;
	void			*ds;
	char			 err[NDS_ERRBUF_SIZE];
	char			 where[NDS_WHERE_SIZE];
};

static int
setup(void **state)
{
	struct env *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	e->m.fail_op = OP_NONE;
	e->stage.struct_size = sizeof(e->stage);
	e->stage.ctx = &e->m;
	e->stage.open = mock_open;
	e->stage.write = mock_write;
	e->stage.hole = mock_hole;
	e->stage.close = mock_close;
	mock_dump_init(&e->dump, "/nonexistent", -1);
	e->dump.id = 7;
	e->dump.client_name = "client";
	mock_host_reset("zstd");
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	size_t i;

	if (e->inst != NULL)
		M.destroy(e->inst);
	if (e->config != NULL)
		mock_config_free(&M, e->config);
	for (i = 0; i < e->m.nobj; i++)
		free(e->m.obj[i].buf);
	free(e);
	return 0;
}

/*
 * Create the instance from the options as the configuration would say
 * them; a value the host refuses fails like a refusing create, with the
 * host's message naming the option as the daemon's does. The config of an
 * earlier instance (destroyed by then) goes once a new one is made.
 */
static enum nds_result
make(struct env *e, int64_t level, int64_t workers, int64_t frame_size)
{
	static const char *const names[] = { "level", "workers",
	    "frame_size" };
	char s[3][64], why[128];
	const char *settings[] = { s[0], s[1], s[2], NULL };
	enum nds_result r;
	void *config;
	size_t i;

	snprintf(s[0], sizeof(s[0]), "level=%" PRId64, level);
	snprintf(s[1], sizeof(s[1]), "workers=%" PRId64, workers);
	snprintf(s[2], sizeof(s[2]), "frame_size=%" PRId64, frame_size);
	for (i = 0; i < 3; i++) {
		settings[0] = s[i];
		settings[1] = NULL;
		config = mock_config_try(&M, settings, why, sizeof(why));
		if (config == NULL) {
			snprintf(e->err, sizeof(e->err), "option '%s': %s",
			    names[i], why);
			return NDS_FATAL;
		}
		mock_config_free(&M, config);
	}
	settings[0] = s[0];
	settings[1] = s[1];
	config = mock_config(&M, settings);
	if ((r = M.create(&mock_host, NULL, config, &e->inst, e->err)) !=
	    NDS_OK) {
		mock_config_free(&M, config);
		return r;
	}
	if (e->config != NULL)
		mock_config_free(&M, e->config);
	e->config = config;
	return NDS_OK;
}

static void
begin(struct env *e, int64_t level, int64_t workers, int64_t frame_size)
{
	assert_int_equal(make(e, level, workers, frame_size), NDS_OK);
	assert_int_equal(M.begin(e->inst, &e->dump, &e->stage, &e->ds,
	    e->err), NDS_OK);
}

static void *
open_obj(struct env *e, enum nds_object_kind kind)
{
	void *o = NULL;

	assert_int_equal(M.open(e->ds, kind, &o, e->err), NDS_OK);
	return o;
}

static enum nds_result
close_obj(struct env *e, void *o, enum nds_object_kind kind, uint64_t size,
    const char *suffix)
{
	struct nds_object obj = { .kind = kind, .size = size,
	    .suffix = suffix };

	e->where[0] = '\0';
	return M.close(o, &obj, e->where, e->err);
}

static void
end(struct env *e)
{
	assert_int_equal(M.end(e->ds, e->err), NDS_OK);
	e->ds = NULL;
}

static struct mobj *
mobj_of(struct env *e, enum nds_object_kind kind)
{
	size_t i;

	for (i = 0; i < e->m.nobj; i++)
		if (e->m.obj[i].kind == kind)
			return &e->m.obj[i];
	fail_msg("no %d object on the next stage", (int)kind);
	return NULL;
}

static uint32_t
le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

/* ------------------------------------------------------------------ */
/* Data */

static uint64_t rng = 88172645463325252ull;

static uint64_t
xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static bool
page_is_zero(const unsigned char *p, size_t n)
{
	static const unsigned char z[PAGE];

	return memcmp(p, z, n) == 0;
}

/*
 * Something like a memory image: runs of zero pages (about half of them),
 * text, code-like structures with small variations, random bytes.
 */
static unsigned char *
make_image(size_t len)
{
	static const char *words[] = { "kernel ", "panic: ", "vm_page ",
	    "0xfffff80012345678 ", "struct thread ", "netdump ", "\n",
	    "mtx_lock ", "proc0 ", "uma_zalloc_arg ", "em0: link up ", };
	unsigned char *b;
	size_t off, end, i, run, type;
	uint64_t r;

	assert_non_null(b = calloc(1, len));
	for (off = 0; off < len; off = end) {
		run = 1 + xorshift() % 48;
		end = off + run * PAGE < len ? off + run * PAGE : len;
		type = xorshift() % 10;
		if (type < 5)
			continue;		/* zero pages */
		for (i = off; i < end; ) {
			r = xorshift();
			if (type < 7) {		/* text */
				const char *w = words[r % (sizeof(words) /
				    sizeof(words[0]))];
				size_t n = strlen(w);

				n = n < end - i ? n : end - i;
				memcpy(b + i, w, n);
				i += n;
			} else if (type < 9) {	/* structures */
				b[i] = (unsigned char)(i % 64 < 8 ? r : i % 7);
				i++;
			} else {		/* random */
				b[i++] = (unsigned char)r;
			}
		}
		/* A data page is never all zero. */
		b[off] |= 1;
	}
	/* Like every plaintext dump, it begins with a known header. */
	if (len >= sizeof(MINIDUMP_MAGIC) - 1)
		memcpy(b, MINIDUMP_MAGIC, sizeof(MINIDUMP_MAGIC) - 1);
	return b;
}

/*
 * Hand buf to the vmcore object as the core would: 256 KiB pieces, all
 * zero pages as holes, the rest as writes.
 */
static void
feed_image(struct env *e, void *o, const unsigned char *buf, size_t len)
{
	size_t piece, pend, run, n;
	bool zero;

	for (piece = 0; piece < len; piece = pend) {
		pend = piece + PIECE < len ? piece + PIECE : len;
		for (run = piece; run < pend; run += n) {
			n = PAGE < pend - run ? PAGE : pend - run;
			zero = page_is_zero(buf + run, n);
			while (run + n < pend) {
				size_t k = PAGE < pend - run - n ? PAGE :
				    pend - run - n;

				if (page_is_zero(buf + run + n, k) != zero)
					break;
				n += k;
			}
			if (zero)
				assert_int_equal(M.hole(o, run, n, e->err),
				    NDS_OK);
			else
				assert_int_equal(M.write(o, run, buf + run, n,
				    e->err), NDS_OK);
		}
	}
}

/* Decompress a whole .zst (any frames, skippable ones skipped). */
static unsigned char *
unzstd(const unsigned char *z, size_t zlen, size_t expect, size_t *outlen)
{
	ZSTD_DCtx *dctx;
	ZSTD_inBuffer in = { z, zlen, 0 };
	ZSTD_outBuffer out;
	unsigned char *b;
	size_t r = 1;

	assert_non_null(dctx = ZSTD_createDCtx());
	assert_non_null(b = malloc(expect + 1));
	out.dst = b;
	out.size = expect + 1;
	out.pos = 0;
	while (in.pos < in.size) {
		r = ZSTD_decompressStream(dctx, &out, &in);
		if (ZSTD_isError(r))
			fail_msg("decompress: %s", ZSTD_getErrorName(r));
		if (out.pos == out.size)
			fail_msg("more than the %zu bytes expected", expect);
	}
	assert_int_equal(r, 0);		/* the last frame is complete */
	ZSTD_freeDCtx(dctx);
	*outlen = out.pos;
	return b;
}

static void
assert_roundtrip(const struct mobj *mo, const unsigned char *orig,
    size_t len)
{
	unsigned char *d;
	size_t dlen;

	d = unzstd(mo->buf, mo->len, len, &dlen);
	assert_int_equal(dlen, len);
	assert_memory_equal(d, orig, len);
	free(d);
}

/* ------------------------------------------------------------------ */
/* XXH64 from its specification: checks the seek table independently. */

#define P1	0x9E3779B185EBCA87ull
#define P2	0xC2B2AE3D27D4EB4Full
#define P3	0x165667B19E3779F9ull
#define P4	0x85EBCA77C2B2AE63ull
#define P5	0x27D4EB2F165667C5ull

static uint64_t
le64(const unsigned char *b)
{
	return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
}

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
	const unsigned char *p = buf, *pend = p + len;
	uint64_t h, v1, v2, v3, v4;

	if (len >= 32) {
		v1 = seed + P1 + P2;
		v2 = seed + P2;
		v3 = seed;
		v4 = seed - P1;
		for (; pend - p >= 32; p += 32) {
			v1 = xxh_round(v1, le64(p));
			v2 = xxh_round(v2, le64(p + 8));
			v3 = xxh_round(v3, le64(p + 16));
			v4 = xxh_round(v4, le64(p + 24));
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
	for (; pend - p >= 8; p += 8)
		h = rotl64(h ^ xxh_round(0, le64(p)), 27) * P1 + P4;
	if (pend - p >= 4) {
		h = rotl64(h ^ (uint64_t)le32(p) * P1, 23) * P2 + P3;
		p += 4;
	}
	for (; p < pend; p++)
		h = rotl64(h ^ *p * P5, 11) * P1;
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

/* ------------------------------------------------------------------ */
/* The seekable format */

struct sframe {
	size_t		 coff;
	size_t		 doff;
	uint32_t	 csize;
	uint32_t	 dsize;
	uint32_t	 checksum;
};

/* Parse the seek table at the end of z; every check is an assertion. */
static struct sframe *
parse_seek_table(const unsigned char *z, size_t zlen, size_t *nframes)
{
	const unsigned char *foot, *head, *ent;
	struct sframe *f;
	size_t n, i, tsize, coff = 0, doff = 0;

	assert_true(zlen >= 17);
	foot = z + zlen - 9;
	assert_int_equal(le32(foot + 5), 0x8F92EAB1u);
	assert_int_equal(foot[4], 0x80);	/* checksums, nothing else */
	n = le32(foot);
	tsize = 8 + n * 12 + 9;
	assert_true(tsize <= zlen);
	head = z + zlen - tsize;
	assert_int_equal(le32(head), 0x184D2A5Eu);
	assert_int_equal(le32(head + 4), tsize - 8);
	assert_non_null(f = calloc(n + 1, sizeof(*f)));
	for (i = 0, ent = head + 8; i < n; i++, ent += 12) {
		f[i].coff = coff;
		f[i].doff = doff;
		f[i].csize = le32(ent);
		f[i].dsize = le32(ent + 4);
		f[i].checksum = le32(ent + 8);
		coff += f[i].csize;
		doff += f[i].dsize;
	}
	/* The frames fill the output up to the table. */
	assert_int_equal(coff, zlen - tsize);
	*nframes = n;
	return f;
}

/*
 * The output of a seekable vmcore: ceil(len / fs) frames of fs bytes
 * (the last one shorter), each a zstd frame of its own that decompresses
 * alone to its slice of orig and whose table checksum is XXH64's; and the
 * whole of it decompresses with plain zstd to orig.
 */
static void
assert_seekable(const struct mobj *mo, const unsigned char *orig, size_t len,
    size_t fs)
{
	struct sframe *f;
	unsigned char *d;
	size_t n, i, want, z;

	f = parse_seek_table(mo->buf, mo->len, &n);
	assert_int_equal(n, (len + fs - 1) / fs);
	assert_non_null(d = malloc(fs));
	for (i = 0; i < n; i++) {
		want = len - i * fs < fs ? len - i * fs : fs;
		assert_int_equal(f[i].doff, i * fs);
		assert_int_equal(f[i].dsize, want);
		z = ZSTD_findFrameCompressedSize(mo->buf + f[i].coff,
		    f[i].csize);
		assert_false(ZSTD_isError(z));
		assert_int_equal(z, f[i].csize);
		z = ZSTD_decompress(d, fs, mo->buf + f[i].coff, f[i].csize);
		assert_false(ZSTD_isError(z));
		assert_int_equal(z, want);
		assert_memory_equal(d, orig + i * fs, want);
		assert_int_equal(f[i].checksum,
		    (uint32_t)xxh64(orig + i * fs, want, 0));
	}
	free(d);
	free(f);
	assert_roundtrip(mo, orig, len);
}

/* ------------------------------------------------------------------ */
/* Tests */

static void
test_descriptor(void **state)
{
	const struct nds_option *opt = M.options;

	(void)state;
	assert_int_equal(M.abi_major, NDS_ABI_MAJOR);
	assert_int_equal(M.abi_minor, NDS_ABI_MINOR);
	assert_int_equal(M.struct_size, sizeof(struct nds_sink_module));
	assert_string_equal(M.name, "zstd");
	assert_int_equal(M.caps, NDS_CAP_TRANSFORM | NDS_CAP_ORDERED);
	assert_non_null(M.begin);
	/* Only the vmcore comes: the host routes the other kinds past. */
	assert_int_equal(M.kinds, NDS_KIND(NDS_OBJ_VMCORE));
	assert_true(M.config_size >= 3 * sizeof(int64_t));
	assert_string_equal(opt[0].name, "level");
	assert_int_equal(opt[0].type, NDS_OPT_INT);
	assert_string_equal(opt[0].default_value, "3");
	assert_int_equal(opt[0].min, 1);
	assert_int_equal(opt[0].max, 19);
	assert_string_equal(opt[1].name, "workers");
	assert_string_equal(opt[1].default_value, "0");
	assert_int_equal(opt[1].max, 64);
	assert_string_equal(opt[2].name, "frame_size");
	assert_int_equal(opt[2].type, NDS_OPT_SIZE);
	assert_null(opt[3].name);
}

static void
test_create_checks(void **state)
{
	struct env *e = *state;

	assert_int_equal(make(e, 3, 0, 1000), NDS_FATAL);
	assert_non_null(strstr(e->err, "frame_size"));
	assert_int_equal(make(e, 3, 0, (int64_t)2 * GiB), NDS_FATAL);
	assert_int_equal(make(e, 0, 0, 0), NDS_FATAL);
	assert_non_null(strstr(e->err, "level"));
	assert_int_equal(make(e, 20, 0, 0), NDS_FATAL);
	assert_int_equal(make(e, 3, 65, 0), NDS_FATAL);
	assert_non_null(strstr(e->err, "workers"));
	assert_null(e->inst);

	/* The smallest and largest frames are fine. */
	assert_int_equal(make(e, 3, 0, 64 * KiB), NDS_OK);
	M.destroy(e->inst);
	assert_int_equal(make(e, 3, 0, GiB), NDS_OK);
}

static void
roundtrip(struct env *e, int level, int workers, size_t len)
{
	unsigned char *img = make_image(len);
	struct mobj *mo;
	void *o;

	begin(e, level, workers, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	feed_image(e, o, img, len);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, len, NULL), NDS_OK);
	assert_string_equal(e->where, "mock/0");
	end(e);

	mo = mobj_of(e, NDS_OBJ_VMCORE);
	assert_true(mo->closed);
	assert_true(mo->contiguous);
	assert_int_equal(mo->size, mo->len);
	assert_string_equal(mo->suffix, ".zst");
	assert_true(mo->len < len / 2);
	/* One frame, with a checksum (bit 2 of its header descriptor). */
	assert_true(mo->len > 5);
	assert_int_equal(le32(mo->buf), ZSTD_MAGICNUMBER);
	assert_true(mo->buf[4] & 0x04);
	assert_int_equal(ZSTD_findFrameCompressedSize(mo->buf, mo->len),
	    mo->len);
	assert_roundtrip(mo, img, len);
	mock_host_assert_logged(NULL, "compressing at level");
	free(img);
}

static void
test_roundtrip_level1_one_worker(void **state)
{
	roundtrip(*state, 1, 1, 24 * MiB + 3 * PAGE + 100);
}

static void
test_roundtrip_level3_auto_workers(void **state)
{
	roundtrip(*state, 3, 0, 24 * MiB);
}

static void
test_close_extends_with_zeros(void **state)
{
	struct env *e = *state;
	unsigned char *img;
	void *o;

	assert_non_null(img = calloc(1, MiB));
	memset(img, 'x', 100 * KiB);
	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	assert_int_equal(M.write(o, 0, img, 100 * KiB, e->err), NDS_OK);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, MiB, ""), NDS_OK);
	end(e);
	assert_roundtrip(mobj_of(e, NDS_OBJ_VMCORE), img, MiB);
	free(img);
}

/* The op logs of the kernel-compressed vmcore and what reached the mock. */
static void
assert_ops(const struct mobj *mo, const struct oplog *want, size_t n)
{
	size_t i;

	assert_int_equal(mo->nlog, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(mo->log[i].op, want[i].op);
		assert_int_equal(mo->log[i].offset, want[i].offset);
		assert_int_equal(mo->log[i].len, want[i].len);
	}
}

static void
test_passthrough_gzip(void **state)
{
	struct env *e = *state;
	unsigned char *img;
	struct mobj *mo;
	const struct oplog want[] = {
		{ OP_OPEN, 0, 0 },
		{ OP_WRITE, 0, 300 * KiB },
		{ OP_HOLE, 300 * KiB, 64 * KiB },
		{ OP_WRITE, 364 * KiB, 100 * KiB },
		{ OP_CLOSE, 464 * KiB - 1000, 0 },
	};
	size_t i;
	void *o;

	assert_non_null(img = calloc(1, 464 * KiB));
	for (i = 0; i < 464 * KiB; i++)
		if (i < 300 * KiB || i >= 364 * KiB)
			img[i] = (unsigned char)xorshift();
	img[0] = 0x1f;
	img[1] = 0x8b;
	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	assert_int_equal(M.write(o, 0, img, 300 * KiB, e->err), NDS_OK);
	assert_int_equal(M.hole(o, 300 * KiB, 64 * KiB, e->err), NDS_OK);
	assert_int_equal(M.write(o, 364 * KiB, img + 364 * KiB, 100 * KiB,
	    e->err), NDS_OK);
	/* The core cuts the kernel's padding with the size. */
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, 464 * KiB - 1000,
	    NULL), NDS_OK);
	assert_string_equal(e->where, "mock/0");
	end(e);

	mo = mobj_of(e, NDS_OBJ_VMCORE);
	assert_ops(mo, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(mo->len, 464 * KiB);
	assert_memory_equal(mo->buf, img, 464 * KiB);
	assert_int_equal(mo->size, 464 * KiB - 1000);
	assert_string_equal(mo->suffix, "");
	mock_host_assert_logged(NULL, "gzip-compressed by the kernel");
	free(img);
}

static void
test_passthrough_zstd_split_magic(void **state)
{
	struct env *e = *state;
	unsigned char *img, *z;
	size_t zlen, cap;
	struct mobj *mo;
	void *o;

	/* A real zstd stream, its magic handed in 1 + 2 + the rest bytes. */
	img = make_image(2 * MiB);
	cap = ZSTD_compressBound(2 * MiB);
	assert_non_null(z = malloc(cap));
	zlen = ZSTD_compress(z, cap, img, 2 * MiB, 1);
	assert_false(ZSTD_isError(zlen));
	mock_kdh_init(&e->kdh, NDS_COMP_ZSTD);
	e->dump.kdh = &e->kdh;
	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	assert_int_equal(M.write(o, 0, z, 1, e->err), NDS_OK);
	assert_int_equal(M.write(o, 1, z + 1, 2, e->err), NDS_OK);
	assert_int_equal(M.write(o, 3, z + 3, zlen - 3, e->err), NDS_OK);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, zlen, ""), NDS_OK);
	end(e);

	mo = mobj_of(e, NDS_OBJ_VMCORE);
	assert_int_equal(mo->len, zlen);
	assert_memory_equal(mo->buf, z, zlen);
	assert_true(mo->contiguous);
	assert_int_equal(mo->size, zlen);
	assert_string_equal(mo->suffix, "");
	mock_host_assert_logged(NULL, "zstd-compressed by the kernel");
	assert_false(mock_host_logged("compressed twice"));
	free(z);
	free(img);
}

/* One vmcore made of ops, compressed (not passed through), round trip. */
static void
near_miss(void **state, const unsigned char *first, size_t nfirst,
    bool hole_first)
{
	struct env *e = *state;
	unsigned char img[16 * KiB];
	size_t off = 0;
	void *o;

	memset(img, 'a', sizeof(img));
	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	if (hole_first) {
		memset(img, 0, 4 * KiB);
		assert_int_equal(M.hole(o, 0, 4 * KiB, e->err), NDS_OK);
		off = 4 * KiB;
	}
	memcpy(img + off, first, nfirst);
	/* The first bytes one at a time: the module has to hold them. */
	for (; off < nfirst + (hole_first ? 4 * KiB : 0); off++)
		assert_int_equal(M.write(o, off, img + off, 1, e->err),
		    NDS_OK);
	assert_int_equal(M.write(o, off, img + off, sizeof(img) - off,
	    e->err), NDS_OK);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, sizeof(img), NULL),
	    NDS_OK);
	end(e);
	assert_string_equal(mobj_of(e, NDS_OBJ_VMCORE)->suffix, ".zst");
	assert_roundtrip(mobj_of(e, NDS_OBJ_VMCORE), img, sizeof(img));
}

static void
test_near_miss_gzip(void **state)
{
	static const unsigned char b[] = { 0x1f, 0x00 };

	near_miss(state, b, sizeof(b), false);
}

static void
test_near_miss_zstd(void **state)
{
	static const unsigned char b[] = { 0x28, 0xb5, 0x2f, 0x00 };

	near_miss(state, b, sizeof(b), false);
}

static void
test_magic_after_a_hole(void **state)
{
	static const unsigned char b[] = { 0x1f, 0x8b };

	/* Magic anywhere but at offset 0 means nothing. */
	near_miss(state, b, sizeof(b), true);
}

static void
test_tiny_and_empty_vmcores(void **state)
{
	struct env *e = *state;
	const unsigned char one = 0x1f;
	unsigned char out[16];
	struct mobj *mo;
	void *o;

	/* One byte that could have begun a gzip magic, then the end. */
	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	assert_int_equal(M.write(o, 0, &one, 1, e->err), NDS_OK);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, 1, NULL), NDS_OK);
	/* Nothing at all. */
	o = open_obj(e, NDS_OBJ_VMCORE);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, 0, NULL), NDS_OK);
	end(e);

	mo = &e->m.obj[0];
	assert_string_equal(mo->suffix, ".zst");
	assert_int_equal(ZSTD_decompress(out, sizeof(out), mo->buf, mo->len),
	    1);
	assert_int_equal(out[0], one);
	mo = &e->m.obj[1];
	assert_string_equal(mo->suffix, ".zst");
	assert_true(mo->len > 0);
	assert_int_equal(ZSTD_decompress(out, sizeof(out), mo->buf, mo->len),
	    0);
}

/*
 * The key, info, manifest, archive and message buffer pass through
 * unchanged: the host sees to that now, for every kind the module does
 * not declare, and never hands them to it.
 */
static void
test_other_kinds_pass_through(void **state)
{
	(void)state;
	assert_int_equal(M.kinds, NDS_KIND(NDS_OBJ_VMCORE));
	assert_int_equal(M.kinds & (NDS_KIND(NDS_OBJ_ARCHIVE) |
	    NDS_KIND(NDS_OBJ_KEY) | NDS_KIND(NDS_OBJ_INFO) |
	    NDS_KIND(NDS_OBJ_MANIFEST) | NDS_KIND(NDS_OBJ_MSGBUF)), 0);
}

static void
test_out_of_order(void **state)
{
	struct env *e = *state;
	unsigned char img[12 * KiB];
	void *o;

	memset(img, 'q', sizeof(img));
	memset(img + 4 * KiB, 0, 4 * KiB);
	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	assert_int_equal(M.write(o, 0, img, 4 * KiB, e->err), NDS_OK);
	assert_int_equal(M.write(o, 8192, img, 4 * KiB, e->err), NDS_FAILED);
	assert_string_equal(e->err,
	    "out-of-order data at offset 8192 (expected 4096)");
	assert_int_equal(M.hole(o, 0, 4 * KiB, e->err), NDS_FAILED);
	assert_string_equal(e->err,
	    "out-of-order data at offset 0 (expected 4096)");
	/* A refused op leaves the stream as it was. */
	assert_int_equal(M.hole(o, 4096, 4 * KiB, e->err), NDS_OK);
	assert_int_equal(M.write(o, 8192, img + 8192, 4 * KiB, e->err),
	    NDS_OK);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, sizeof(img), NULL),
	    NDS_OK);
	end(e);
	assert_roundtrip(mobj_of(e, NDS_OBJ_VMCORE), img, sizeof(img));
}

static void
test_next_open_fails(void **state)
{
	struct env *e = *state;
	void *o = &o;

	e->m.fail_op = OP_OPEN;
	e->m.fail_result = NDS_FAILED;
	begin(e, 3, 1, 0);
	assert_int_equal(M.open(e->ds, NDS_OBJ_VMCORE, &o, e->err),
	    NDS_FAILED);
	assert_null(o);
	assert_string_equal(e->err, "next stage: mock: injected failure");
	end(e);
}

static void
next_write_fails(void **state, enum nds_result how, int workers)
{
	struct env *e = *state;
	unsigned char *img = make_image(16 * MiB), *p;
	enum nds_result r = NDS_OK;
	struct mobj *mo;
	size_t off;
	void *o;

	/* The second compressed piece the module hands on fails. */
	e->m.fail_op = OP_WRITE;
	e->m.fail_after = 1;
	e->m.fail_result = how;
	begin(e, 1, workers, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	for (off = 0; off < 16 * MiB && r == NDS_OK; off += 64 * KiB) {
		/* Random bytes do not compress: output comes soon. */
		for (p = img + off; p < img + off + 64 * KiB; p++)
			*p = (unsigned char)xorshift();
		/* But a minidump: compressed all the same. */
		if (off == 0)
			memcpy(img, MINIDUMP_MAGIC, sizeof(MINIDUMP_MAGIC) - 1);
		r = M.write(o, off, img + off, 64 * KiB, e->err);
	}
	assert_int_equal(r, how);
	assert_string_equal(e->err, "next stage: mock: injected failure");
	assert_int_equal(M.write(o, off, img, 1, e->err), NDS_FAILED);
	assert_non_null(strstr(e->err, "stream broke"));
	/* Close still closes the next stage's object, and says it failed. */
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, off + 1, NULL),
	    NDS_FAILED);
	end(e);
	mo = mobj_of(e, NDS_OBJ_VMCORE);
	assert_true(mo->closed);
	assert_int_equal(mo->size, mo->len);
	assert_string_equal(mo->suffix, ".zst");
	free(img);
}

static void
test_next_write_fails(void **state)
{
	next_write_fails(state, NDS_FAILED, 1);
}

static void
test_next_write_fatal(void **state)
{
	next_write_fails(state, NDS_FATAL, 2);
}

static void
test_next_close_fails(void **state)
{
	struct env *e = *state;
	const char data[] = "some data";
	void *o;

	e->m.fail_op = OP_CLOSE;
	e->m.fail_result = NDS_FATAL;
	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	assert_int_equal(M.write(o, 0, data, sizeof(data), e->err), NDS_OK);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, sizeof(data), NULL),
	    NDS_FATAL);
	assert_string_equal(e->err, "next stage: mock: injected failure");
	end(e);
	assert_true(mobj_of(e, NDS_OBJ_VMCORE)->closed);
}

/*
 * A failure of the next stage with a kind passed through (the key) is the
 * host's to report now: the key never reaches the module.
 */
static void
test_next_fails_pass_through(void **state)
{
	(void)state;
	assert_int_equal(M.kinds & NDS_KIND(NDS_OBJ_KEY), 0);
}

static void
test_end_closes_open_objects(void **state)
{
	struct env *e = *state;
	unsigned char *img = make_image(3 * MiB);
	void *v;

	/* The key that was open beside it is the host's now (kinds). */
	assert_int_equal(M.kinds, NDS_KIND(NDS_OBJ_VMCORE));
	begin(e, 3, 2, 0);
	v = open_obj(e, NDS_OBJ_VMCORE);
	feed_image(e, v, img, 3 * MiB);
	/* The host gives up without closing: end must. */
	end(e);
	assert_true(mobj_of(e, NDS_OBJ_VMCORE)->closed);
	/* What came is a complete .zst. */
	assert_roundtrip(mobj_of(e, NDS_OBJ_VMCORE), img, 3 * MiB);
	mock_host_assert_logged(NULL, "vmcore was still open at the end");
	free(img);
}

static void
test_huge_hole(void **state)
{
	struct env *e = *state;
	static unsigned char out[MiB];
	struct timespec t0, t1;
	ZSTD_inBuffer in;
	ZSTD_outBuffer ob;
	ZSTD_DCtx *dctx;
	struct rusage ru;
	struct mobj *mo;
	uint64_t total = 0;
	double secs;
	size_t r = 1, i;
	void *o;

	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(M.hole(o, 0, GiB, e->err), NDS_OK);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, GiB, NULL), NDS_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	end(e);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	mo = mobj_of(e, NDS_OBJ_VMCORE);
	fprintf(stderr, "1 GiB hole: %zu bytes in %.2f s\n", mo->len, secs);
	assert_true(secs < 30.0);
	assert_true(mo->len < 256 * KiB);
	/* The process never held anything like 1 GiB. */
	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	assert_true(ru.ru_maxrss < 512 * 1024);	/* KiB */

	/* It decompresses to 1 GiB of zeros. */
	assert_non_null(dctx = ZSTD_createDCtx());
	in = (ZSTD_inBuffer){ mo->buf, mo->len, 0 };
	do {
		ob = (ZSTD_outBuffer){ out, sizeof(out), 0 };
		r = ZSTD_decompressStream(dctx, &ob, &in);
		assert_false(ZSTD_isError(r));
		for (i = 0; i < ob.pos; i++)
			if (out[i] != 0)
				fail_msg("non-zero byte at %" PRIu64,
				    total + i);
		total += ob.pos;
		/* A full buffer: the decoder may hold more. */
	} while (in.pos < in.size || (r != 0 && ob.pos == ob.size));
	assert_int_equal(r, 0);
	assert_int_equal(total, GiB);
	ZSTD_freeDCtx(dctx);
}

static void
seekable(void **state, int workers, size_t len, size_t fs)
{
	struct env *e = *state;
	unsigned char *img = make_image(len);
	struct mobj *mo;
	void *o;

	begin(e, 3, workers, (int64_t)fs);
	o = open_obj(e, NDS_OBJ_VMCORE);
	feed_image(e, o, img, len);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, len, NULL), NDS_OK);
	end(e);
	mo = mobj_of(e, NDS_OBJ_VMCORE);
	assert_true(mo->contiguous);
	assert_int_equal(mo->size, mo->len);
	assert_string_equal(mo->suffix, ".zst");
	assert_seekable(mo, img, len, fs);
	free(img);
}

static void
test_seekable(void **state)
{
	/* Frames of 1 MiB, the last one 12349 bytes (all XXH64 tails). */
	seekable(state, 1, 5 * MiB + 12349, MiB);
	mock_host_assert_logged(NULL, "seekable frames of 1048576 bytes");
}

static void
test_seekable_small_frames_workers(void **state)
{
	/* Frames that end inside the 256 KiB pieces, two workers. */
	seekable(state, 2, 3 * MiB + 5, 64 * KiB + 4096 + 17);
}

static void
test_seekable_exact_multiple(void **state)
{
	/* No empty frame after the last full one. */
	seekable(state, 1, 4 * MiB, MiB);
}

static void
test_seekable_empty(void **state)
{
	struct env *e = *state;
	struct sframe *f;
	struct mobj *mo;
	size_t n;
	void *o;

	begin(e, 3, 1, MiB);
	o = open_obj(e, NDS_OBJ_VMCORE);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, 0, NULL), NDS_OK);
	end(e);
	mo = mobj_of(e, NDS_OBJ_VMCORE);
	/* Only the seek table, of no frames; zstd reads it as empty. */
	assert_int_equal(mo->len, 17);
	f = parse_seek_table(mo->buf, mo->len, &n);
	assert_int_equal(n, 0);
	free(f);
	assert_int_equal(ZSTD_decompress(NULL, 0, mo->buf, mo->len), 0);
}

static void
test_seekable_hole_across_frames(void **state)
{
	struct env *e = *state;
	unsigned char *img;
	const size_t len = 10 * MiB;
	void *o;

	/* Data, a hole over several frame boundaries, data, a tail hole. */
	assert_non_null(img = calloc(1, len));
	memset(img, 'd', MiB + 100);
	memset(img + 6 * MiB + 7, 'e', MiB);
	begin(e, 3, 1, MiB);
	o = open_obj(e, NDS_OBJ_VMCORE);
	assert_int_equal(M.write(o, 0, img, MiB + 100, e->err), NDS_OK);
	assert_int_equal(M.hole(o, MiB + 100, 5 * MiB - 93, e->err), NDS_OK);
	assert_int_equal(M.write(o, 6 * MiB + 7, img + 6 * MiB + 7, MiB,
	    e->err), NDS_OK);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, len, NULL), NDS_OK);
	end(e);
	assert_seekable(mobj_of(e, NDS_OBJ_VMCORE), img, len, MiB);
	free(img);
}

static void
test_kdh_says_compressed_twice(void **state)
{
	struct env *e = *state;
	const char data[] = "encrypted-looking bytes";
	void *o;

	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	assert_int_equal(M.write(o, 0, data, sizeof(data), e->err), NDS_OK);
	/* The KDH comes last: known only when the vmcore is closed. */
	mock_kdh_init(&e->kdh, NDS_COMP_GZIP);
	e->dump.kdh = &e->kdh;
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, sizeof(data), NULL),
	    NDS_OK);
	end(e);
	assert_string_equal(mobj_of(e, NDS_OBJ_VMCORE)->suffix, ".zst");
	mock_host_assert_logged(NULL, "compressed twice");
	assert_roundtrip(mobj_of(e, NDS_OBJ_VMCORE), (const void *)data,
	    sizeof(data));
}

/* n random bytes: what ciphertext looks like. */
static unsigned char *
make_random(size_t n)
{
	unsigned char *b;
	size_t i;

	assert_non_null(b = malloc(n));
	for (i = 0; i < n; i++)
		b[i] = (unsigned char)xorshift();
	return b;
}

/* Hand buf[from, len) to the vmcore in pieces of at most piece bytes. */
static void
feed_pieces(struct env *e, void *o, const unsigned char *buf, size_t from,
    size_t len, size_t piece)
{
	size_t off, n;

	for (off = from; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		assert_int_equal(M.write(o, off, buf + off, n, e->err), NDS_OK);
	}
}

/* The vmcore reached the next stage unchanged, under the core's name. */
static void
assert_passed(struct env *e, const unsigned char *buf, size_t len)
{
	struct mobj *mo = mobj_of(e, NDS_OBJ_VMCORE);

	assert_true(mo->closed);
	assert_true(mo->contiguous);
	assert_int_equal(mo->len, len);
	assert_int_equal(mo->size, len);
	assert_memory_equal(mo->buf, buf, len);
	assert_string_equal(mo->suffix, "");
	assert_false(mock_host_logged("compressing at level"));
}

/*
 * Encrypted when the vmcore opens (the key came first): passed through
 * untouched, plaintext-looking or not, every write handed on as it came.
 */
static void
test_encrypted_at_open(void **state)
{
	struct env *e = *state;
	unsigned char *img = make_image(MiB);
	void *o;

	e->dump.encrypted = true;
	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	assert_int_equal(M.write(o, 0, img, 100, e->err), NDS_OK);
	assert_int_equal(mobj_of(e, NDS_OBJ_VMCORE)->nlog, 2);
	feed_pieces(e, o, img, 100, MiB, 1448);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, MiB, NULL), NDS_OK);
	end(e);
	assert_passed(e, img, MiB);
	mock_host_assert_logged(NULL, "vmcore: encrypted (a key came with the "
	    "dump): passing it through");
	free(img);
}

/*
 * No flag while the data arrives (FreeBSD 12.x sends the key after it):
 * random bytes with no known header are taken for ciphertext, judged on
 * the first SNIFF_MAX bytes, whether they come in small pieces or in one;
 * a kernel-compressed encrypted dump is no .zst.zst either.
 */
static void
random_passes(void **state, size_t piece, uint8_t comp)
{
	struct env *e = *state;
	unsigned char *img = make_random(2 * MiB + 17);
	void *o;

	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	feed_pieces(e, o, img, 0, 2 * MiB + 17, piece);
	/* The key and the KDH are known at the end. */
	e->dump.encrypted = true;
	mock_kdh_init(&e->kdh, comp);
	e->dump.kdh = &e->kdh;
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, 2 * MiB + 17, NULL),
	    NDS_OK);
	end(e);
	assert_passed(e, img, 2 * MiB + 17);
	mock_host_assert_logged(NULL, "vmcore: no known header, and the first "
	    "65536 bytes compress to");
	mock_host_assert_logged(NULL, "taken for an encrypted dump: passing "
	    "it through");
	assert_false(mock_host_logged("no key came"));
	assert_false(mock_host_logged("compressed twice"));
	free(img);
}

static void
test_random_passes_small_pieces(void **state)
{
	random_passes(state, 1448, NDS_COMP_NONE);
}

static void
test_random_passes_one_piece(void **state)
{
	random_passes(state, 4 * MiB, NDS_COMP_ZSTD);
}

static void
test_random_passes_encrypted_gzip(void **state)
{
	random_passes(state, 4096, NDS_COMP_GZIP);
}

/* Random bytes, then a hole: judged on what came, the hole passed on. */
static void
test_random_then_hole(void **state)
{
	struct env *e = *state;
	unsigned char *img, *r = make_random(8 * KiB);
	struct mobj *mo;
	void *o;

	assert_non_null(img = calloc(1, 64 * KiB));
	memcpy(img, r, 8 * KiB);
	free(r);
	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	feed_pieces(e, o, img, 0, 8 * KiB, 1000);
	assert_int_equal(M.hole(o, 8 * KiB, 56 * KiB, e->err), NDS_OK);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, 64 * KiB, NULL),
	    NDS_OK);
	end(e);
	mo = mobj_of(e, NDS_OBJ_VMCORE);
	assert_int_equal(mo->log[mo->nlog - 2].op, OP_HOLE);
	assert_int_equal(mo->log[mo->nlog - 2].offset, 8 * KiB);
	assert_passed(e, img, 64 * KiB);
	/* No key came: it is stored as it came, and the log says so. */
	mock_host_assert_logged(NULL, "passed through as incompressible, but "
	    "no key came");
	free(img);
}

/*
 * A known plaintext header wins over random bytes after it (a minidump, a
 * textdump's tar header at 257), and too few bytes are not judged: all
 * compressed.
 */
static void
compressed_anyway(void **state, size_t len, size_t at, const char *magic)
{
	struct env *e = *state;
	unsigned char *img = make_random(len);
	struct mobj *mo;
	void *o;

	if (magic != NULL)
		memcpy(img + at, magic, strlen(magic));
	begin(e, 3, 1, 0);
	o = open_obj(e, NDS_OBJ_VMCORE);
	feed_pieces(e, o, img, 0, len, 100);
	assert_int_equal(close_obj(e, o, NDS_OBJ_VMCORE, len, NULL), NDS_OK);
	end(e);
	mo = mobj_of(e, NDS_OBJ_VMCORE);
	assert_string_equal(mo->suffix, ".zst");
	assert_roundtrip(mo, img, len);
	mock_host_assert_logged(NULL, "compressing at level");
	assert_false(mock_host_logged("passing it through"));
	free(img);
}

static void
test_minidump_header_compressed(void **state)
{
	compressed_anyway(state, 256 * KiB, 0, MINIDUMP_MAGIC);
	mock_host_assert_logged(NULL, "vmcore: starts with a minidump header");
}

static void
test_textdump_header_compressed(void **state)
{
	compressed_anyway(state, 256 * KiB, 257, "ustar");
	mock_host_assert_logged(NULL, "vmcore: starts with a tar header");
}

static void
test_elf_header_compressed(void **state)
{
	compressed_anyway(state, 256 * KiB, 0, "\177ELF");
}

static void
test_too_few_to_judge(void **state)
{
	compressed_anyway(state, JUDGE_MIN_T - 1, 0, NULL);
	mock_host_assert_logged(NULL, "too few to judge");
}

static void
test_xxh64_reference(void **state)
{
	unsigned char data[200], z[512];
	ZSTD_CCtx *c;
	size_t i, n;

	(void)state;
	/* The published value for no input. */
	assert_int_equal(xxh64("", 0, 0), 0xEF46DB3751D8E999ull);
	/* zstd's frame checksum is XXH64's lower half: every tail length. */
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)xorshift();
	assert_non_null(c = ZSTD_createCCtx());
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c,
	    ZSTD_c_checksumFlag, 1)));
	for (i = 0; i <= sizeof(data); i++) {
		n = ZSTD_compress2(c, z, sizeof(z), data, i);
		assert_false(ZSTD_isError(n));
		assert_int_equal(le32(z + n - 4), (uint32_t)xxh64(data, i, 0));
	}
	ZSTD_freeCCtx(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* First, while the process is small: it stays small. */
		cmocka_unit_test_setup_teardown(test_huge_hole, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_descriptor, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_create_checks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_roundtrip_level1_one_worker, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_roundtrip_level3_auto_workers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_extends_with_zeros,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_passthrough_gzip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_passthrough_zstd_split_magic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_near_miss_gzip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_near_miss_zstd, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_magic_after_a_hole, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tiny_and_empty_vmcores,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_kinds_pass_through,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_next_open_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_next_write_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_next_write_fatal, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_next_close_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_next_fails_pass_through,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_closes_open_objects,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_seekable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_seekable_small_frames_workers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seekable_exact_multiple,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_seekable_empty, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_seekable_hole_across_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kdh_says_compressed_twice,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_encrypted_at_open, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_random_passes_small_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_passes_one_piece,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_random_passes_encrypted_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_then_hole, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_minidump_header_compressed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_textdump_header_compressed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_header_compressed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_few_to_judge, setup,
		    teardown),
		cmocka_unit_test(test_xxh64_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
