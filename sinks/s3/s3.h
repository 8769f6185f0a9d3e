/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * s3 sink: what its source files share; nothing here is exported. The
 * pure parts (XML, keys, part layout, the pending record's fields) are
 * also compiled into the unit tests. s3.c: options, create, destroy;
 * s3_dump.c: a dump, its names and keys, its pending record; s3_resume.c:
 * a pending record the outbox hands back; s3_upload.c: an object's bytes,
 * its parts on the host's upload pool, completion and copies; s3_http.c:
 * the S3 requests; s3_creds.c: the credentials.
 */
#ifndef ND_S3_H
#define ND_S3_H

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "netdump/sink.h"

/* S3 limits (AWS documents them; radosgw enforces the part minimum). */
#define S3_MIN_PART	(5ULL << 20)
#define S3_MAX_PART	(5ULL << 30)
#define S3_MAX_PARTS	10000u
#define S3_PART_GROUP	1000u	/* parts per size step of the layout */
#define S3_KEY_MAX	1024	/* bytes of an object key */
/* Ends the name of a dump that did not arrive whole, or lost bytes. */
#define S3_INCOMPLETE	".incomplete"
#define S3_ETAG_MAX	128
#define S3_UPLOADID_MAX	1024
#define S3_TOKEN_MAX	96

/* ------------------------------------------------------------ s3_xml.c */

/* libxml2's set-up: once, from create, before any thread parses. */
void		 s3_xml_init(void);
/*
 * The text of the first element named tag in the document xml[0, len),
 * entity-decoded into out (NUL-terminated). Returns its length, or -1 when
 * xml is not a well-formed document, has no such element or its text does
 * not fit.
 */
int		 s3_xml_text(const char *xml, size_t len, const char *tag,
		    char *out, size_t outlen);
/* Whether the document's root element is named tag (e.g. "Error"). */
bool		 s3_xml_root_is(const char *xml, size_t len, const char *tag);
/* Whether xml[0, len) is a well-formed document. */
bool		 s3_xml_whole(const char *xml, size_t len);

/* ------------------------------------------------------------ s3_key.c */

/* What a key template's {variables} expand to; NULL reads as "". */
struct s3_keyvars {
	const char	*prefix;
	const char	*collector;
	const char	*path;		/* HERALD path; "." means none */
	const char	*client;
	const char	*addr;
	const char	*date;		/* 20261123T101502Z */
	const char	*day;		/* 2026-11-23 */
	const char	*id;
	const char	*name;		/* vmcore, info, manifest.json, ... */
};

/* 0 when tmpl is usable; else -1 and why in err. */
int		 s3_template_check(const char *tmpl, char *err, size_t errlen);
/*
 * Whether key is one tmpl could make with this prefix: a tame key (no
 * empty, "." or ".." segment, no control character, at most S3_KEY_MAX)
 * that starts as the template's fixed start does. A record in the spool
 * is only trusted that far: anyone who can write there could name any
 * key of the bucket.
 */
bool		 s3_key_mine(const char *tmpl, const char *prefix,
		    const char *key);
/*
 * Expand tmpl into an object key: empty and "." segments are dropped, ".."
 * becomes "__", control characters become '_' and only {prefix} and
 * {path} may bring '/'. -1 when the key would be empty or longer than
 * S3_KEY_MAX.
 */
int		 s3_key_expand(const char *tmpl, const struct s3_keyvars *v,
		    char *out, size_t outlen);
/* Whether name ends in S3_INCOMPLETE. */
bool		 s3_incomplete(const char *name);
/*
 * Percent-encode s as SigV4 wants it: A-Z a-z 0-9 - . _ ~ stay, and '/'
 * too when keep_slash; everything else becomes %XX. -1 if it does not fit.
 */
int		 s3_uri_encode(const char *s, bool keep_slash, char *out,
		    size_t outlen);
/* s3_uri_encode into a string of its own; NULL when out of memory. */
char		*s3_uri_dup(const char *s, bool keep_slash);

/*
 * Part layout of every multipart upload: parts 1..1000 are base bytes,
 * the next thousand twice that, and so on (at most S3_MAX_PART), so that
 * 10,000 parts of a 5 MiB base hold about 5 TiB. Parts are numbered from 1.
 */
uint64_t	 s3_part_len(uint64_t base, uint32_t n);
uint64_t	 s3_part_start(uint64_t base, uint32_t n);
/* The part holding byte off; 0 if it lies beyond the last part. */
uint32_t	 s3_part_at(uint64_t base, uint64_t off);
/* How many parts an object of size bytes takes (0 for none). */
uint32_t	 s3_part_count(uint64_t base, uint64_t size);

/* --------------------------------------------------------- s3_record.c */

/*
 * A pending record: which objects of a spooled dump still wait for the
 * store, and which multipart uploads of it are to be aborted first. The
 * host's outbox keeps it ("pending" in the dump's spool folder) as the
 * fields s3_record_fields gives; s3_record_from_fields reads them back.
 */
#define S3_REC_MAXOBJ	8
#define S3_REC_MAXSTALE	16

struct s3_rec_obj {
	char		 file[32];	/* spool file in the dump's folder */
	char		*key;
	char		*ikey;		/* incomplete name; NULL: none known */
	uint64_t	 size;
	uint64_t	 expected;	/* size before a cut; 0: not cut */
	bool		 done;
	bool		 note;		/* manifest: drop the pending note */
	/*
	 * Still arriving when the record was written: no size yet. Found
	 * so, the server that wrote it died in the middle of the dump.
	 */
	bool		 arriving;
};

/* A multipart upload left behind: key and id. */
struct s3_rec_stale {
	char		*key;
	char		*id;
};

struct s3_record {
	char		*endpoint;
	char		*bucket;
	uint64_t	 dump_id;
	char		 client[64];
	int64_t		 since;		/* when the dump went pending */
	struct s3_rec_obj obj[S3_REC_MAXOBJ];
	unsigned	 nobj;
	struct s3_rec_stale stale[S3_REC_MAXSTALE];
	unsigned	 nstale;
};

/* Room for the fields of any record: the head, stale pairs, objects. */
#define S3_REC_MAXFIELDS	(5 + 2 * S3_REC_MAXSTALE + 7 * S3_REC_MAXOBJ)
#define S3_REC_MAXNUMS		(3 + 2 * S3_REC_MAXOBJ)

/* A record as fields; the values point into rec and nums. */
struct s3_fields {
	struct nds_field f[S3_REC_MAXFIELDS];
	size_t		 n;
	char		 nums[S3_REC_MAXNUMS][24];
	unsigned	 nnums;
};

/* The fields of rec, valid while rec and fb are. */
void		 s3_record_fields(const struct s3_record *rec,
		    struct s3_fields *fb);
/*
 * The record the fields say (a copy: the fields may go). -1 and why in
 * err on anything unexpected; unknown names are a later version's.
 */
int		 s3_record_from_fields(const struct nds_field *f, size_t n,
		    struct s3_record *rec, char *err, size_t errlen);
/* -1 when full or out of memory. */
int		 s3_record_add_stale(struct s3_record *rec, const char *key,
		    const char *id);
/*
 * The spool file of o holds only have bytes, fewer than o->size: from now
 * on o is those bytes under the object's incomplete name (o->ikey, else
 * the key with S3_INCOMPLETE appended unless it ends in it), and
 * o->expected keeps the size the record first claimed. 1 when o changed,
 * 0 when have is not short, -1 (o unchanged, errno ENAMETOOLONG or
 * ENOMEM) when there is no incomplete name to go to.
 */
int		 s3_record_cut(struct s3_rec_obj *o, uint64_t have);
void		 s3_record_del_stale(struct s3_record *rec, unsigned i);
void		 s3_record_free(struct s3_record *rec);

/* ---------------------------------------------------------- s3_creds.c */

/* A set of credentials, each string wiped before it is freed. */
struct s3_secret {
	char		*access_key;
	char		*secret_key;
	char		*session_token;	/* NULL: none */
};

/* The credentials of a sink: the environment's, or a file's. */
struct s3_creds {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	const char		*path;		/* credentials_file; NULL: env */
	const char		*profile;
	pthread_mutex_t		 lock;		/* of what follows */
	struct s3_secret	 cur;
	struct stat		 seen;		/* the file as last read */
	time_t			 looked;	/* CLOCK_MONOTONIC s: last stat */
	bool			 reading;	/* a thread reads the file */
	char			 said[NDS_ERRBUF_SIZE]; /* a passing failure
						 * logged; "" none */
};
/* The longest session token: the request's header holds it. */
#define S3_TOKEN_LEN_MAX	8000

/* Read them (path NULL or "": the environment's); -1 and err. */
int		 s3_creds_init(struct s3_creds *, const struct nds_host *,
		    struct nds_host_ctx *, const char *path,
		    const char *profile, char *err);
void		 s3_creds_fini(struct s3_creds *);
/*
 * A copy of the credentials for one request (the file read again first
 * if it changed), the caller's to s3_secret_clear; -1: out of memory.
 */
int		 s3_creds_get(struct s3_creds *, struct s3_secret *);
void		 s3_secret_clear(struct s3_secret *);
/* No blank, no control character: what a key id or a region may hold. */
bool		 s3_printable(const char *);

/* ----------------------------------------------------------- s3_http.c */

/* Where and how to talk to the store; read-only once set up. */
struct s3_conf {
	char		*endpoint;	/* as configured, for messages */
	char		*bucket;
	char		*base;		/* URL of the bucket, no '/' at the end */
	char		*copy_prefix;	/* "/bucket/", x-amz-copy-source */
	char		 sigv4[96];	/* "aws:amz:REGION:s3" */
	struct s3_creds	*creds;
	const char	*ca_file;
	bool		 verify;
	long		 connect_timeout;	/* seconds */
	long		 stall_timeout;		/* seconds below 1 KiB/s */
	unsigned	 retries;	/* tries after the first */
	uint64_t	 part_size;	/* base of the part layout */
};

/* How a request ended, after its retries. */
enum s3_status {
	S3_OK = 0,
	S3_AGAIN,	/* the store is down, slow or busy: try later */
	S3_DENIED,	/* it refused (403, 404, other 4xx): final for now */
	S3_LOCAL,	/* our side: reading the spool, out of memory */
	S3_STOPPED,	/* the sink is shutting down */
};

/* What a request sends: memory, or a range of a file, or nothing. */
struct s3_src {
	const unsigned char	*buf;	/* or NULL: read fd */
	int			 fd;
	uint64_t		 off;	/* of the range in the file */
	uint64_t		 len;
	uint64_t		 pos;	/* bytes handed to curl so far */
	/*
	 * The file holds every byte of the range: an early end fails the
	 * request (ENODATA) instead of reading as a hole, as it does for a
	 * spool that is still being written.
	 */
	bool			 exact;
	int			 error;	/* errno of a failed read */
};

/* The start of a reply (its XML). */
struct s3_reply {
	char		 body[16384];
	size_t		 len;
	bool		 too_long;	/* more came: the transfer was cut */
};

/* One thread's connection to the store. */
struct s3_client {
	CURL			*h;
	const struct s3_conf	*conf;
	bool			(*stop)(void *);	/* NULL: never stopped */
	void			*stop_arg;
	unsigned		 seed;	/* for the jitter */
	long			 http;	/* of the last request */
	char			 code[64];	/* S3 error code, or "" */
	char			 err[NDS_ERRBUF_SIZE];
	struct s3_reply		 reply;	/* of the last request */
};

struct s3_part {
	char		 etag[S3_ETAG_MAX];
	uint64_t	 len;		/* as uploaded */
	bool		 done;
	bool		 dirty;		/* changed after it was sent */
};

/* Requests end (S3_STOPPED) soon once stop(stop_arg) says so. */
int		 s3_client_init(struct s3_client *, const struct s3_conf *,
		    bool (*stop)(void *), void *stop_arg);
void		 s3_client_fini(struct s3_client *);
enum s3_status	 s3_put(struct s3_client *, const char *key, struct s3_src *);
enum s3_status	 s3_mpu_create(struct s3_client *, const char *key,
		    char *upload_id, size_t idlen);
enum s3_status	 s3_mpu_part(struct s3_client *, const char *key,
		    const char *upload_id, uint32_t n, struct s3_src *,
		    char etag[S3_ETAG_MAX]);
/* Server-side copy of from to key, up to 5 GiB. */
enum s3_status	 s3_copy(struct s3_client *, const char *key,
		    const char *from);
enum s3_status	 s3_mpu_complete(struct s3_client *, const char *key,
		    const char *upload_id, const struct s3_part *, uint32_t n);
enum s3_status	 s3_mpu_abort(struct s3_client *, const char *key,
		    const char *upload_id);
enum s3_status	 s3_delete(struct s3_client *, const char *key);
/* Told a multipart upload's id as soon as the store gave it. */
struct s3_begun {
	void		(*fn)(void *arg, const char *upload_id);
	void		*arg;
};
/*
 * Upload size bytes of fd (from offset 0) to key: one PUT up to the first
 * part's size, else a multipart upload that is aborted if it fails. The
 * file must hold all size bytes (S3_LOCAL if it ends before). begun (may
 * be NULL) hears of the multipart upload before its first part, so that
 * a process killed before the end can leave word of it; one that could
 * not be aborted is left in *stale (malloc'd).
 */
enum s3_status	 s3_upload_fd(struct s3_client *, const char *key, int fd,
		    uint64_t size, const struct s3_begun *begun, char **stale);

/* ------------------------------------------------- the module's own */

#define NAME_LEN	96	/* of an object's {name} */

/* The options, as the host fills them (see s3_options in s3.c). */
struct s3_config {
	const char	*endpoint;
	const char	*region;
	const char	*bucket;
	const char	*prefix;
	bool		 path_style;
	const char	*key_template;
	const char	*collector;
	const char	*credentials_file;
	const char	*profile;
	const char	*ca_file;
	bool		 verify;
	int64_t		 part_size;
	int64_t		 max_inflight_parts;
	int64_t		 upload_threads;
	int64_t		 connect_timeout;
	int64_t		 stall_timeout;
	int64_t		 retries;
	bool		 spool;
	const char	*spool_dir;
	int64_t		 spool_min_free;
	int64_t		 retry_interval;
	int64_t		 retry_max_interval;
};

/* One per [sink] section. */
struct s3_sink {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	const struct s3_config	*cfg;		/* the host's, until destroy */
	struct s3_conf		 conf;
	const char		*collector;
	char			 hostname[256];	/* the default collector */
	int			 spool_fd;
	unsigned		 max_inflight;
	struct nds_pool		*pool;		/* each thread an s3_client */
	/* The {name} a complete dump's vmcore and archive got last. */
	pthread_mutex_t		 lock;		/* of guess, dumps: shared */
	char			 guess[NDS_OBJ_NKINDS][NAME_LEN];
	struct s3_dump		*dumps;		/* between begin and end */
	/* Whether the last request failed: new dumps then only spool. */
	atomic_bool		 down;
	struct s3_client	 rcl;		/* s3_resume's; h NULL: none */
	struct s3_creds		 creds;		/* conf.creds, once read */
};

/* One per dump. */
struct s3_dump {
	struct s3_sink		*s;
	const struct nds_dump	*dump;
	char			 token[S3_TOKEN_MAX];	/* spool folder */
	int			 dirfd;		/* -1: nothing spooled */
	int			 lockfd;	/* held while the dump runs */
	bool			 spool_only;	/* the store was down at begin */
	unsigned		 seq;		/* numbers spool files */
	char			 date[32], day[16], id[24];
	struct s3_client	 cl;		/* close's; h NULL: none yet */
	bool			 warned;
	struct s3_dump		*next;		/* in s->dumps */
	/*
	 * How many copies of this dump (other chains of its route into
	 * this sink) began before this one: they share its keys.
	 */
	unsigned		 copy;
	/*
	 * What is left for s3_resume: objects kept in the spool, uploads
	 * to abort. endpoint and bucket stay NULL until end writes it.
	 */
	struct s3_record	 rec;
	/*
	 * The objects arriving into the spool (a vmcore, a tarball), named
	 * in the folder's record while they do (s3_dump.c record_interim).
	 */
	struct s3_obj		*arriving;
	bool			 arriving_said;	/* a record failed: said */
	/*
	 * Of rec, arriving and the folder's record: an upload thread
	 * writes the record too, with the id of an upload it created.
	 */
	pthread_mutex_t		 rec_lock;
};

/* One per object of a dump. */
struct s3_obj {
	struct s3_dump		*d;
	enum nds_object_kind	 kind;
	char			 file[32];	/* spool file */
	int			 fd;		/* spool, or -1 */
	struct s3_obj		*arriving_next;	/* in d->arriving */
	char			*arriving_key;	/* its incomplete key there */
	char			*arriving_upload; /* to abort, if it stays */
	bool			 failed;
	bool			 cut;		/* closed as a copy cut short */
	char			 err[NDS_ERRBUF_SIZE];
	uint64_t		 next_check;	/* of free space */
	int			 sync_err;	/* of a failed fdatasync */

	/* Shared with the upload threads, under lock. */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	uint64_t		 spool_end;	/* [0, spool_end) is in the spool */
	uint64_t		 pos;		/* the stream got this far */
	bool			 stream;	/* parts leave while it arrives */
	bool			 final;		/* closing: size is known */
	uint64_t		 size;
	char			 key[S3_KEY_MAX + 1];	/* of the upload */
	char			*upload_id;
	bool			 creating;
	bool			 up_failed;
	char			 up_err[NDS_ERRBUF_SIZE];
	struct s3_part		*parts;
	uint32_t		 partcap;
	uint32_t		 nsub;		/* parts 1..nsub went out */
	unsigned		 inflight;
	/* Memory parts: the one being filled. */
	unsigned char		*cur;
	size_t			 curcap;
	uint32_t		 curn;
};

/* Whether the object is still written to its spool file. */
static inline bool
s3_spooling(const struct s3_obj *o)
{
	return o->fd != -1 && o->spool_end == UINT64_MAX;
}

/* s3_upload.c */
void		 s3_health(struct s3_sink *, enum s3_status, const char *err);
int		 s3_thread_init(void *instance, void **client);
void		 s3_thread_fini(void *instance, void *client);
struct s3_client *s3_dump_client(struct s3_dump *);
int		 s3_finish_upload(struct s3_obj *, uint64_t size);
void		 s3_drop_upload(struct s3_obj *);
int		 s3_move_object(struct s3_obj *, const char *key,
		    uint64_t size, char *err);
void		 s3_abort_upload(struct s3_obj *);
int		 s3_cur_reserve(struct s3_obj *, uint64_t need);
int		 s3_spool_stop(struct s3_obj *, const char *why);
void		 s3_obj_fail(struct s3_obj *, char *err, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
enum nds_result	 s3_write(void *object_state, uint64_t offset,
		    const void *buf, size_t len, char err[NDS_ERRBUF_SIZE]);
enum nds_result	 s3_hole(void *object_state, uint64_t offset, uint64_t len,
		    char err[NDS_ERRBUF_SIZE]);

/* s3_dump.c */
enum nds_result	 s3_begin(void *instance, const struct nds_dump *,
		    const struct nds_stage *next, void **dump_state,
		    char err[NDS_ERRBUF_SIZE]);
enum nds_result	 s3_open(void *dump_state, enum nds_object_kind,
		    void **object_state, char err[NDS_ERRBUF_SIZE]);
enum nds_result	 s3_close(void *object_state, const struct nds_object *,
		    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE]);
enum nds_result	 s3_end(void *dump_state, char err[NDS_ERRBUF_SIZE]);
/* " (upload pending, spooled in DIR/TOKEN)", what "where" says meanwhile. */
void		 s3_pending_note(const struct s3_sink *, const char *token,
		    char *buf, size_t len);
/* Put rec in token's spool folder as its pending record (outbox_put). */
void		 s3_arriving_upload(struct s3_obj *, const char *upload_id);
int		 s3_record_put(struct s3_sink *, const char *token,
		    const struct s3_record *rec, char *err);

/* s3_resume.c */
enum nds_result	 s3_resume(void *instance, const char *token, int dirfd,
		    const struct nds_field *fields, size_t nfields,
		    char err[NDS_ERRBUF_SIZE]);

#endif /* ND_S3_H */
