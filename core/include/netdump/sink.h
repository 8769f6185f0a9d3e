/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netdump-server sink ABI: the only header a sink module includes.
 *
 * A sink is a shared object loaded with dlopen(RTLD_NOW | RTLD_LOCAL). It
 * exports exactly one symbol, NDS_SINK_SYMBOL, a const struct
 * nds_sink_module. The host checks abi_major, abi_minor and struct_size
 * before it reads anything else; "they protect the rest".
 *
 * Versioning: NDS_ABI_MINOR grows when something is appended (a field at the
 * end of a struct, an op at the end of the descriptor); a module built for an
 * older minor still loads. NDS_ABI_MAJOR grows on any removal or layout
 * change and resets the minor; a module built for another major is refused.
 *
 * Changelog:
 *   1.0  2026-11-23  first version.
 *   1.1  2026-11-23  chains: NDS_CAP_TRANSFORM, begin_transform and
 *                    struct nds_stage; NDS_OBJ_ARCHIVE, NDS_OBJ_MSGBUF;
 *                    nds_object.suffix.
 *   1.2  2026-12-02  nds_host.dump_number: a sink that numbers dumps tells
 *                    the host, for the info file's "Bounds" line;
 *                    nds_object_name().
 *   2.0  2026-12-02  the host does the shared work:
 *                    - options are declared with the offset of their field
 *                      in the module's config struct (config_size) and the
 *                      host fills it: create takes const void *config, and
 *                      struct nds_optval is gone;
 *                    - one begin for every module: a transform gets its
 *                      next stage there, a storing sink gets NULL;
 *                      begin_transform is gone;
 *                    - a transform declares the object kinds it handles
 *                      (kinds); the host passes the others to the next
 *                      stage itself;
 *                    - start, called after the daemon forked and dropped
 *                      privileges: where a module starts its threads;
 *                    - host services: object_name (the naming policy the
 *                      manifest shares) and spool_open (a sparse unnamed
 *                      temporary file);
 *                    - the durable outbox: outbox_open, outbox_put,
 *                      outbox_kick and outbox_stopping in nds_host, resume
 *                      in nds_sink_module; the host keeps records for
 *                      good, finds them again after a restart and calls
 *                      resume with backoff until they are done;
 *                    - the outbox record is the host's format: a module
 *                      gives outbox_put name/value pairs (struct
 *                      nds_field) and resume gets them back parsed;
 *                      read_file reads a small file of an entry;
 *                    - the work pool: pool_open, pool_submit,
 *                      pool_start and pool_close in nds_host, threads
 *                      with a state each (a connection) that the host
 *                      starts after the fork and stops;
 *                    - space_ok: the free-space check, the server's
 *                      floor included, for a module's own file system;
 *                    - manifest_read: what a manifest says (status, the
 *                      dump's number and client, where every object was
 *                      stored), so a module finds its old dumps by the
 *                      host's record of them;
 *                    - NDS_RETRY is gone (no module returned it); the host
 *                      checks the dump and the stage it passes, so modules
 *                      need not.
 *   2.1  2026-12-02  nds_dump.protocol (which front-end received the dump)
 *                    and nds_dump.boot_dir (a Linux client's directory of
 *                    this boot, where its console log is).
 *   2.2  2026-12-02  nds_host.manifest_facts: manifest_read's summary
 *                    and places, plus the panic signature the manifest
 *                    records and the kind of object stored at each place,
 *                    so that retention can group the dumps it stored by
 *                    what crashed and tell a dump's core from its summary
 *                    (keep_per_signature) without reading names.
 *   2.3  2026-12-03  nds_host.dir_usable: a module checks at start the
 *                    directories its options name (file's dir,
 *                    archive's spool_dir) and warns about one every dump
 *                    would fail in. nds_object.incomplete: a chain's copy
 *                    cut short while the dump is complete (another chain
 *                    stored it whole) is named and linked as cut short.
 *   2.4  2026-12-04  outbox_open makes root when it is missing, as
 *                    mkdir -p does (mode 0700, each folder made owned
 *                    like the one above it when the server runs as root,
 *                    its name synced): a module no longer makes it.
 *   2.5  2026-12-05  nds_host.manifest_unfinished: the manifest of a dump
 *                    that has not ended (status "unfinished", no objects),
 *                    for a module that finds its dumps by their manifests
 *                    to write at begin where the finished one will go:
 *                    a dump whose end never came (the server was killed,
 *                    the disk filled before the manifest) is still one of
 *                    its dumps. manifest_read and manifest_facts tell
 *                    such a manifest as NDS_STATUS_RECEIVING.
 *   2.6  2026-12-06  Objects of a dump may overlap: the EKCD key opens,
 *                    is written and closes while the vmcore is open,
 *                    as soon as the key is whole (a 13+ kernel sends it
 *                    first, so that a dump cut short, even by the
 *                    server's death, stays readable), and again at the
 *                    end only where that failed or the key changed. A
 *                    close while nds_dump.status is NDS_STATUS_RECEIVING
 *                    should not wait on a network (s3 spools it).
 *   2.7  2026-12-06  nds_host.dir_open: a directory of the module's
 *                    options opened from start, to take up what a
 *                    previous run left there (archive keeps the spool of
 *                    a dump its server's death cut short).
 *   2.8  2026-12-06  NDS_CAP_BUNDLE: a transform that makes the whole dump
 *                    one NDS_OBJ_ARCHIVE (archive) says so, and the host
 *                    refuses a chain with two: the second would be
 *                    handed only the first one's tarball.
 *
 * Lifecycle, per sink instance (one per [sink NAME] section):
 *   create(config) -> start -> per dump: begin(dump) -> per object: open,
 *   then write/hole any number of times, then close -> end -> ... ->
 *   destroy. Objects come in no promised order, and one may open while
 *   another is open: the key, stored as soon as it is whole, opens and
 *   closes while the vmcore streams (2.6). create runs before the daemon
 *   forks (a thread started there would not survive the fork); start runs
 *   in the daemon, as the user it runs as, before the first dump. An
 *   instance that opened an outbox gets resume calls from the host's
 *   outbox thread from after start until before destroy. A reload
 *   (SIGHUP) keeps an instance whose [sink] section did not change, as
 *   it runs: create and start are not called again; a changed one gets
 *   a new instance beside the old, which is destroyed after its last
 *   dump ended, on a thread of the host's own: destroy may wait (join
 *   the module's threads) without holding back any dump.
 *
 * Chains: a route may name "zstd | local". Every element but the last is a
 * transform (NDS_CAP_TRANSFORM): its begin gets the next stage as a struct
 * nds_stage, and the transform emits objects to it (open/write/hole/close
 * on the stage) from any of its own ops, end included. Objects of a kind
 * the transform does not declare in kinds never reach it: the host gives
 * them to the next stage that takes them. The host calls a transform's end
 * before the next stage's end.
 * Every op runs on a worker thread of the dump, never on the receive path;
 * the ops of one dump are never called concurrently, but different dumps of
 * the same instance may run concurrently (protect instance state).
 *
 * Ownership: whoever allocates frees. The module frees its instance in
 * destroy, its per-dump state in end and its per-object state in close;
 * close and end are called exactly once after a successful open or begin,
 * whatever happened in between. Every pointer the host passes (buffers,
 * strings, the dump) is borrowed for the call, except struct nds_dump,
 * which stays valid from begin to end.
 */
#ifndef NETDUMP_SINK_H
#define NETDUMP_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define NDS_ABI_MAJOR	2
#define NDS_ABI_MINOR	8

#define NDS_SINK_SYMBOL	"nds_sink_module"
#define NDS_ERRBUF_SIZE	256
#define NDS_WHERE_SIZE	1024
#define NDS_SIGNATURE_SIZE	17	/* 16 hex digits and a NUL */

/* Graded results. */
enum nds_result {
	NDS_OK = 0,	/* done */
	NDS_FAILED,	/* this dump cannot be stored by this sink */
	NDS_FATAL,	/* this sink instance is unusable from now on */
};

/* Capability flags (struct nds_sink_module.caps). */
#define NDS_CAP_ORDERED	0x1u	/* needs strictly increasing offsets */
#define NDS_CAP_TRANSFORM 0x2u	/* emits objects to a next stage */
#define NDS_CAP_BUNDLE	0x4u	/* a transform that makes the dump one
				 * NDS_OBJ_ARCHIVE (takes every kind) */

enum nds_opt_type {
	NDS_OPT_STRING,
	NDS_OPT_INT,		/* decimal digits, within [min, max] */
	NDS_OPT_SIZE,		/* bytes, with an optional k/M/G/T suffix */
	NDS_OPT_BOOL,		/* yes/no, true/false, on/off, 1/0 */
	NDS_OPT_ENUM,		/* one of the '|'-separated choices */
};

/*
 * One option of a module, and where its value goes: the host checks and
 * converts the value (or the default) and stores it at offset in the
 * module's config struct, as the type says:
 *
 *   NDS_OPT_STRING     const char *  NULL when unset with no default
 *   NDS_OPT_INT, SIZE  int64_t
 *   NDS_OPT_BOOL       bool
 *   NDS_OPT_ENUM       int           the index of the choice
 *
 * The config struct (the module's config_size bytes, zeroed first) and its
 * strings are the host's, valid until destroy returns.
 *
 * The server's own [server] keys are rows of this type too, and the host
 * prints every table two ways: as text for netdump-server -H MODULE and
 * as the man page's entries (-H MODULE --mdoc), which add the range and
 * the default from the row. So write the description for both: plain
 * text, no markup, a phrase or sentences ("compression level").
 */
struct nds_option {
	const char		*name;		/* NULL ends the table */
	enum nds_opt_type	 type;
	size_t			 offset;	/* offsetof(config struct, field) */
	const char		*default_value;	/* NULL: no default */
	const char		*choices;	/* NDS_OPT_ENUM: "a|b|c" */
	int64_t			 min, max;	/* NDS_OPT_INT/SIZE, if max > min */
	const char		*description;
};

/* Syslog priorities, so a module need not include <syslog.h>. */
enum nds_log_level {
	NDS_LOG_ERR = 3,
	NDS_LOG_WARNING = 4,
	NDS_LOG_NOTICE = 5,
	NDS_LOG_INFO = 6,
	NDS_LOG_DEBUG = 7,
};

struct nds_host_ctx;	/* opaque: the host's handle for one sink instance */

/*
 * What the host offers a module. Handed to create; valid until destroy.
 * Everything listed here is there in every 2.x host; a field appended in
 * a later minor is there when struct_size covers it.
 */
struct nds_dump;
struct nds_object;
struct nds_pool;	/* opaque: a work pool (pool_open) */

/*
 * 2.0: one line of an outbox record. The host owns the format (what is
 * on disk, its escaping, its version): a module says what its record
 * holds as an ordered list of these and gets the same list back in
 * resume, so it keeps only what its names mean. A name may repeat (a
 * list, or a group that starts at a name): order is kept.
 */
struct nds_field {
	/*
	 * Letters, digits, '_', '-' and '.', at most 64 bytes: a name is
	 * written as it is, so an operator can read and grep the record.
	 * "version" is the host's.
	 */
	const char	*name;
	/*
	 * Any text, "" included: escaped on disk, so a value never breaks
	 * a line and keeps its blanks.
	 */
	const char	*value;
};

/* The kinds of object a dump is made of. */
enum nds_object_kind {
	NDS_OBJ_VMCORE = 0,	/* the dump body, streamed while it arrives */
	NDS_OBJ_KEY,		/* the EKCD key blob, byte-exact; stored as
				   soon as it is whole, while the vmcore is
				   open (2.6) */
	NDS_OBJ_INFO,		/* savecore-style text description */
	NDS_OBJ_MANIFEST,	/* JSON manifest, always the last object */
	NDS_OBJ_ARCHIVE,	/* a tarball of the dump's objects */
	NDS_OBJ_MSGBUF,		/* the kernel message buffer, as text */
};
#define NDS_OBJ_NKINDS	(NDS_OBJ_MSGBUF + 1)
#define NDS_KIND(kind)	(1u << (kind))	/* for nds_sink_module.kinds */

struct nds_manifest_summary;
struct nds_manifest_facts;

struct nds_host {
	uint32_t	 abi_major;
	uint32_t	 abi_minor;
	size_t		 struct_size;
	/* Log a line prefixed with the sink's name; adds no newline. */
	void		(*log)(struct nds_host_ctx *, enum nds_log_level,
			    const char *fmt, ...)
			    __attribute__((format(printf, 3, 4)));
	/*
	 * A sink that gives dumps numbers, as savecore's bounds file does,
	 * tells the host the one it gave this dump, from begin; the info
	 * object then says "Bounds: N" as savecore's info.N does. The first
	 * number told wins. dump is the pointer begin was given.
	 */
	void		(*dump_number)(const struct nds_dump *, unsigned number);
	/*
	 * 2.0: an object's name, as every sink and the manifest spell it:
	 * the stem (vmcore, vmcore_encrypted, dump, key, info, manifest,
	 * msgbuf), then infix (e.g. ".7" for savecore's numbered names; NULL
	 * for none), then the extension (the kernel's compression unless
	 * encrypted, the object's suffix, ".json" for the manifest), then
	 * ".incomplete" for a vmcore or archive of an incomplete dump. Call
	 * it from close: the outcome is known then. -1 if it does not fit.
	 */
	int		(*object_name)(const struct nds_dump *,
			    const struct nds_object *, const char *infix,
			    char *name, size_t len);
	/*
	 * 2.0: a spool for this dump: an unnamed, sparse temporary file
	 * (O_TMPFILE; a name unlinked at once where that is not supported)
	 * in dir, relative to the dump directory, or in the dump directory
	 * itself when dir is NULL, so what it holds is on the file system it
	 * is headed for. The caller closes it; -1 and err ("spool in DIR:
	 * ...") if it cannot be made.
	 */
	int		(*spool_open)(const struct nds_dump *, const char *dir,
			    char err[NDS_ERRBUF_SIZE]);

	/*
	 * 2.0: the durable outbox, for work that must survive the store
	 * being down and the server being restarted. The instance's entries
	 * are the folders directly under root (absolute; 2.4: the host
	 * makes it when missing, see the changelog); each holds the module's files and one record, the file
	 * "pending" ("pending.tmp" while it is replaced), which only the
	 * host writes. The host finds the entries
	 * that have a record, a previous run's too, and calls the module's
	 * resume for each from a thread of its own, in the daemon, with
	 * backoff from retry_ms doubling up to retry_max_ms. An entry whose
	 * file "lock" someone holds (flock) is busy and looked at again
	 * later: a module holds it while it fills an entry outside resume.
	 * Names starting with '.' are never entries. From create, once per
	 * instance; -1 and err if root cannot be used.
	 */
	int		(*outbox_open)(struct nds_host_ctx *, const char *root,
			    uint64_t retry_ms, uint64_t retry_max_ms,
			    char err[NDS_ERRBUF_SIZE]);
	/*
	 * Write the record of entry (a folder name under root) for good:
	 * the nfields fields, in the host's format, to a temporary file,
	 * synced, renamed over the old record, then the entry's folder and
	 * root synced, so that whoever reads it, now or after a crash, finds
	 * the old record or the new one, whole, and never one that claims
	 * files not yet on disk (sync them first). The entry is then due
	 * for resume at once. nfields 0: the entry is done; the record and
	 * "lock" go, and the folder if it is empty. From any thread, resume
	 * included, but one writer per entry at a time (the one holding its
	 * "lock"). -1 and err on failure (a bad name, a record over 1 MiB,
	 * the disk; the old record stays).
	 */
	int		(*outbox_put)(struct nds_host_ctx *, const char *entry,
			    const struct nds_field *fields, size_t nfields,
			    char err[NDS_ERRBUF_SIZE]);
	/*
	 * Every entry is due now (e.g. the store answers again), but for
	 * one a kick made due since its backoff last ran out: that one
	 * keeps to its backoff.
	 */
	void		(*outbox_kick)(struct nds_host_ctx *);
	/*
	 * True once the host stops the outbox: a resume that waits (for a
	 * network, a backoff) checks it and returns NDS_FAILED soon.
	 */
	bool		(*outbox_stopping)(struct nds_host_ctx *);
	/*
	 * 2.0: a small file, name in dirfd (an outbox entry's folder, say),
	 * whole into buf: the host reads its own records this way, and a
	 * module that reads one of its entry's files back needs no reader
	 * of its own. Its length, or -1 with errno (ENOENT: not there;
	 * EFBIG: not a regular file or more than size bytes) and err.
	 */
	ssize_t		(*read_file)(int dirfd, const char *name, void *buf,
			    size_t size, char err[NDS_ERRBUF_SIZE]);

	/*
	 * 2.0: the work pool, for a module that does slow work (requests
	 * to a store) beside its dumps' threads. The host owns the threads
	 * and their queue: they are started with the first pool_submit
	 * (after start, in the daemon: a thread started before the fork
	 * would not survive it), with every signal blocked (the host takes
	 * its signals from a signalfd, which works only while no thread
	 * accepts them), and run jobs in the order submitted.
	 *
	 * Each thread has a state of its own that only it uses, e.g. a
	 * connection: thread_init(arg, &state) makes it when the thread
	 * starts (0, or -1 if it could not: the thread tries again before
	 * its next job, and runs the job with a NULL state meanwhile, so
	 * the job can fail itself rather than wait); thread_fini(arg,
	 * state) ends it, on the same thread, when the thread stops.
	 * Either may be NULL.
	 *
	 * pool_open from create (or later; a module may open several),
	 * threads at least 1; NULL and err for 0 threads or out of memory.
	 * The pool is the module's to close.
	 */
	struct nds_pool	*(*pool_open)(struct nds_host_ctx *, unsigned threads,
			    int (*thread_init)(void *arg, void **state),
			    void (*thread_fini)(void *arg, void *state),
			    void *arg, char err[NDS_ERRBUF_SIZE]);
	/*
	 * Queue fn(job, state) for the next free thread; job is the
	 * module's (the host only passes it). 0, or -1 when it will never
	 * run (out of memory, the pool is closing, no thread could be
	 * started): the job is still the caller's then.
	 */
	int		(*pool_submit)(struct nds_pool *,
			    void (*fn)(void *job, void *state), void *job);
	/*
	 * Start the threads now if none runs (pool_submit does it too);
	 * how many run, 0 if none could be started: a module can then take
	 * another way (spool) before it has a job to hand over. In the
	 * daemon only: from start or a dump's operations.
	 */
	unsigned	(*pool_start)(struct nds_pool *);
	/*
	 * Run every job queued, stop the threads (thread_fini) and free the
	 * pool; NULL is nothing to do. From destroy, or when the module is
	 * done with it; never from one of the pool's jobs.
	 */
	void		(*pool_close)(struct nds_pool *);
	/*
	 * 2.0: whether the file system of fd (a spool, say) has room: at
	 * least reserve bytes free for the server's user and, when it is
	 * the dump directory's file system, the server's own floor too
	 * (min_free, savecore's minfree file), which the host keeps for
	 * every dump. false and why ("4194304 bytes free in the dump
	 * directory's file system, below min_free (1073741824)") in why. A
	 * file system that does not answer has room: no answer is no reason
	 * to stop storing. dump is the pointer begin was given, never a
	 * copy: the host finds its own state of the dump from it (so does
	 * dump_number).
	 */
	bool		(*space_ok)(const struct nds_dump *, int fd,
			    uint64_t reserve, char why[NDS_ERRBUF_SIZE]);
	/*
	 * 2.0: what a manifest the host wrote says, so that a module can
	 * find the dumps it stored by the host's record of them rather than
	 * by reading meaning into file names (file's retention does): the
	 * summary, and stored(arg, where) for every place a chain said it
	 * stored one of the dump's objects, as its close put it in where.
	 * The manifest's own place is not among them. text is the
	 * manifest's bytes; -1 if they are not a manifest of this server.
	 */
	int		(*manifest_read)(const char *text, size_t len,
			    struct nds_manifest_summary *summary,
			    void (*stored)(void *arg, const char *where),
			    void *arg);
	/*
	 * 2.2: manifest_read, and more: facts gets the summary, the panic
	 * signature and its count (struct nds_manifest_facts), and stored
	 * gets each place with the kind of object stored there
	 * (NDS_OBJ_NKINDS when the manifest names none). -1 when text is not
	 * a manifest of this server; then nothing is told.
	 */
	int		(*manifest_facts)(const char *text, size_t len,
			    struct nds_manifest_facts *facts,
			    void (*stored)(void *arg, enum nds_object_kind kind,
			    const char *where), void *arg);
	/*
	 * 2.3: whether dir (relative to the dump directory unless absolute;
	 * NULL: the dump directory) is a directory the server, as the user
	 * it runs as, can list and create files in: 0, or -1 and err ("DIR:
	 * why"). From start, to say at once what every dump would otherwise
	 * find out for itself.
	 */
	int		(*dir_usable)(struct nds_host_ctx *, const char *dir,
			    char err[NDS_ERRBUF_SIZE]);
	/*
	 * 2.5: the manifest of dump while it has not ended (status
	 * "unfinished", no objects) into buf: its length, or -1 (ENOSPC:
	 * size is too small). numbered and number: the number a sink gave
	 * the dump, as dump_number was told. Written at begin where the
	 * finished manifest will replace it, it makes a dump whose end
	 * never comes one of the module's dumps still, to count and remove.
	 */
	ssize_t		(*manifest_unfinished)(const struct nds_dump *dump,
			    bool numbered, unsigned number, char *buf,
			    size_t size);
	/*
	 * 2.7: dir (relative to the dump directory unless absolute; NULL:
	 * the dump directory) opened as a directory (O_DIRECTORY,
	 * close-on-exec), for a module that looks at what a previous run
	 * left there before the first dump, or keeps files of its own there
	 * during one. The caller closes it; -1, errno and err ("DIR: why")
	 * if it cannot be opened. From start on.
	 */
	int		(*dir_open)(struct nds_host_ctx *, const char *dir,
			    char err[NDS_ERRBUF_SIZE]);
};

/* Parsed kernel dump header (all integers converted to host order). */
struct nds_kdh {
	char		magic[21];
	char		architecture[13];
	uint32_t	version;
	uint32_t	architectureversion;
	uint64_t	dumplength;
	uint64_t	dumptime;
	uint64_t	dumpextent;
	uint32_t	dumpkeysize;
	uint32_t	blocksize;
	char		hostname[65];
	char		versionstring[193];
	char		panicstring[193];
	uint8_t		compression;	/* NDS_COMP_* */
	uint32_t	parity;
	bool		parity_ok;
};

#define NDS_COMP_NONE	0
#define NDS_COMP_GZIP	1
#define NDS_COMP_ZSTD	2

enum nds_status {
	NDS_STATUS_RECEIVING = 0,	/* the dump is still arriving */
	NDS_STATUS_COMPLETE,
	NDS_STATUS_INCOMPLETE,
};

/*
 * One dump, owned by the host, valid from begin to end. Fields under
 * "known at the end" are filled before the host closes the vmcore object,
 * so a module can name its files once it knows the outcome.
 */
struct nds_dump {
	uint32_t		 magic;		/* NDS_DUMP_MAGIC */
	size_t			 struct_size;
	uint64_t		 id;		/* unique within this daemon run */
	const char		*client_addr;	/* "192.0.2.7" */
	uint16_t		 client_port;
	const char		*client_name;	/* safe as a file name */
	const char		*path;		/* HERALD path, confined; "." if none */
	const char		*dumpdir;	/* the server's dump directory */
	int			 dumpdir_fd;	/* O_DIRECTORY fd of dumpdir */
	/*
	 * Its size follows _TIME_BITS on a 32-bit system: build a module
	 * with the server's (the loader cannot tell them apart).
	 */
	struct timespec		 start;		/* CLOCK_REALTIME at HERALD */

	/* Known at the end. */
	const struct nds_kdh	*kdh;		/* NULL: none or invalid */
	enum nds_status		 status;
	const char		*reason;	/* why incomplete; "" if complete */
	const char		*vmcore_suffix;	/* "", ".gz" or ".zst"; "" if encrypted */
	bool			 encrypted;	/* a key came with the dump */

	/* 2.1: read only when struct_size covers them. */
	const char		*protocol;	/* NDS_PROTO_FREEBSD, _LINUX */
	/*
	 * A Linux client's directory of this boot, relative to dumpdir, one
	 * path component ("192.0.2.7-2026-12-02-10:15"), where its console
	 * text is: a sink that keeps Red Hat's layout stores the dump
	 * beside it. NULL when there is none (always for FreeBSD).
	 */
	const char		*boot_dir;
};
#define NDS_DUMP_MAGIC	0x6e647064u
#define NDS_PROTO_FREEBSD	"freebsd-netdump"	/* netdump(4), a KDH */
#define NDS_PROTO_LINUX		"linux-netdump"	/* Red Hat's: an ELF core */

/* A manifest's word on its dump (nds_host.manifest_read). */
struct nds_manifest_summary {
	/*
	 * COMPLETE or INCOMPLETE; 2.5: RECEIVING for a manifest written
	 * before the dump's end (manifest_unfinished): the dump is still
	 * arriving, or the server stopped before it ended.
	 */
	enum nds_status	 status;
	bool		 has_number;	/* a sink gave the dump a number */
	unsigned	 number;	/* as nds_host.dump_number was told */
	char		 client_addr[64];
	char		 client_name[256];	/* as nds_dump.client_name */
};

/* 2.2: what a manifest says besides (nds_host.manifest_facts). */
struct nds_manifest_facts {
	struct nds_manifest_summary summary;
	/* The panic signature's id, 16 hex digits; "" when it has none. */
	char		 signature[NDS_SIGNATURE_SIZE];
	/*
	 * How many dumps of the dump directory had that signature when this
	 * one ended, this one included; 0 when the manifest does not say.
	 */
	uint64_t	 seen;
};

/* An object kind's name, as logs spell it. */
static inline const char *
nds_object_name(enum nds_object_kind kind)
{
	static const char *const names[NDS_OBJ_NKINDS] = { "vmcore", "key",
	    "info", "manifest", "archive", "msgbuf" };

	return (unsigned)kind < NDS_OBJ_NKINDS ? names[kind] : "object";
}

/* What the host knows about an object when it closes it. */
struct nds_object {
	enum nds_object_kind	 kind;
	/*
	 * Final logical size in bytes. For a chain that failed during the
	 * dump, the end of what it took: a failed copy is not padded.
	 */
	uint64_t		 size;
	/*
	 * Appended to the object's name by the terminal sink, e.g.
	 * ".zst" from the zstd transform or ".tar.gz" for an archive; NULL or
	 * "" for none. For the vmcore it comes after dump->vmcore_suffix.
	 */
	const char		*suffix;
	/*
	 * 2.3: this copy of the object is cut short, whatever the dump's
	 * status says: its chain failed before the end (an ordered chain
	 * that could not take late data, a stage that returned an error).
	 * The terminal sink names it as it would an incomplete dump's (with
	 * the tail object_name gives those: object_name itself never reads
	 * this field, which a 2.2 module's object does not have) and moves no
	 * "last" link to it; a transform passes it on, and sets it when its
	 * own output is cut short. The host reads an object a 2.2 transform
	 * emits only up to this field, and takes it as false.
	 */
	bool			 incomplete;
};

/*
 * The next stage of a chain, as the host offers it to a transform.
 * Objects opened on it are the transform's to close, exactly once each,
 * before the transform's end returns. The host keeps where the next
 * stage put an NDS_OBJ_ARCHIVE, and a manifest passed on after it is the
 * host's to write: what the transform writes of it is replaced by the
 * manifest built again, with that place in it. A transform whose end
 * fails after the tarball went need pass none: the host writes it then,
 * the chain failed.
 */
struct nds_stage {
	size_t		 struct_size;
	void		*ctx;		/* pass to open */
	enum nds_result	(*open)(void *ctx, enum nds_object_kind kind,
			    void **object, char err[NDS_ERRBUF_SIZE]);
	enum nds_result	(*write)(void *object, uint64_t offset,
			    const void *buf, size_t len,
			    char err[NDS_ERRBUF_SIZE]);
	enum nds_result	(*hole)(void *object, uint64_t offset, uint64_t len,
			    char err[NDS_ERRBUF_SIZE]);
	/* Always releases object; where is what the terminal reported. */
	enum nds_result	(*close)(void *object, const struct nds_object *obj,
			    char where[NDS_WHERE_SIZE],
			    char err[NDS_ERRBUF_SIZE]);
};

struct nds_sink_module {
	/* These three protect the rest. */
	uint32_t	 abi_major;
	uint32_t	 abi_minor;
	uint32_t	 struct_size;

	const char	*name;		/* the module name, e.g. "file" */
	const char	*version;
	const char	*description;
	uint32_t	 caps;		/* NDS_CAP_* */
	const struct nds_option *options;
	size_t		 config_size;	/* of the struct options fill */
	/*
	 * A transform: NDS_KIND() of every object kind it handles; 0 for
	 * all. The host gives the others to the next stage.
	 */
	uint32_t	 kinds;

	/* config: config_size bytes the host filled from options. */
	enum nds_result	(*create)(const struct nds_host *host,
			    struct nds_host_ctx *ctx, const void *config,
			    void **instance, char err[NDS_ERRBUF_SIZE]);
	/* In the daemon, before the first dump; NULL if nothing to start. */
	enum nds_result	(*start)(void *instance, char err[NDS_ERRBUF_SIZE]);
	void		(*destroy)(void *instance);

	/*
	 * A dump begins. next is the stage a transform emits to, NULL for a
	 * storing sink; it stays valid until end returns.
	 */
	enum nds_result	(*begin)(void *instance, const struct nds_dump *dump,
			    const struct nds_stage *next, void **dump_state,
			    char err[NDS_ERRBUF_SIZE]);
	enum nds_result	(*open)(void *dump_state, enum nds_object_kind kind,
			    void **object_state, char err[NDS_ERRBUF_SIZE]);
	enum nds_result	(*write)(void *object_state, uint64_t offset,
			    const void *buf, size_t len,
			    char err[NDS_ERRBUF_SIZE]);
	/* [offset, offset + len) reads as zeros. */
	enum nds_result	(*hole)(void *object_state, uint64_t offset,
			    uint64_t len, char err[NDS_ERRBUF_SIZE]);
	/*
	 * Finish the object at its final size (the file is truncated or
	 * extended to it) and say where it went, e.g. a path relative to the
	 * dump directory or an URL. Always frees object_state.
	 */
	enum nds_result	(*close)(void *object_state,
			    const struct nds_object *object,
			    char where[NDS_WHERE_SIZE],
			    char err[NDS_ERRBUF_SIZE]);
	/* The dump is over (dump->status says how). Always frees dump_state. */
	enum nds_result	(*end)(void *dump_state, char err[NDS_ERRBUF_SIZE]);

	/*
	 * 2.0: take up outbox entry again (see nds_host.outbox_open); NULL
	 * for a module without an outbox. entry_dirfd is the entry's folder,
	 * its "lock" held by the host; fields are its record as the module
	 * last put it, in order, borrowed for the call (a record the host
	 * cannot read never gets here: it is logged and left alone). Called
	 * from the host's outbox thread, never
	 * concurrently for one instance (but concurrently with dumps). The
	 * module may call outbox_put to record progress. NDS_OK: done, the
	 * host removes the record and "lock", and the folder if empty;
	 * NDS_FAILED: not now, tried again after the backoff (err is logged
	 * on the first failure of the entry); NDS_FATAL: given up on this
	 * entry until a restart or a new record, err is logged, everything
	 * stays on disk.
	 */
	enum nds_result	(*resume)(void *instance, const char *entry,
			    int entry_dirfd, const struct nds_field *fields,
			    size_t nfields, char err[NDS_ERRBUF_SIZE]);
};

/* Start a module's descriptor with this. */
#define NDS_SINK_MODULE_HEADER					\
	.abi_major = NDS_ABI_MAJOR,				\
	.abi_minor = NDS_ABI_MINOR,				\
	.struct_size = sizeof(struct nds_sink_module)

#if defined(__GNUC__)
#define NDS_EXPORT	__attribute__((visibility("default")))
#else
#define NDS_EXPORT
#endif

#endif /* NETDUMP_SINK_H */
