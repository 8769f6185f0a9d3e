/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The durable outbox (see outbox.h and nds_host.outbox_open). One per sink
 * instance that opened one, each with its own thread: a store that hangs
 * one sink's resume then never holds up another sink's entries.
 *
 * The thread knows the folders of root as entries: it learns them by
 * reading root (at start, every RESCAN_MS and when kicked) and from
 * outbox_put, which makes an entry due at once. A visit takes the entry's
 * "lock" (flock; whoever fills the entry holds it), reads its record and
 * hands it to the module. Only the thread frees entries; everyone else
 * only adds them or changes their schedule, under the lock.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "outbox.h"
#include "record.h"
#include "util.h"

#define RECORD		"pending"
#define RECORD_TMP	"pending.tmp"
#define LOCKFILE	"lock"
#define RECORD_MAX	(1u << 20)
#define RESCAN_MS	60000u
/*
 * A locked entry: a dump that has written its record and is about to let
 * go (modules write it last), or another server uploading it.
 */
#define BUSY_MS		500u

struct ob_entry {
	struct ob_entry	*next, **pprev;		/* in entries */
	struct ob_entry	*hnext, **hpprev;	/* in its bucket */
	char		 name[NAME_MAX + 1];
	struct timespec	 due;
	unsigned	 tries;		/* failed resumes in a row */
	bool		 ignore;	/* given up on, until a new record */
	bool		 said;		/* a failure or an orphan was logged */
	bool		 active;	/* the thread is at it */
	bool		 done;		/* a record of length 0 came */
	/*
	 * Made due by a kick (kick_due: and not visited since). A kick
	 * makes an entry due once per wait of its own: kicked is cleared by
	 * a visit its backoff brought, or by new work.
	 */
	bool		 kicked, kick_due;
};

/*
 * Entries are found by name through buckets: each look at the root asks
 * for every folder there, under the lock dumps need to put their records,
 * and whoever can write to the root can make many.
 */
#define OB_BUCKETS	1024
/* Folders without a record said one by one; the rest only counted. */
#define OB_ORPHANS_SAID	16

struct nd_outbox {
	char		*root;
	int		 rootfd;
	size_t		 made_from;	/* root[made_from] on: made here */
	char		 prefix[160];
	uint64_t	 retry_ms, retry_max_ms;
	nd_resume_fn	 resume;
	void		*instance;

	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;		/* CLOCK_MONOTONIC */
	pthread_t	 thread;
	bool		 running;
	atomic_bool	 stop;
	/* Under lock. */
	struct ob_entry	*entries;
	struct ob_entry	*bucket[OB_BUCKETS];
	bool		 rescan;	/* read root at the next round */
	bool		 all_now;	/* every entry is due */
	/* The thread's own. */
	struct timespec	 next_scan;
	unsigned	 orphans_said;
	bool		 scan_said;	/* root could not be read: said */
};

enum ob_visit {
	OB_DONE,	/* resumed to the end, or gone: forget it */
	OB_FAILED,	/* not now: backoff */
	OB_FATAL,	/* the module gave up on it */
	OB_BUSY,	/* someone holds its lock */
	OB_ORPHAN,	/* a folder without a record */
	OB_UNREADABLE,	/* folder, lock or record cannot be read */
};

static void
mono_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static void
ts_add_ms(struct timespec *ts, uint64_t ms)
{
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static bool
entry_name_ok(const char *name)
{
	return name[0] != '\0' && name[0] != '.' && strchr(name, '/') ==
	    NULL && strlen(name) <= NAME_MAX;
}

/* FNV-1a of the name, as a bucket. */
static size_t
bucket_of(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % OB_BUCKETS;
}

/* Under lock. */
static struct ob_entry *
entry_find(struct nd_outbox *ob, const char *name)
{
	struct ob_entry *e;

	for (e = ob->bucket[bucket_of(name)]; e != NULL; e = e->hnext)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* Under lock; NULL when out of memory. A new entry is due now. */
static struct ob_entry *
entry_add(struct nd_outbox *ob, const char *name)
{
	struct ob_entry *e, **head;

	if ((e = entry_find(ob, name)) != NULL)
		return e;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	/* entry_name_ok checked the length. */
	memcpy(e->name, name, strlen(name) + 1);
	mono_now(&e->due);
	/* Each points back at what points at it: a drop costs O(1). */
	if ((e->next = ob->entries) != NULL)
		ob->entries->pprev = &e->next;
	ob->entries = e;
	e->pprev = &ob->entries;
	head = &ob->bucket[bucket_of(name)];
	if ((e->hnext = *head) != NULL)
		(*head)->hpprev = &e->hnext;
	*head = e;
	e->hpprev = head;
	return e;
}

/*
 * --check-config: a configuration is read and its modules created, and
 * nothing may stay behind: the folders an outbox made go when it does.
 */
static bool check_only;

void
nd_outbox_check_only(void)
{
	check_only = true;
}

/*
 * The folders of root that make_root made (from root[made_from] on),
 * deepest first, while they are empty.
 */
static void
unmake_root(const char *root, size_t made_from)
{
	char path[PATH_MAX];
	size_t n;

	if (made_from == SIZE_MAX ||
	    snprintf(path, sizeof(path), "%s", root) >= (int)sizeof(path))
		return;
	for (n = strlen(path);;) {
		while (n > 0 && path[n - 1] == '/')	/* "a//b/" */
			path[--n] = '\0';
		/* Not there (the one that failed to be made): its parent. */
		if (n <= made_from || (rmdir(path) == -1 && errno != ENOENT &&
		    errno != ENAMETOOLONG))
			return;
		while (n > 0 && path[n - 1] != '/')
			path[--n] = '\0';
	}
}

/*
 * mkdir -p root, mode 0700 for what it makes, one component at a time
 * from "/"; the root opened, or -1 and errno. A folder it makes gets the
 * owner of the one above it (sinks are created as root, the daemon drops
 * to its own user later, and the dump directory, the root's usual parent,
 * is that user's), through a descriptor of what it made, never its path:
 * the owner of the folder above could swap the new folder for a link to
 * a file of root's, and be given that file. Folders that were there are
 * followed (an operator's link); one just made is not. Its name is made
 * to last (a root that vanished in a crash would take its entries along).
 * The owner and the sync are best effort: a root the user cannot write
 * is said when the module starts, a failed sync shows in the records'.
 */
static int
make_root(const char *root, size_t *made_from)
{
	char path[PATH_MAX], *comp, *next;
	struct stat sb;
	int fd, sub, saved;
	bool made;

	if (snprintf(path, sizeof(path), "%s", root) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	for (comp = path; *comp != '\0'; comp = next) {
		if ((next = strchr(comp, '/')) != NULL)
			*next++ = '\0';
		else
			next = comp + strlen(comp);
		if (*comp == '\0')
			continue;		/* "//" */
		made = mkdirat(fd, comp, 0700) == 0;
		if (made && *made_from == SIZE_MAX)
			*made_from = (size_t)(comp - path);
		if ((!made && errno != EEXIST) || (sub = openat(fd, comp,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		    (made ? O_NOFOLLOW : 0))) == -1)
			goto fail;
		if (made) {
			if (geteuid() == 0 && fstat(fd, &sb) == 0 &&
			    fchown(sub, sb.st_uid, sb.st_gid) == -1) {
				/* said at start, if the user cannot write it */
			}
			(void)fsync(fd);
		}
		close(fd);
		fd = sub;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	if (check_only)
		unmake_root(root, *made_from);
	errno = saved;
	return -1;
}

struct nd_outbox *
nd_outbox_open(const char *root, uint64_t retry_ms, uint64_t retry_max_ms,
    const char *prefix, char *err, size_t errlen)
{
	struct nd_outbox *ob;
	pthread_condattr_t ca;

	if (root == NULL || root[0] != '/') {
		snprintf(err, errlen, "outbox \"%s\": not an absolute path",
		    root != NULL ? root : "");
		return NULL;
	}
	if ((ob = calloc(1, sizeof(*ob))) == NULL ||
	    (ob->root = strdup(root)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(ob);
		return NULL;
	}
	ob->made_from = SIZE_MAX;
	if ((ob->rootfd = make_root(root, &ob->made_from)) == -1) {
		snprintf(err, errlen, "outbox %s: %s", root, strerror(errno));
		free(ob->root);
		free(ob);
		return NULL;
	}
	snprintf(ob->prefix, sizeof(ob->prefix), "%s", prefix);
	ob->retry_ms = retry_ms > 0 ? retry_ms : 1;
	ob->retry_max_ms = retry_max_ms > ob->retry_ms ? retry_max_ms :
	    ob->retry_ms;
	pthread_mutex_init(&ob->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ob->cond, &ca);
	pthread_condattr_destroy(&ca);
	ob->rescan = true;
	return ob;
}

void
nd_outbox_bind(struct nd_outbox *ob, nd_resume_fn resume, void *instance)
{
	ob->resume = resume;
	ob->instance = instance;
}

bool
nd_outbox_stopping(const struct nd_outbox *ob)
{
	return atomic_load(&ob->stop);
}

void
nd_outbox_kick(struct nd_outbox *ob)
{
	pthread_mutex_lock(&ob->lock);
	ob->all_now = true;
	ob->rescan = true;
	pthread_cond_signal(&ob->cond);
	pthread_mutex_unlock(&ob->lock);
}

/* ------------------------------------------------------------ records */

/*
 * The record, whole or not at all, and for good: a temporary file, synced
 * and renamed over the old record, then the entry's folder synced (the
 * rename and the names of the module's files in it last) and root (the
 * entry's own name). Whoever reads it, now or after a crash, finds the
 * old record or the new one, never a torn one. 0, or -1 with errno set.
 */
static int
record_write(int rootfd, int dirfd, const void *record, size_t len)
{
	const char *p = record;
	size_t done = 0;
	ssize_t n;
	int fd, r = -1, closed, save;

	/*
	 * What is at the name is a crash's leftover, or a FIFO someone put
	 * there that would hang the outbox: gone, and ours made anew.
	 */
	if (unlinkat(dirfd, RECORD_TMP, 0) == -1 && errno != ENOENT)
		return -1;
	if ((fd = openat(dirfd, RECORD_TMP, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		return -1;
	while (done < len) {
		if ((n = write(fd, p + done, len - done)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		done += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto out;
	closed = close(fd);
	fd = -1;
	if (closed == -1 ||
	    renameat(dirfd, RECORD_TMP, dirfd, RECORD) == -1 ||
	    fsync(dirfd) == -1 || fsync(rootfd) == -1)
		goto out;
	r = 0;
out:
	save = errno;
	if (fd != -1)
		close(fd);
	/* A folder with a stray file in it could never be removed. */
	if (r == -1)
		unlinkat(dirfd, RECORD_TMP, 0);
	errno = save;
	return r;
}

/*
 * The entry is done: its record and lock go, and its folder if the module
 * left nothing in it. -1 (errno set) if the record could not be removed.
 */
static int
record_remove(int rootfd, int dirfd, const char *name)
{
	int r = 0, tries;

	if (unlinkat(dirfd, RECORD, 0) == -1 && errno != ENOENT)
		r = -1;
	unlinkat(dirfd, RECORD_TMP, 0);
	/*
	 * Not empty: the module's files stay with it. A visit that comes
	 * between the lock's removal and the folder's makes a lock of its
	 * own (and removes it again once it saw no record): so once more.
	 */
	for (tries = 0; r == 0 && tries < 3; tries++) {
		unlinkat(dirfd, LOCKFILE, 0);
		if (unlinkat(rootfd, name, AT_REMOVEDIR) == 0 ||
		    errno != ENOTEMPTY)
			break;
	}
	/* For good: a record back after a power cut would be done again. */
	if (r == 0) {
		(void)fsync(dirfd);
		(void)fsync(rootfd);
	}
	return r;
}

int
nd_outbox_put(struct nd_outbox *ob, const char *entry,
    const struct nds_field *fields, size_t nfields, char *err, size_t errlen)
{
	struct ob_entry *e;
	char *record = NULL, ferr[128];
	size_t len = 0;
	int dirfd, r;

	if (!entry_name_ok(entry)) {
		snprintf(err, errlen, "outbox %s: \"%s\" is not an entry name",
		    ob->root, entry);
		return -1;
	}
	if (nfields > 0 && (record = nd_record_format(fields, nfields, &len,
	    ferr, sizeof(ferr))) == NULL) {
		snprintf(err, errlen, "%s/%s/%s: %s", ob->root, entry, RECORD,
		    ferr);
		return -1;
	}
	if (len > RECORD_MAX) {
		snprintf(err, errlen, "%s/%s/%s: a record of %zu bytes, at "
		    "most %u", ob->root, entry, RECORD, len, RECORD_MAX);
		free(record);
		return -1;
	}
	if ((dirfd = openat(ob->rootfd, entry, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s/%s: %s", ob->root, entry,
		    strerror(errno));
		free(record);
		return -1;
	}
	r = len > 0 ? record_write(ob->rootfd, dirfd, record, len) :
	    record_remove(ob->rootfd, dirfd, entry);
	if (r == -1)
		snprintf(err, errlen, "%s/%s/%s: %s", ob->root, entry, RECORD,
		    strerror(errno));
	close(dirfd);
	free(record);
	if (r == -1)
		return -1;
	pthread_mutex_lock(&ob->lock);
	e = len > 0 ? entry_add(ob, entry) : entry_find(ob, entry);
	if (e != NULL && len == 0)
		e->done = true;
	else if (e != NULL && !e->active) {
		/* New work: a clean slate. From resume, its result decides. */
		mono_now(&e->due);
		e->tries = 0;
		e->ignore = e->said = e->done = e->kicked = false;
	}
	/* Out of memory: the next look at root finds it. */
	pthread_cond_signal(&ob->cond);
	pthread_mutex_unlock(&ob->lock);
	return 0;
}

/* ------------------------------------------------------------- visits */

/*
 * The entry's record, parsed into rec: 0, or -1 with what the visit found
 * in *v (no record: an orphan; else unreadable) and why in err.
 */
static int
read_record(int dirfd, struct nd_record *rec, enum ob_visit *v, char *err)
{
	char *text = NULL, perr[128];
	struct stat sb;
	ssize_t n = -1;
	int e = 0;

	if (fstatat(dirfd, RECORD, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		e = errno;
	else if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > RECORD_MAX)
		e = EFBIG;
	else if ((text = malloc((size_t)sb.st_size + 1)) == NULL)
		e = ENOMEM;
	else if ((n = nd_read_file(dirfd, RECORD, text, (size_t)sb.st_size)) ==
	    -1)
		e = errno;
	if (n == -1) {
		snprintf(err, NDS_ERRBUF_SIZE, "%s: %s", RECORD, strerror(e));
		free(text);
		*v = e == ENOENT ? OB_ORPHAN : OB_UNREADABLE;
		return -1;
	}
	/* Not the host's format (a module's own of before): left alone. */
	if (nd_record_parse(text, (size_t)n, rec, perr, sizeof(perr)) == -1) {
		snprintf(err, NDS_ERRBUF_SIZE, "%s: %s", RECORD, perr);
		free(text);
		*v = OB_UNREADABLE;
		return -1;
	}
	free(text);
	return 0;
}

/* Take entry name's lock and hand its record to the module. */
static enum ob_visit
visit(struct nd_outbox *ob, const char *name, char *err)
{
	struct nd_record rec = { 0 };
	enum ob_visit v;
	enum nds_result r;
	int dirfd, lockfd = -1, e;
	bool made = false;

	if ((dirfd = openat(ob->rootfd, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		e = errno;
		snprintf(err, NDS_ERRBUF_SIZE, "%s", strerror(e));
		return e == ENOENT ? OB_DONE : OB_UNREADABLE;
	}
	/* Made here: the folder may be on its way out (record_remove). */
	if ((lockfd = openat(dirfd, LOCKFILE, O_RDWR | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) != -1)
		made = true;
	else if (errno == EEXIST)
		lockfd = openat(dirfd, LOCKFILE, O_RDWR | O_CLOEXEC |
		    O_NOFOLLOW);
	if (lockfd == -1) {
		/* ENOENT: the folder went while we looked. */
		v = errno == ENOENT ? OB_DONE : OB_UNREADABLE;
		snprintf(err, NDS_ERRBUF_SIZE, "%s: %s", LOCKFILE,
		    strerror(errno));
	} else if (flock(lockfd, LOCK_EX | LOCK_NB) == -1)
		v = OB_BUSY;
	else if (read_record(dirfd, &rec, &v, err) == -1) {
		/*
		 * No record, and no lock until this visit made one: a folder
		 * nobody locked (made by hand, or being removed: see
		 * record_remove). The lock goes again.
		 */
		if (v == OB_ORPHAN && made)
			unlinkat(dirfd, LOCKFILE, 0);
	} else {
		err[0] = '\0';
		r = ob->resume(ob->instance, name, dirfd, rec.fields,
		    rec.nfields, err);
		if (r == NDS_OK) {
			v = OB_DONE;
			if (record_remove(ob->rootfd, dirfd, name) == -1)
				logit(LOG_WARNING, "%s: %s/%s/%s: %s",
				    ob->prefix, ob->root, name, RECORD,
				    strerror(errno));
		} else
			v = r == NDS_FAILED ? OB_FAILED : OB_FATAL;
	}
	nd_record_free(&rec);
	if (lockfd != -1)
		close(lockfd);
	close(dirfd);
	return v;
}

static uint64_t
delay_ms(const struct nd_outbox *ob, unsigned tries)
{
	uint64_t ms = ob->retry_ms;
	unsigned i;

	for (i = 1; i < tries && ms < ob->retry_max_ms; i++)
		ms *= 2;
	if (ms > ob->retry_max_ms)
		ms = ob->retry_max_ms;
	/* 75 % to 125 %: collectors that failed together spread out. */
	return ms * 3 / 4 + (ms > 1 ? (uint64_t)random() % (ms / 2) : 0);
}

/*
 * Log what a visit found, once per entry where it would repeat (the
 * failures of an entry after its first, an orphan), at debug level else.
 */
static void
visit_say(struct nd_outbox *ob, struct ob_entry *e, enum ob_visit v,
    const char *err)
{
	static const char *const what[] = { "done", "to try again",
	    "given up", "busy", "orphan", "unreadable" };
	/* Failures while stopping are the stop's, not worth a line. */
	bool once = !e->said && !atomic_load(&ob->stop);

	switch (v) {
	case OB_FAILED:
		logit(once ? LOG_WARNING : LOG_DEBUG, "%s: %s/%s: %s; will "
		    "try again", ob->prefix, ob->root, e->name,
		    err[0] ? err : "failed");
		if (!once)
			return;
		break;
	case OB_FATAL:
		logit(LOG_WARNING, "%s: %s/%s: %s; left alone", ob->prefix,
		    ob->root, e->name, err[0] ? err : "given up");
		break;
	case OB_ORPHAN:
		if (once && ob->orphans_said++ == OB_ORPHANS_SAID)
			logit(LOG_WARNING, "%s: more folders in %s have no "
			    "pending record; left alone, not said one by one",
			    ob->prefix, ob->root);
		logit(once && ob->orphans_said <= OB_ORPHANS_SAID ?
		    LOG_WARNING : LOG_DEBUG, "%s: %s/%s has no pending "
		    "record (left by a crash?); left alone", ob->prefix,
		    ob->root, e->name);
		if (!once)
			return;
		break;
	case OB_UNREADABLE:
		logit(LOG_WARNING, "%s: %s/%s: %s; left alone", ob->prefix,
		    ob->root, e->name, err);
		break;
	default:
		logit(LOG_DEBUG, "%s: %s/%s: %s", ob->prefix, ob->root,
		    e->name, what[v]);
		return;
	}
	e->said = true;
}

/*
 * Under lock, after a visit: when to look at e again; false when it is
 * to be forgotten.
 */
static bool
visit_next(struct nd_outbox *ob, struct ob_entry *e, enum ob_visit v,
    const struct timespec *now)
{
	if (e->done)
		return false;
	switch (v) {
	case OB_DONE:
		return false;
	case OB_FAILED:
		e->tries++;
		e->due = *now;
		ts_add_ms(&e->due, delay_ms(ob, e->tries));
		break;
	case OB_BUSY:
		e->due = *now;
		ts_add_ms(&e->due, BUSY_MS);
		break;
	case OB_ORPHAN:
		e->due = *now;
		ts_add_ms(&e->due, RESCAN_MS);
		break;
	case OB_FATAL:
	case OB_UNREADABLE:
		e->ignore = true;
		break;
	}
	return true;
}

/* Under lock: whether e is for the thread to take up now. */
static bool
is_due(const struct ob_entry *e, const struct timespec *now)
{
	return !e->ignore && !e->active && !e->done && !ts_before(now,
	    &e->due);
}

/* Under lock: forget e. */
static void
entry_drop(struct ob_entry *e)
{
	if ((*e->hpprev = e->hnext) != NULL)
		e->hnext->hpprev = e->hpprev;
	if ((*e->pprev = e->next) != NULL)
		e->next->pprev = e->pprev;
	free(e);
}

/*
 * Take up every entry that is due, one at a time, in one walk of the list:
 * starting over after each would cost the square of the entries. Only
 * this thread frees entries and others add them at the head, so e and
 * its next stay where they are while the lock is let go; an entry added
 * meanwhile is due at once and found by the next round.
 */
static void
visit_due(struct nd_outbox *ob)
{
	struct ob_entry *e, *next;
	struct timespec now;
	enum ob_visit v;
	char name[NAME_MAX + 1], err[NDS_ERRBUF_SIZE];

	mono_now(&now);
	pthread_mutex_lock(&ob->lock);
	for (e = ob->entries; e != NULL && !atomic_load(&ob->stop); e = next) {
		if (!is_due(e, &now)) {
			next = e->next;
			continue;
		}
		e->active = true;
		if (!e->kick_due)
			e->kicked = false;
		e->kick_due = false;
		memcpy(name, e->name, sizeof(name));
		pthread_mutex_unlock(&ob->lock);
		v = ob->resume != NULL ? visit(ob, name, err) : OB_BUSY;
		pthread_mutex_lock(&ob->lock);
		e->active = false;
		visit_say(ob, e, v, err);
		mono_now(&now);
		next = e->next;
		if (!visit_next(ob, e, v, &now))
			entry_drop(e);
	}
	pthread_mutex_unlock(&ob->lock);
}

/* ------------------------------------------------------------ the thread */

/* Forget the entries that are done or whose folder went; learn root's. */
static void
scan(struct nd_outbox *ob)
{
	struct ob_entry *e, *next;
	struct dirent *de;
	struct stat sb;
	DIR *dir;
	int fd;

	if ((fd = openat(ob->rootfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (dir = fdopendir(fd)) == NULL) {
		if (!ob->scan_said)
			logit(LOG_WARNING, "%s: outbox %s: %s", ob->prefix,
			    ob->root, strerror(errno));
		ob->scan_said = true;
		if (fd != -1)
			close(fd);
		return;
	}
	ob->scan_said = false;
	pthread_mutex_lock(&ob->lock);
	for (e = ob->entries; e != NULL; e = next) {
		next = e->next;
		if (!e->active && (e->done || (fstatat(ob->rootfd, e->name,
		    &sb, AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT)))
			entry_drop(e);
	}
	while ((de = readdir(dir)) != NULL) {
		if (!entry_name_ok(de->d_name) ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		if (entry_add(ob, de->d_name) == NULL)
			break;
	}
	pthread_mutex_unlock(&ob->lock);
	closedir(dir);
}

void
nd_outbox_visit(struct nd_outbox *ob)
{
	struct ob_entry *e;
	struct timespec now;
	bool look, all;

	mono_now(&now);
	pthread_mutex_lock(&ob->lock);
	look = ob->rescan || !ts_before(&now, &ob->next_scan);
	all = ob->all_now;
	ob->rescan = ob->all_now = false;
	pthread_mutex_unlock(&ob->lock);
	if (look) {
		scan(ob);
		ob->next_scan = now;
		ts_add_ms(&ob->next_scan, RESCAN_MS);
	}
	/*
	 * Once per wait of the entry's own: one that fails again after its
	 * kick may fail for a reason of its own (a part the store refuses),
	 * and each success of another dump would otherwise send it again at
	 * once, all of it, past its backoff.
	 */
	if (all) {
		pthread_mutex_lock(&ob->lock);
		for (e = ob->entries; e != NULL; e = e->next)
			if (!e->ignore && !e->kicked) {
				e->due = now;
				e->kicked = e->kick_due = true;
			}
		pthread_mutex_unlock(&ob->lock);
	}
	visit_due(ob);
}

/* Under lock: when the next entry, or the next look at root, is due. */
static void
next_wake(struct nd_outbox *ob, struct timespec *wake)
{
	struct ob_entry *e;

	*wake = ob->next_scan;
	for (e = ob->entries; e != NULL; e = e->next)
		if (!e->ignore && !e->done && ts_before(&e->due, wake))
			*wake = e->due;
}

/*
 * Sleep until an entry or a look at root is due, or someone calls; a put
 * may make an entry due earlier than planned, so each wake-up looks again.
 */
static void
nap(struct nd_outbox *ob)
{
	struct timespec wake, now;

	pthread_mutex_lock(&ob->lock);
	while (!atomic_load(&ob->stop) && !ob->rescan && !ob->all_now) {
		next_wake(ob, &wake);
		mono_now(&now);
		if (!ts_before(&now, &wake) || pthread_cond_timedwait(
		    &ob->cond, &ob->lock, &wake) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&ob->lock);
}

static void *
outbox_main(void *arg)
{
	struct nd_outbox *ob = arg;

	nd_thread_name("nd-outbox");
	while (!atomic_load(&ob->stop)) {
		nd_outbox_visit(ob);
		nap(ob);
	}
	return NULL;
}

int
nd_outbox_start(struct nd_outbox *ob)
{
	sigset_t all, old;
	int e;

	if (ob->running)
		return 0;
	/* The daemon reads its signals from a signalfd: none for us. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&ob->thread, NULL, outbox_main, ob);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e == 0)
		ob->running = true;
	return e;
}

void
nd_outbox_free(struct nd_outbox *ob)
{
	struct ob_entry *e;

	if (ob == NULL)
		return;
	pthread_mutex_lock(&ob->lock);
	atomic_store(&ob->stop, true);
	pthread_cond_signal(&ob->cond);
	pthread_mutex_unlock(&ob->lock);
	if (ob->running)
		pthread_join(ob->thread, NULL);
	while ((e = ob->entries) != NULL) {
		ob->entries = e->next;
		free(e);
	}
	close(ob->rootfd);
	if (check_only)
		unmake_root(ob->root, ob->made_from);
	pthread_mutex_destroy(&ob->lock);
	pthread_cond_destroy(&ob->cond);
	free(ob->root);
	free(ob);
}

int64_t
nd_outbox_due_in(struct nd_outbox *ob, const char *entry)
{
	struct ob_entry *e;
	struct timespec now;
	int64_t ms = -1;

	mono_now(&now);
	pthread_mutex_lock(&ob->lock);
	if ((e = entry_find(ob, entry)) != NULL && e->ignore)
		ms = INT64_MAX;
	else if (e != NULL && !ts_before(&now, &e->due))
		ms = 0;
	else if (e != NULL)
		ms = (int64_t)(e->due.tv_sec - now.tv_sec) * 1000 +
		    (e->due.tv_nsec - now.tv_nsec) / 1000000;
	pthread_mutex_unlock(&ob->lock);
	return ms;
}
