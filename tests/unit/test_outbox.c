/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the durable outbox (core/outbox.c, nds_host.outbox_*):
 * its root made and given to the folder's owner above it, never through a
 * path that owner can swap; records written for good and replaced whole, entries a previous run
 * left, backoff on NDS_FAILED, removal on NDS_OK, NDS_FATAL and records
 * the host cannot read left alone, busy and orphan folders, and the
 * thread: started, kicked, stopped while a resume waits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "outbox.h"
#include "record.h"

/* A record of one field, as the fake module puts them. */
#define FIELD(v)	(&(const struct nds_field){ .name = "r", .value = (v) })

/* What the fake module's resume saw, and what it answers. */
struct fake {
	struct nd_outbox	*ob;
	atomic_int		 calls;
	char			 entry[NAME_MAX + 1];
	char			 record[256];
	bool			 had_record;	/* "pending" is in entry_dirfd */
	enum nds_result		 answer;
	const char		*progress;	/* put this record first */
	bool			 wait_stop;	/* until the outbox stops */
};

static struct fake g_fake;

static enum nds_result
fake_resume(void *instance, const char *entry, int dirfd,
    const struct nds_field *fields, size_t nfields, char err[NDS_ERRBUF_SIZE])
{
	struct fake *f = instance;
	struct stat sb;
	char perr[NDS_ERRBUF_SIZE];

	snprintf(f->entry, sizeof(f->entry), "%s", entry);
	/* The record as put: its one field, parsed back. */
	assert_int_equal(nfields, 1);
	assert_string_equal(fields[0].name, "r");
	snprintf(f->record, sizeof(f->record), "%s", fields[0].value);
	f->had_record = fstatat(dirfd, "pending", &sb, 0) == 0;
	if (f->progress != NULL)
		assert_int_equal(nd_outbox_put(f->ob, entry,
		    FIELD(f->progress), 1, perr, sizeof(perr)), 0);
	while (f->wait_stop && !nd_outbox_stopping(f->ob))
		usleep(1000);
	atomic_fetch_add(&f->calls, 1);
	snprintf(err, NDS_ERRBUF_SIZE, "fake says %d", (int)f->answer);
	return f->answer;
}

struct tdir {
	char	 root[64];
};

static int
setup(void **state)
{
	struct tdir *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->root, sizeof(t->root), "/tmp/test_outbox.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	memset(&g_fake, 0, sizeof(g_fake));
	g_fake.answer = NDS_OK;
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tdir *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static void
write_file(const char *root, const char *entry, const char *name,
    const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s/%s", root, entry, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* The file's text, or "" when it is not there. */
static const char *
read_file(const char *root, const char *entry, const char *name)
{
	static char buf[256];
	char path[PATH_MAX];
	size_t n = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s/%s", root, entry, name);
	buf[0] = '\0';
	if ((fp = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

static bool
exists(const char *root, const char *entry, const char *name)
{
	char path[PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s%s%s", root, entry,
	    name != NULL ? "/" : "", name != NULL ? name : "");
	return stat(path, &sb) == 0;
}

static void
mkentry(const char *root, const char *entry)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, entry);
	assert_int_equal(mkdir(path, 0700), 0);
}

/* A folder left by a crash: a module's file in it, no record, no lock. */
static void
mkorphan(const char *root, const char *entry)
{
	mkentry(root, entry);
	write_file(root, entry, "1-vmcore", "spooled");
}

static struct nd_outbox *
open_ob(const char *root, uint64_t retry_ms, uint64_t max_ms)
{
	struct nd_outbox *ob;
	char err[NDS_ERRBUF_SIZE];

	ob = nd_outbox_open(root, retry_ms, max_ms, "sink test (fake)", err,
	    sizeof(err));
	assert_non_null(ob);
	nd_outbox_bind(ob, fake_resume, &g_fake);
	g_fake.ob = ob;
	return ob;
}

static void
put(struct nd_outbox *ob, const char *entry, const char *value)
{
	char err[NDS_ERRBUF_SIZE];

	assert_int_equal(nd_outbox_put(ob, entry, FIELD(value), 1, err,
	    sizeof(err)), 0);
}

/* What the file "pending" holds after put(value): the host's format. */
static const char *
rec_text(const char *value)
{
	static char buf[256];
	char err[128], *text;
	size_t len;

	assert_non_null(text = nd_record_format(FIELD(value), 1, &len, err,
	    sizeof(err)));
	assert_true(len < sizeof(buf));
	memcpy(buf, text, len + 1);
	free(text);
	return buf;
}

/* ------------------------------------------------------------- tests */

static void
test_open_refuses(void **state)
{
	struct tdir *t = *state;
	char err[NDS_ERRBUF_SIZE], path[PATH_MAX];

	assert_null(nd_outbox_open("relative/dir", 1, 2, "p", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "not an absolute path"));
	/* Beneath a file: no folder can be made there. */
	write_file(t->root, ".", "file", "x");
	snprintf(path, sizeof(path), "%s/file/sub", t->root);
	assert_null(nd_outbox_open(path, 1, 2, "p", err, sizeof(err)));
	assert_non_null(strstr(err, "file/sub: Not a directory"));
}

/* A root that is not there is made, with what leads to it, owner-only. */
static void
test_open_makes_root(void **state)
{
	struct tdir *t = *state;
	char path[128];
	struct nd_outbox *ob;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/a//b/c/", t->root);
	ob = open_ob(path, 1, 2);
	snprintf(path, sizeof(path), "%s/a/b/c", t->root);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/a", t->root);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	/* And it is the outbox: an entry put there is in it. */
	snprintf(path, sizeof(path), "%s/a/b/c", t->root);
	mkentry(path, "e1");
	put(ob, "e1", "v");
	assert_string_equal(read_file(path, "e1", "pending"), rec_text("v"));
	nd_outbox_free(ob);
}

/* The owner of the root's parent, swapping what was made for a link. */
struct swapper {
	char		 made[PATH_MAX], link[PATH_MAX];
	atomic_bool	 ready, done;
};

static void *
swap_made(void *arg)
{
	struct swapper *w = arg;

	/* One atomic exchange, tried until the folder is there. */
	atomic_store(&w->ready, true);
	while (!atomic_load(&w->done) && renameat2(AT_FDCWD, w->made,
	    AT_FDCWD, w->link, RENAME_EXCHANGE) == -1)
		;
	return NULL;
}

/*
 * Made as root, the root gets the owner of the folder above it. That
 * owner can swap the folder just made for a link to a file of root's: a
 * chown by path then gave it the file (an owned /etc/shadow is root). 200
 * races, each on a fresh folder: the file stays root's.
 */
static void
test_open_made_owner(void **state)
{
	struct tdir *t = *state;
	char parent[128], victim[160], err[NDS_ERRBUF_SIZE];
	struct swapper w;
	struct nd_outbox *ob;
	struct stat sb;
	pthread_t th;
	int i;

	if (geteuid() != 0)
		skip();
	snprintf(parent, sizeof(parent), "%s/dumps", t->root);
	assert_int_equal(mkdir(parent, 0700), 0);
	assert_int_equal(chown(parent, 65534, 65534), 0);
	snprintf(victim, sizeof(victim), "%s/secret", t->root);
	write_file(t->root, ".", "secret", "root's");
	snprintf(w.made, sizeof(w.made), "%s/spool", parent);
	snprintf(w.link, sizeof(w.link), "%s/link", parent);
	/* Unraced, the folder made is the parent's owner's. */
	ob = open_ob(w.made, 1, 2);
	assert_int_equal(stat(w.made, &sb), 0);
	assert_int_equal(sb.st_uid, 65534);
	nd_outbox_free(ob);
	assert_int_equal(rmdir(w.made), 0);
	for (i = 0; i < 200; i++) {
		assert_int_equal(symlink(victim, w.link), 0);
		atomic_store(&w.done, false);
		atomic_store(&w.ready, false);
		assert_int_equal(pthread_create(&th, NULL, swap_made, &w), 0);
		while (!atomic_load(&w.ready))
			;
		if ((ob = nd_outbox_open(w.made, 1, 2, "p", err,
		    sizeof(err))) != NULL)
			nd_outbox_free(ob);
		atomic_store(&w.done, true);
		pthread_join(th, NULL);
		assert_int_equal(lstat(victim, &sb), 0);
		assert_int_equal(sb.st_uid, 0);
		/* One is the folder made, the other the link, either way. */
		if (unlink(w.made) == -1)
			assert_int_equal(rmdir(w.made), 0);
		if (unlink(w.link) == -1)
			assert_int_equal(rmdir(w.link), 0);
	}
}

static void
test_put_replace(void **state)
{
	struct tdir *t = *state;
	struct nd_outbox *ob = open_ob(t->root, 1000, 2000);
	char err[NDS_ERRBUF_SIZE];

	mkentry(t->root, "d1");
	put(ob, "d1", "first\n");
	assert_string_equal(read_file(t->root, "d1", "pending"),
	    rec_text("first\n"));
	assert_int_equal(nd_outbox_due_in(ob, "d1"), 0);
	put(ob, "d1", "second, longer\n");
	assert_string_equal(read_file(t->root, "d1", "pending"),
	    rec_text("second, longer\n"));
	assert_false(exists(t->root, "d1", "pending.tmp"));
	/* Bad names, a missing folder: refused, nothing written. */
	assert_int_equal(nd_outbox_put(ob, "../d1", FIELD("x"), 1, err,
	    sizeof(err)), -1);
	assert_int_equal(nd_outbox_put(ob, ".hidden", FIELD("x"), 1, err,
	    sizeof(err)), -1);
	assert_int_equal(nd_outbox_put(ob, "nothere", FIELD("x"), 1, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "nothere"));
	assert_int_equal(nd_outbox_due_in(ob, "nothere"), -1);
	assert_string_equal(read_file(t->root, "d1", "pending"),
	    rec_text("second, longer\n"));
	nd_outbox_free(ob);
}

/*
 * A crash while a record was being replaced leaves a torn temporary file:
 * the next run still reads the old record whole, and replaces the torn
 * file cleanly; so is a FIFO at its name.
 */
static void
test_torn_temp(void **state)
{
	struct tdir *t = *state;
	struct nd_outbox *ob = open_ob(t->root, 1000, 2000);
	char fifo[PATH_MAX];

	mkentry(t->root, "d1");
	put(ob, "d1", "good record\n");
	write_file(t->root, "d1", "pending.tmp", "go");
	nd_outbox_free(ob);

	ob = open_ob(t->root, 1000, 2000);
	g_fake.answer = NDS_FAILED;
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 1);
	assert_string_equal(g_fake.record, "good record\n");
	put(ob, "d1", "newer\n");
	assert_string_equal(read_file(t->root, "d1", "pending"),
	    rec_text("newer\n"));
	assert_false(exists(t->root, "d1", "pending.tmp"));

	/* A FIFO in its place would hang the writer: it goes too. */
	snprintf(fifo, sizeof(fifo), "%s/d1/pending.tmp", t->root);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	put(ob, "d1", "newest\n");
	assert_string_equal(read_file(t->root, "d1", "pending"),
	    rec_text("newest\n"));
	assert_false(exists(t->root, "d1", "pending.tmp"));
	nd_outbox_free(ob);
}

/* Records present at open are resumed; OK removes what the host owns. */
static void
test_previous_run(void **state)
{
	struct tdir *t = *state;
	struct nd_outbox *ob;

	mkentry(t->root, "a");
	write_file(t->root, "a", "pending", rec_text("rec a"));
	mkentry(t->root, "b");
	write_file(t->root, "b", "pending", rec_text("rec b"));
	write_file(t->root, "b", "data", "module's file");
	mkentry(t->root, ".making");
	write_file(t->root, ".making", "pending", rec_text("not an entry"));

	ob = open_ob(t->root, 1000, 2000);
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 2);
	assert_true(g_fake.had_record);
	/* a: empty, gone. b: the module's file stays, with its folder. */
	assert_false(exists(t->root, "a", NULL));
	assert_true(exists(t->root, "b", NULL));
	assert_false(exists(t->root, "b", "pending"));
	assert_false(exists(t->root, "b", "lock"));
	assert_string_equal(read_file(t->root, "b", "data"), "module's file");
	assert_true(exists(t->root, ".making", "pending"));
	assert_int_equal(nd_outbox_due_in(ob, "a"), -1);
	assert_int_equal(nd_outbox_due_in(ob, "b"), -1);
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 2);
	nd_outbox_free(ob);
}

static void
assert_due_between(struct nd_outbox *ob, const char *entry, int64_t lo,
    int64_t hi)
{
	int64_t ms = nd_outbox_due_in(ob, entry);

	if (ms < lo || ms > hi)
		fail_msg("%s due in %lld ms, expected %lld..%lld", entry,
		    (long long)ms, (long long)lo, (long long)hi);
}

/* FAILED: again after retry_ms, doubling up to retry_max_ms, +-25 %. */
static void
test_backoff(void **state)
{
	struct tdir *t = *state;
	struct nd_outbox *ob = open_ob(t->root, 40, 80);

	mkentry(t->root, "d");
	put(ob, "d", "rec");
	g_fake.answer = NDS_FAILED;
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 1);
	assert_due_between(ob, "d", 10, 50);
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 1);	/* not due yet */
	usleep(60 * 1000);
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 2);
	assert_due_between(ob, "d", 40, 100);
	usleep(110 * 1000);
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 3);
	assert_due_between(ob, "d", 40, 100);	/* capped */
	assert_string_equal(read_file(t->root, "d", "pending"),
	    rec_text("rec"));

	/* Progress from resume is kept, and does not reset the backoff. */
	usleep(110 * 1000);
	g_fake.progress = "rec, half done";
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 4);
	assert_string_equal(read_file(t->root, "d", "pending"),
	    rec_text("rec, half done"));
	assert_due_between(ob, "d", 40, 100);

	/* A new record from outside is new work: due at once. */
	g_fake.progress = NULL;
	put(ob, "d", "rec 2");
	assert_int_equal(nd_outbox_due_in(ob, "d"), 0);
	g_fake.answer = NDS_OK;
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 5);
	assert_string_equal(g_fake.record, "rec 2");
	assert_false(exists(t->root, "d", NULL));
	nd_outbox_free(ob);
}

/* FATAL: left alone, on disk, until a new record comes. */
static void
test_fatal(void **state)
{
	struct tdir *t = *state;
	struct nd_outbox *ob = open_ob(t->root, 10, 20);

	mkentry(t->root, "d");
	write_file(t->root, "d", "data", "keep");
	put(ob, "d", "rec");
	g_fake.answer = NDS_FATAL;
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 1);
	assert_int_equal(nd_outbox_due_in(ob, "d"), INT64_MAX);
	usleep(30 * 1000);
	nd_outbox_kick(ob);
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 1);
	assert_string_equal(read_file(t->root, "d", "pending"),
	    rec_text("rec"));
	assert_string_equal(read_file(t->root, "d", "data"), "keep");

	put(ob, "d", "rec 2");
	g_fake.answer = NDS_OK;
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 2);
	assert_false(exists(t->root, "d", "pending"));
	assert_string_equal(read_file(t->root, "d", "data"), "keep");
	nd_outbox_free(ob);
}

/*
 * A record the host cannot read (another format: the s3 sink's own of
 * before) never reaches the module: left alone, on disk, until a new
 * record comes. A bad field is refused when it is put.
 */
static void
test_unreadable(void **state)
{
	struct tdir *t = *state;
	struct nd_outbox *ob = open_ob(t->root, 10, 20);
	const struct nds_field bad = { .name = "a b", .value = "v" };
	const char *old = "version = 1\nendpoint = e\n[object]\n";
	char err[NDS_ERRBUF_SIZE];

	mkentry(t->root, "d");
	write_file(t->root, "d", "pending", old);
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 0);
	assert_int_equal(nd_outbox_due_in(ob, "d"), INT64_MAX);
	assert_string_equal(read_file(t->root, "d", "pending"), old);

	assert_int_equal(nd_outbox_put(ob, "d", &bad, 1, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "cannot be a name"));
	assert_string_equal(read_file(t->root, "d", "pending"), old);

	put(ob, "d", "rec 2");
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 1);
	assert_string_equal(g_fake.record, "rec 2");
	assert_false(exists(t->root, "d", NULL));
	nd_outbox_free(ob);
}

/*
 * Many folders without a record (whoever can write to the root can make
 * them): each is found by name and left alone, 16 are said one by one
 * and the rest in one line, and an entry with a record among them is
 * resumed in the same look.
 */
static void
test_many_orphans(void **state)
{
	struct tdir *t = *state;
	struct nd_outbox *ob = open_ob(t->root, 10, 20);
	char name[32], path[] = "/tmp/test_outbox_log.XXXXXX", *text;
	int i, fd, saved, said = 0, more = 0;
	const char *p;
	off_t size;

	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "orphan%d", i);
		mkorphan(t->root, name);
	}
	mkentry(t->root, "real");
	put(ob, "real", "rec");
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	saved = dup(2);
	assert_int_equal(dup2(fd, 2), 2);
	nd_outbox_visit(ob);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(g_fake.calls, 1);
	assert_string_equal(g_fake.entry, "real");
	assert_due_between(ob, "orphan0", 50000, 60000);
	assert_due_between(ob, "orphan2999", 50000, 60000);
	size = lseek(fd, 0, SEEK_END);
	assert_non_null(text = calloc(1, (size_t)size + 1));
	assert_int_equal(pread(fd, text, (size_t)size, 0), size);
	close(fd);
	for (p = text; (p = strstr(p, "has no pending record")) != NULL; p++)
		said++;
	for (p = text; (p = strstr(p, "more folders in")) != NULL; p++)
		more++;
	assert_int_equal(said, 16);
	assert_int_equal(more, 1);
	free(text);
	nd_outbox_free(ob);
}

/*
 * Folders come and go in any order (a dump's folder is removed once it
 * is stored, others by hand): each that went is forgotten at the next
 * look, those left are still known, and the entries stay one list
 * however they were taken out of it (first, last, between).
 */
static void
test_vanishing(void **state)
{
	struct tdir *t = *state;
	struct nd_outbox *ob = open_ob(t->root, 10, 20);
	char name[32], path[PATH_MAX];
	int i, n = 2000;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "v%d", i);
		mkorphan(t->root, name);
	}
	nd_outbox_visit(ob);			/* all orphans */
	for (i = 0; i < n; i++)
		if (i % 3 != 1) {
			/* The visit may have left its lock file there. */
			snprintf(path, sizeof(path), "%s/v%d/lock", t->root,
			    i);
			(void)unlink(path);
			snprintf(path, sizeof(path), "%s/v%d/1-vmcore",
			    t->root, i);
			assert_int_equal(unlink(path), 0);
			snprintf(path, sizeof(path), "%s/v%d", t->root, i);
			assert_int_equal(rmdir(path), 0);
		}
	nd_outbox_kick(ob);
	nd_outbox_visit(ob);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "v%d", i);
		if (i % 3 != 1)
			assert_int_equal(nd_outbox_due_in(ob, name), -1);
		else
			assert_true(nd_outbox_due_in(ob, name) >= 0);
	}
	/* What is left is still a list: a record among it is resumed. */
	mkentry(t->root, "real");
	put(ob, "real", "rec");
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 1);
	assert_string_equal(g_fake.entry, "real");
	nd_outbox_free(ob);
}

/* Someone holds the lock: busy, not resumed. No record: an orphan. */
static void
test_busy_orphan_done(void **state)
{
	struct tdir *t = *state;
	struct nd_outbox *ob = open_ob(t->root, 10, 20);
	char path[PATH_MAX], err[NDS_ERRBUF_SIZE];
	int fd;

	mkentry(t->root, "busy");
	snprintf(path, sizeof(path), "%s/busy/lock", t->root);
	assert_true((fd = open(path, O_RDWR | O_CREAT, 0600)) != -1);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	put(ob, "busy", "rec");
	mkorphan(t->root, "orphan");
	/*
	 * A folder with no lock and no record (made by hand, or one whose
	 * removal the visit came in the middle of): an orphan, and the lock
	 * the visit made goes again, which would keep the folder for good.
	 */
	mkentry(t->root, "bare");
	nd_outbox_kick(ob);
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 0);
	assert_due_between(ob, "busy", 100, 500);
	assert_due_between(ob, "orphan", 50000, 60000);
	assert_due_between(ob, "bare", 50000, 60000);
	assert_true(exists(t->root, "orphan", "1-vmcore"));
	assert_false(exists(t->root, "orphan", "lock"));
	assert_true(exists(t->root, "bare", NULL));
	assert_false(exists(t->root, "bare", "lock"));
	close(fd);

	/* A record of length 0: done, the host tidies up. */
	assert_int_equal(nd_outbox_put(ob, "busy", NULL, 0, err, sizeof(err)),
	    0);
	assert_false(exists(t->root, "busy", NULL));
	nd_outbox_visit(ob);
	assert_int_equal(g_fake.calls, 0);
	nd_outbox_free(ob);
}

static bool
wait_for(atomic_int *v, int want)
{
	int i;

	for (i = 0; i < 5000 && atomic_load(v) < want; i++)
		usleep(1000);
	return atomic_load(v) >= want;
}

/* The thread: it takes up a put at once, and stops while resume waits. */
static void
test_thread(void **state)
{
	struct tdir *t = *state;
	struct nd_outbox *ob = open_ob(t->root, 60000, 60000);
	struct timespec a, b;

	mkentry(t->root, "old");
	write_file(t->root, "old", "pending", rec_text("from before"));
	assert_int_equal(nd_outbox_start(ob), 0);
	assert_true(wait_for(&g_fake.calls, 1));
	mkentry(t->root, "new");
	put(ob, "new", "fresh");
	assert_true(wait_for(&g_fake.calls, 2));
	assert_string_equal(g_fake.entry, "new");

	/* Kicked: every entry is due, even one that failed a minute ago. */
	g_fake.answer = NDS_FAILED;
	mkentry(t->root, "slow");
	put(ob, "slow", "rec");
	assert_true(wait_for(&g_fake.calls, 3));
	g_fake.answer = NDS_OK;
	nd_outbox_kick(ob);
	assert_true(wait_for(&g_fake.calls, 4));

	/* A resume that notices the stop says "not now". */
	g_fake.wait_stop = true;
	g_fake.answer = NDS_FAILED;
	mkentry(t->root, "stuck");
	put(ob, "stuck", "rec");
	usleep(20 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &a);
	nd_outbox_free(ob);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 3);
	assert_true(exists(t->root, "stuck", "pending"));
	assert_false(exists(t->root, "old", NULL));
	assert_false(exists(t->root, "slow", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_makes_root, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_made_owner, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_put_replace, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_torn_temp, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_previous_run, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_backoff, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fatal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_busy_orphan_done, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_vanishing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_many_orphans, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_thread, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
