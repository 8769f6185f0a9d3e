/* SPDX-License-Identifier: BSD-2-Clause */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "dump.h"
#include "log.h"
#include "manifest.h"
#include "option.h"
#include "outbox.h"
#include "record.h"
#include "sink_load.h"
#include "space.h"
#include "workpool.h"

static void host_log(struct nds_host_ctx *, enum nds_log_level,
    const char *, ...) __attribute__((format(printf, 3, 4)));
static int host_outbox_open(struct nds_host_ctx *, const char *, uint64_t,
    uint64_t, char[NDS_ERRBUF_SIZE]);
static int host_outbox_put(struct nds_host_ctx *, const char *,
    const struct nds_field *, size_t, char[NDS_ERRBUF_SIZE]);
static void host_outbox_kick(struct nds_host_ctx *);
static bool host_outbox_stopping(struct nds_host_ctx *);
static ssize_t host_read_file(int, const char *, void *, size_t,
    char[NDS_ERRBUF_SIZE]);
static struct nds_pool *host_pool_open(struct nds_host_ctx *, unsigned,
    nd_pool_init_fn, nd_pool_fini_fn, void *, char[NDS_ERRBUF_SIZE]);

const struct nds_host nd_host_api = {
	.abi_major = NDS_ABI_MAJOR,
	.abi_minor = NDS_ABI_MINOR,
	.struct_size = sizeof(struct nds_host),
	.log = host_log,
	.dump_number = nd_dump_number,
	.object_name = nd_object_name,
	.spool_open = nd_spool_open,
	.outbox_open = host_outbox_open,
	.outbox_put = host_outbox_put,
	.outbox_kick = host_outbox_kick,
	.outbox_stopping = host_outbox_stopping,
	.read_file = host_read_file,
	.pool_open = host_pool_open,
	.pool_submit = nd_pool_submit,
	.pool_start = nd_pool_start,
	.pool_close = nd_pool_close,
	.space_ok = nd_space_ok_fd,
	.manifest_read = nd_manifest_read,
	.manifest_facts = nd_manifest_facts,
	.dir_usable = nd_dir_usable,
	.dir_open = nd_dir_open,
	.manifest_unfinished = nd_manifest_unfinished,
};

static void
host_log(struct nds_host_ctx *ctx, enum nds_log_level level, const char *fmt,
    ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	logit((int)level, "%s: %s", ctx ? ctx->prefix : "sink", msg);
}

/* The outbox is the instance's, opened from its create. */
static int
host_outbox_open(struct nds_host_ctx *ctx, const char *root,
    uint64_t retry_ms, uint64_t retry_max_ms, char err[NDS_ERRBUF_SIZE])
{
	if (ctx->outbox != NULL) {
		snprintf(err, NDS_ERRBUF_SIZE, "outbox %s: this sink has an "
		    "outbox already", root);
		return -1;
	}
	ctx->outbox = nd_outbox_open(root, retry_ms, retry_max_ms,
	    ctx->prefix, err, NDS_ERRBUF_SIZE);
	return ctx->outbox != NULL ? 0 : -1;
}

static int
host_outbox_put(struct nds_host_ctx *ctx, const char *entry,
    const struct nds_field *fields, size_t nfields, char err[NDS_ERRBUF_SIZE])
{
	if (ctx->outbox == NULL) {
		snprintf(err, NDS_ERRBUF_SIZE, "%s: no outbox open", entry);
		return -1;
	}
	return nd_outbox_put(ctx->outbox, entry, fields, nfields, err,
	    NDS_ERRBUF_SIZE);
}

static ssize_t
host_read_file(int dirfd, const char *name, void *buf, size_t size,
    char err[NDS_ERRBUF_SIZE])
{
	ssize_t n;

	if ((n = nd_read_file(dirfd, name, buf, size)) == -1)
		snprintf(err, NDS_ERRBUF_SIZE, "%s: %s", name,
		    errno == EFBIG ? "not a regular file of the size expected" :
		    strerror(errno));
	return n;
}

/* The pool's log lines name the sink, as the module's own do. */
static struct nds_pool *
host_pool_open(struct nds_host_ctx *ctx, unsigned threads,
    nd_pool_init_fn init, nd_pool_fini_fn fini, void *arg,
    char err[NDS_ERRBUF_SIZE])
{
	return nd_pool_open(threads, init, fini, arg, ctx != NULL ?
	    ctx->prefix : "sink", err, NDS_ERRBUF_SIZE);
}

static void
host_outbox_kick(struct nds_host_ctx *ctx)
{
	if (ctx->outbox != NULL)
		nd_outbox_kick(ctx->outbox);
}

static bool
host_outbox_stopping(struct nds_host_ctx *ctx)
{
	return ctx->outbox != NULL && nd_outbox_stopping(ctx->outbox);
}

/* The folder of the running executable, to recognise the build tree. */
static int
running_from_build_tree(void)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	return strcmp(exe, ND_BUILD_BIN_DIR) == 0;
}

static int
valid_module_name(const char *name)
{
	const char *p;

	if (*name == '\0' || strlen(name) > 64)
		return 0;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_'))
			return 0;
	return 1;
}

/* How large a descriptor of a given minor version is. */
static size_t
descriptor_size(uint32_t minor)
{
	(void)minor;	/* 2.1 to 2.4 grew other structs, not this one */
	return sizeof(struct nds_sink_module);
}

/*
 * The size and alignment of an option's field. Alignment is the type's,
 * not its size: an int64_t in a struct is 4-aligned on i386.
 */
static size_t
opt_field_size(enum nds_opt_type t, size_t *align)
{
	switch (t) {
	case NDS_OPT_STRING:
		*align = _Alignof(const char *);
		return sizeof(const char *);
	case NDS_OPT_INT:
	case NDS_OPT_SIZE:
		*align = _Alignof(int64_t);
		return sizeof(int64_t);
	case NDS_OPT_BOOL:
		*align = _Alignof(bool);
		return sizeof(bool);
	case NDS_OPT_ENUM:
		*align = _Alignof(int);
		return sizeof(int);
	}
	*align = 1;
	return SIZE_MAX;
}

/* Every option's field lies inside the config struct, aligned. */
static int
check_options(const struct nds_sink_module *d, const char *path, char *err,
    size_t errlen)
{
	const struct nds_option *o;
	size_t size, align;

	for (o = d->options; o != NULL && o->name != NULL; o++) {
		size = opt_field_size(o->type, &align);
		if (size == SIZE_MAX || o->offset > d->config_size ||
		    d->config_size - o->offset < size ||
		    o->offset % align != 0) {
			snprintf(err, errlen, "%s: option '%s' does not fit "
			    "the module's config struct (%zu bytes)", path,
			    o->name, d->config_size);
			return -1;
		}
	}
	return 0;
}

/*
 * Check the descriptor before reading anything past the version fields:
 * they protect the rest.
 */
static int
check_abi(const struct nds_sink_module *d, const char *name,
    const char *path, char *err, size_t errlen)
{
	if (d->abi_major != NDS_ABI_MAJOR) {
		snprintf(err, errlen, "%s: module built for sink ABI %u.%u, "
		    "this server speaks %u.%u; rebuild the module against "
		    "this server's netdump/sink.h", path, d->abi_major,
		    d->abi_minor, NDS_ABI_MAJOR, NDS_ABI_MINOR);
		return -1;
	}
	if (d->abi_minor > NDS_ABI_MINOR) {
		snprintf(err, errlen, "%s: module needs sink ABI %u.%u, this "
		    "server only offers %u.%u; upgrade the server", path,
		    d->abi_major, d->abi_minor, NDS_ABI_MAJOR, NDS_ABI_MINOR);
		return -1;
	}
	if (d->struct_size < descriptor_size(d->abi_minor)) {
		snprintf(err, errlen, "%s: descriptor is %u bytes, ABI %u.%u "
		    "needs %zu", path, d->struct_size, d->abi_major,
		    d->abi_minor, descriptor_size(d->abi_minor));
		return -1;
	}
	if (d->name == NULL || strcmp(d->name, name) != 0) {
		snprintf(err, errlen, "%s: module calls itself '%s', "
		    "expected '%s'", path, d->name ? d->name : "(null)", name);
		return -1;
	}
	if (check_options(d, path, err, errlen) == -1)
		return -1;
	if (d->create == NULL || d->destroy == NULL || d->begin == NULL ||
	    d->open == NULL || d->write == NULL || d->hole == NULL ||
	    d->close == NULL || d->end == NULL) {
		snprintf(err, errlen, "%s: module lacks a required operation",
		    path);
		return -1;
	}
	if (d->kinds >> NDS_OBJ_NKINDS != 0) {
		snprintf(err, errlen, "%s: module handles object kinds this "
		    "server does not know (kinds 0x%x)", path, d->kinds);
		return -1;
	}
	return 0;
}

struct nd_module *
nd_module_load(const char *sink_dir, const char *name, char *err,
    size_t errlen)
{
	const char *dirs[3];
	char path[PATH_MAX], searched[1024] = "";
	struct nd_module *m = NULL;
	const struct nds_sink_module *desc;
	void *handle = NULL;
	size_t ndirs = 0, i;

	if (!valid_module_name(name)) {
		snprintf(err, errlen, "invalid module name '%s'", name);
		return NULL;
	}
	if (sink_dir != NULL)
		dirs[ndirs++] = sink_dir;
	else {
		if (running_from_build_tree())
			dirs[ndirs++] = ND_SINK_BUILD_DIR;
		dirs[ndirs++] = ND_SINK_INSTALL_DIR;
	}
	for (i = 0; i < ndirs; i++) {
		snprintf(path, sizeof(path), "%s/%s.so", dirs[i], name);
		if (access(path, R_OK) == 0)
			break;
		if (searched[0] != '\0')
			strncat(searched, ", ", sizeof(searched) -
			    strlen(searched) - 1);
		strncat(searched, dirs[i], sizeof(searched) -
		    strlen(searched) - 1);
	}
	if (i == ndirs) {
		snprintf(err, errlen, "sink module '%s' not found (searched "
		    "%s)", name, searched);
		return NULL;
	}
	/* RTLD_NODELETE: library threads (zstd, curl) may outlive us. */
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (handle == NULL) {
		snprintf(err, errlen, "cannot load %s: %s", path, dlerror());
		return NULL;
	}
	desc = dlsym(handle, NDS_SINK_SYMBOL);
	if (desc == NULL) {
		snprintf(err, errlen, "%s: no '%s' symbol: not a netdump-server "
		    "sink module", path, NDS_SINK_SYMBOL);
		goto fail;
	}
	if (check_abi(desc, name, path, err, errlen) == -1)
		goto fail;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->name = strdup(name)) == NULL ||
	    (m->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	m->handle = handle;
	m->desc = desc;
	atomic_init(&m->refs, 1);
	return m;
fail:
	if (m != NULL) {
		free(m->name);
		free(m->path);
		free(m);
	}
	dlclose(handle);
	return NULL;
}

void
nd_module_unload(struct nd_module *m)
{
	if (m == NULL || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	dlclose(m->handle);
	free(m->name);
	free(m->path);
	free(m);
}

void
nd_module_print_options(const struct nd_module *m, FILE *fp)
{
	const struct nds_sink_module *d = m->desc;
	int k;

	fprintf(fp, "module %s %s (sink ABI %u.%u): %s\n", d->name,
	    d->version ? d->version : "", d->abi_major, d->abi_minor,
	    d->description ? d->description : "");
	fprintf(fp, "  loaded from %s\n", m->path);
	if (d->caps & NDS_CAP_ORDERED)
		fprintf(fp, "  needs extents in increasing offset order\n");
	if ((d->caps & NDS_CAP_TRANSFORM) && d->kinds != 0) {
		fprintf(fp, "  transforms only:");
		for (k = 0; k < NDS_OBJ_NKINDS; k++)
			if (d->kinds & NDS_KIND(k))
				fprintf(fp, " %s", nds_object_name(k));
		fprintf(fp, " (the other objects go past it)\n");
	}
	nd_options_help(d->options, fp);
}

void
nd_config_free(const struct nds_sink_module *d, void *config)
{
	const struct nds_option *o;

	if (config == NULL)
		return;
	for (o = d->options; o != NULL && o->name != NULL; o++)
		if (o->type == NDS_OPT_STRING)
			free(*(char **)((char *)config + o->offset));
	free(config);
}

void *
nd_config_build(const struct nds_sink_module *d, const struct nd_kv *kv,
    size_t nkv, size_t *bad, char *why, size_t whylen)
{
	const struct nds_option *o;
	void *config;
	size_t k;

	*bad = nkv;
	/* One byte at least: a module without options still gets one. */
	if ((config = calloc(1, d->config_size + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	for (o = d->options; o != NULL && o->name != NULL; o++) {
		if (o->default_value == NULL ||
		    nd_option_set(o, o->default_value, config, why,
		    whylen) == 0)
			continue;
		snprintf(why + strlen(why), whylen - strlen(why), " (the "
		    "default of option '%s')", o->name);
		goto fail;
	}
	for (k = 0; k < nkv; k++) {
		for (o = d->options; o != NULL && o->name != NULL; o++)
			if (strcmp(o->name, kv[k].key) == 0)
				break;
		if (o == NULL || o->name == NULL) {
			*bad = k;
			snprintf(why, whylen, "no option '%s'", kv[k].key);
			goto fail;
		}
		if (nd_option_set(o, kv[k].value, config, why, whylen) ==
		    -1) {
			*bad = k;
			goto fail;
		}
	}
	return config;
fail:
	nd_config_free(d, config);
	return NULL;
}

/*
 * Check a [sink] section against the module's option table: unknown keys
 * are errors naming the file and line; defaults fill what is not set.
 */
static void *
build_config(const struct nd_conf *conf, const struct nd_sink_conf *sc,
    const struct nd_module *m, char *err, size_t errlen)
{
	const struct nds_sink_module *d = m->desc;
	const struct nds_option *o = d->options;
	char why[256] = "";
	void *config;
	size_t bad;

	if ((config = nd_config_build(d, sc->opts, sc->nopts, &bad, why,
	    sizeof(why))) != NULL)
		return config;
	if (bad == sc->nopts)
		snprintf(err, errlen, "module %s: %s", m->name, why);
	else {
		while (o != NULL && o->name != NULL &&
		    strcmp(o->name, sc->opts[bad].key) != 0)
			o++;
		if (o == NULL || o->name == NULL)
			snprintf(err, errlen, "%s:%d: sink '%s' (module %s) "
			    "has no option '%s' (netdump-server -H %s lists "
			    "them)", conf->source, sc->opts[bad].lineno,
			    sc->name, m->name, sc->opts[bad].key, m->name);
		else
			snprintf(err, errlen, "%s:%d: sink '%s' option '%s': "
			    "%s", conf->source, sc->opts[bad].lineno, sc->name,
			    sc->opts[bad].key, why);
	}
	return NULL;
}

/* Module name of set, loaded now or taken from prev (NULL: none). */
static struct nd_module *
sinkset_module(struct nd_sinkset *set, const struct nd_sinkset *prev,
    const char *sink_dir, const char *name, char *err, size_t errlen)
{
	struct nd_module *m = NULL, **nm;
	size_t i;

	for (i = 0; i < set->nmodules; i++)
		if (strcmp(set->modules[i]->name, name) == 0)
			return set->modules[i];
	for (i = 0; prev != NULL && i < prev->nmodules && m == NULL; i++)
		if (strcmp(prev->modules[i]->name, name) == 0) {
			m = prev->modules[i];
			atomic_fetch_add(&m->refs, 1);
		}
	if (m == NULL && (m = nd_module_load(sink_dir, name, err, errlen)) ==
	    NULL)
		return NULL;
	nm = reallocarray(set->modules, set->nmodules + 1, sizeof(*nm));
	if (nm == NULL) {
		nd_module_unload(m);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	set->modules = nm;
	set->modules[set->nmodules++] = m;
	return m;
}

/* Whether two configs of module d hold the same values. */
static bool
config_same(const struct nds_sink_module *d, const void *a, const void *b)
{
	const struct nds_option *o;
	const char *sa, *sb;
	size_t size, align;

	for (o = d->options; o != NULL && o->name != NULL; o++) {
		if (o->type == NDS_OPT_STRING) {
			sa = *(char *const *)((const char *)a + o->offset);
			sb = *(char *const *)((const char *)b + o->offset);
			if ((sa == NULL) != (sb == NULL) ||
			    (sa != NULL && strcmp(sa, sb) != 0))
				return false;
			continue;
		}
		size = opt_field_size(o->type, &align);
		if (memcmp((const char *)a + o->offset,
		    (const char *)b + o->offset, size) != 0)
			return false;
	}
	return true;
}

/*
 * The sink of prev that a [sink] section, whose config is built, may go
 * on as: the same name and module, the same option values, not retired.
 */
static struct nd_sink *
sink_kept(const struct nd_sinkset *prev, const struct nd_sink_conf *sc,
    const struct nd_module *m, const void *config)
{
	struct nd_sink *p;

	if (prev == NULL || (p = nd_sinkset_find(prev, sc->name)) == NULL ||
	    p->module != m || atomic_load(&p->dead) ||
	    !config_same(m->desc, p->config, config))
		return NULL;
	return p;
}

/* Drop a set's reference; the last one destroys the instance. */
static void
sink_free(struct nd_sink *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	/* Its thread calls the instance: it goes first. */
	nd_outbox_free(s->ctx.outbox);
	s->ctx.outbox = NULL;
	if (s->instance != NULL)
		s->module->desc->destroy(s->instance);
	if (s->module != NULL)
		nd_config_free(s->module->desc, s->config);
	free(s->name);
	free(s);
}

struct nd_sinkset *
nd_sinkset_create(const struct nd_conf *conf, const struct nd_sinkset *prev,
    char *err, size_t errlen)
{
	struct nd_sinkset *set;
	struct nd_sink *s = NULL, *kept;
	char serr[NDS_ERRBUF_SIZE], why[768];
	size_t i;

	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->sinks = calloc(conf->nsinks + 1, sizeof(*set->sinks))) ==
	    NULL || (conf->server.sink_dir != NULL && (set->sink_dir =
	    strdup(conf->server.sink_dir)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	set->worker_nice = conf->server.worker_nice;
	if (prev != NULL && (prev->worker_nice != set->worker_nice ||
	    (prev->sink_dir == NULL) != (set->sink_dir == NULL) ||
	    (prev->sink_dir != NULL && strcmp(prev->sink_dir,
	    set->sink_dir) != 0)))
		prev = NULL;
	for (i = 0; i < conf->nsinks; i++) {
		const struct nd_sink_conf *sc = &conf->sinks[i];
		struct nd_module *m;
		enum nds_result r;

		m = sinkset_module(set, prev, conf->server.sink_dir,
		    sc->module, why, sizeof(why));
		if (m == NULL) {
			snprintf(err, errlen, "%s:%d: [sink %s]: %s",
			    conf->source, sc->lineno, sc->name, why);
			goto fail;
		}
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		atomic_init(&s->refs, 1);
		if ((s->name = strdup(sc->name)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		s->module = m;
		snprintf(s->ctx.prefix, sizeof(s->ctx.prefix), "sink %s (%s)",
		    sc->name, sc->module);
		s->ctx.dumpdir_fd = -1;
		if ((s->config = build_config(conf, sc, m, err, errlen)) ==
		    NULL)
			goto fail;
		if ((kept = sink_kept(prev, sc, m, s->config)) != NULL) {
			atomic_fetch_add(&kept->refs, 1);
			set->sinks[set->nsinks++] = kept;
			set->nkept++;
			/* Never made: nothing of it to destroy. */
			nd_config_free(m->desc, s->config);
			free(s->name);
			free(s);
			s = NULL;
			continue;
		}
		serr[0] = '\0';
		r = m->desc->create(&nd_host_api, &s->ctx, s->config,
		    &s->instance, serr);
		if (r != NDS_OK) {
			s->instance = NULL;
			snprintf(err, errlen, "%s:%d: sink '%s' (module %s): %s",
			    conf->source, sc->lineno, sc->name, sc->module,
			    serr[0] ? serr : "create failed");
			goto fail;
		}
		if (s->ctx.outbox != NULL && m->desc->resume == NULL) {
			snprintf(err, errlen, "%s:%d: sink '%s' (module %s): "
			    "opens an outbox but has no resume operation",
			    conf->source, sc->lineno, sc->name, sc->module);
			goto fail;
		}
		if (s->ctx.outbox != NULL)
			nd_outbox_bind(s->ctx.outbox, m->desc->resume,
			    s->instance);
		set->sinks[set->nsinks++] = s;
		s = NULL;
	}
	if (nd_sinkset_add_chains(set, conf, err, errlen) == -1)
		goto fail;
	return set;
fail:
	sink_free(s);
	nd_sinkset_free(set);
	return NULL;
}

void
nd_sinkset_free(struct nd_sinkset *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nchains; i++) {
		free(set->chains[i]->text);
		free(set->chains[i]->stages);
		free(set->chains[i]);
	}
	free(set->chains);
	for (i = 0; i < set->nsinks; i++)
		sink_free(set->sinks[i]);
	for (i = 0; i < set->nmodules; i++)
		nd_module_unload(set->modules[i]);
	free(set->sinks);
	free(set->modules);
	free(set->sink_dir);
	free(set);
}

void
nd_sinkset_start(struct nd_sinkset *set, int dumpdir_fd)
{
	char err[NDS_ERRBUF_SIZE];
	size_t i;

	for (i = 0; i < set->nsinks; i++) {
		struct nd_sink *s = set->sinks[i];
		enum nds_result r = NDS_OK;
		int e;

		if (s->started)
			continue;
		s->started = true;
		s->ctx.dumpdir_fd = dumpdir_fd;
		err[0] = '\0';
		if (s->module->desc->start != NULL)
			r = s->module->desc->start(s->instance, err);
		if (r == NDS_OK && s->ctx.outbox != NULL &&
		    (e = nd_outbox_start(s->ctx.outbox)) != 0) {
			snprintf(err, sizeof(err), "cannot start the outbox "
			    "thread: %s", strerror(e));
			r = NDS_FATAL;
		}
		if (r == NDS_OK)
			continue;
		log_warnx("sink %s (%s): cannot start: %s (sink disabled "
		    "until restart)", s->name, s->module->name, err[0] ? err :
		    "start failed");
		atomic_store(&s->dead, true);
	}
}

bool
nd_sink_is_transform(const struct nd_sink *s)
{
	return (s->module->desc->caps & NDS_CAP_TRANSFORM) != 0;
}

bool
nd_sink_takes(const struct nd_sink *s, enum nds_object_kind kind)
{
	const struct nds_sink_module *d = s->module->desc;

	return !(d->caps & NDS_CAP_TRANSFORM) || d->kinds == 0 ||
	    (d->kinds & NDS_KIND(kind)) != 0;
}

/*
 * A transform that makes the dump one tarball (NDS_CAP_BUNDLE): a second
 * one after it would be handed only that tarball, of a kind it does not
 * take.
 */
static bool
bundles(const struct nd_sink *s)
{
	return nd_sink_is_transform(s) &&
	    (s->module->desc->caps & NDS_CAP_BUNDLE) != 0;
}

/*
 * "zstd | local": every stage a configured sink, every stage but the last
 * a transform, the last one a storing sink.
 */
static struct nd_chain *
chain_build(struct nd_sinkset *set, const struct nd_conf *conf,
    const struct nd_route_conf *r, const char *text, char *err, size_t errlen)
{
	const struct nd_sink *whole = NULL;	/* made the dump a tarball */
	struct nd_chain *c;
	char *copy = NULL, *tok, *save = NULL;
	size_t n = 1, i;
	const char *p;

	for (p = text; *p; p++)
		n += *p == '|';
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->text = strdup(text)) == NULL ||
	    (c->stages = calloc(n, sizeof(*c->stages))) == NULL ||
	    (copy = strdup(text)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (tok = strtok_r(copy, "| \t", &save); tok != NULL;
	    tok = strtok_r(NULL, "| \t", &save)) {
		struct nd_sink *sk = nd_sinkset_find(set, tok);

		if (sk == NULL || c->nstages == n) {
			snprintf(err, errlen, "%s:%d: [route %s] names unknown "
			    "sink '%s'", conf->source, r->lineno, r->name, tok);
			goto fail;
		}
		c->stages[c->nstages++] = sk;
	}
	for (i = 0; i < c->nstages; i++) {
		bool last = i + 1 == c->nstages;

		if (!last && !nd_sink_is_transform(c->stages[i])) {
			snprintf(err, errlen, "%s:%d: [route %s] chain '%s': "
			    "'%s' (module %s) stores dumps, it cannot pass "
			    "them on; only the last stage may", conf->source,
			    r->lineno, r->name, text, c->stages[i]->name,
			    c->stages[i]->module->name);
			goto fail;
		}
		if (last && nd_sink_is_transform(c->stages[i])) {
			snprintf(err, errlen, "%s:%d: [route %s] '%s': '%s' "
			    "(module %s) is a transform; put a storing sink "
			    "after it, e.g. '%s | local'", conf->source,
			    r->lineno, r->name, text, c->stages[i]->name,
			    c->stages[i]->module->name, text);
			goto fail;
		}
		if (!last && bundles(c->stages[i]) && whole != NULL) {
			snprintf(err, errlen, "%s:%d: [route %s] '%s': '%s' "
			    "(module %s) makes a tarball of the dump, but "
			    "after '%s' there is only its tarball: a chain "
			    "holds one such transform", conf->source,
			    r->lineno, r->name, text, c->stages[i]->name,
			    c->stages[i]->module->name, whole->name);
			goto fail;
		}
		if (!last && bundles(c->stages[i]))
			whole = c->stages[i];
	}
	free(copy);
	return c;
fail:
	free(copy);
	if (c != NULL) {
		free(c->text);
		free(c->stages);
		free(c);
	}
	return NULL;
}

int
nd_sinkset_add_chains(struct nd_sinkset *set, const struct nd_conf *conf,
    char *err, size_t errlen)
{
	size_t i, k;

	for (i = 0; i < conf->nroutes; i++) {
		const struct nd_route_conf *r = &conf->routes[i];

		for (k = 0; k < r->nsinks; k++) {
			struct nd_chain *c, **nc;

			if (nd_sinkset_chain(set, r->sinks[k]) != NULL)
				continue;
			c = chain_build(set, conf, r, r->sinks[k], err, errlen);
			if (c == NULL)
				return -1;
			nc = reallocarray(set->chains, set->nchains + 1,
			    sizeof(*nc));
			if (nc == NULL) {
				free(c->text);
				free(c->stages);
				free(c);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			set->chains = nc;
			set->chains[set->nchains++] = c;
		}
	}
	return 0;
}

struct nd_chain *
nd_sinkset_chain(const struct nd_sinkset *set, const char *text)
{
	size_t i;

	for (i = 0; i < set->nchains; i++)
		if (strcmp(set->chains[i]->text, text) == 0)
			return set->chains[i];
	return NULL;
}

struct nd_sink *
nd_sinkset_find(const struct nd_sinkset *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->nsinks; i++)
		if (strcmp(set->sinks[i]->name, name) == 0)
			return set->sinks[i];
	return NULL;
}
