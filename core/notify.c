/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Webhooks (see notify.h). An event becomes at once one delivery per
 * endpoint that takes it: the JSON body and a copy of the endpoint's
 * settings (a reload may free the configuration while it waits). A dump
 * with a signature carries how many dumps of this directory have had it
 * ("count", sigseen.h) and makes a new-signature event the first time.
 * The thread POSTs each delivery, retrying after 1, 2, 4 ... 60 s up to
 * the endpoint's retries. At most MAX_QUEUED deliveries wait: an endpoint
 * that takes a connection and never answers holds the thread for its
 * timeout, and a refusal is an event any sender of HERALDs can cause, so
 * past the bound the oldest refusal goes (delivery_room), and a line says
 * so at most once a minute.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "conf.h"
#include "dump.h"
#include "log.h"
#include "notify.h"
#include "runtime.h"
#include "sink_load.h"
#include "util.h"

#define MAX_QUEUED	256
#define MAX_BACKOFF	60	/* seconds */
#define DROP_LOG_EVERY	60	/* seconds between "queue full" lines */

struct delivery {
	struct delivery	*next;
	char		*name;		/* the [notify] section */
	char		*url, *token, *hmac_key;
	long		 timeout;
	unsigned	 retries, tries;
	time_t		 due;		/* CLOCK_MONOTONIC */
	char		*body;
	bool		 refusal;	/* dropped first when the queue is full */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static bool running, stopping;
static struct delivery *queue, **queue_tail = &queue;
static size_t nqueued;
static uint64_t dropped;
static uint64_t dropped_dumps;	/* of dropped: not refusals */
static time_t drop_logged;	/* CLOCK_MONOTONIC; 0: never */

static time_t
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
delivery_free(struct delivery *d)
{
	free(d->name);
	free(d->url);
	free(d->token);
	free(d->hmac_key);
	free(d->body);
	free(d);
}

/* One webhook dropped for a full queue (under the lock). */
static void
count_drop(void)
{
	time_t now = mono();

	dropped++;
	if (drop_logged != 0 && now - drop_logged < DROP_LOG_EVERY)
		return;
	drop_logged = now;
	log_warnx("notify: %d webhooks wait for a slow or dead endpoint: "
	    "the oldest refusal dropped, or the oldest webhook (%" PRIu64
	    " so far)", MAX_QUEUED, dropped);
}

/*
 * Room in a full queue (under the lock) for an entry that is a refusal or
 * not: the queue's oldest refusal goes (any sender of HERALDs can cause
 * those; a dump's event must not go for them), else a refusal coming in
 * goes itself (false), else the oldest entry.
 */
static bool
delivery_room(bool incoming_refusal)
{
	struct delivery **pp = &queue, *old;

	if (nqueued < MAX_QUEUED)
		return true;
	count_drop();
	while (*pp != NULL && !(*pp)->refusal)
		pp = &(*pp)->next;
	if (*pp == NULL) {
		if (incoming_refusal)
			return false;
		pp = &queue;
	}
	old = *pp;
	if (!old->refusal)
		dropped_dumps++;
	if ((*pp = old->next) == NULL)
		queue_tail = pp;
	delivery_free(old);
	nqueued--;
	return true;
}

/* Queue d to be sent (under the lock), or drop it as delivery_room says. */
static void
delivery_put(struct delivery *d)
{
	if (!delivery_room(d->refusal)) {
		delivery_free(d);
		return;
	}
	d->next = NULL;
	*queue_tail = d;
	queue_tail = &d->next;
	nqueued++;
}

/* Queue a delivery of body to one endpoint (under the lock). */
static void
enqueue(const struct nd_notify_conf *nc, const char *body, bool refusal)
{
	struct delivery *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->name = strdup(nc->name)) == NULL ||
	    (d->url = strdup(nc->url)) == NULL || (d->body = strdup(body)) ==
	    NULL || (nc->token != NULL && (d->token = strdup(nc->token)) ==
	    NULL) || (nc->hmac_key != NULL && (d->hmac_key =
	    strdup(nc->hmac_key)) == NULL)) {
		if (d != NULL)
			delivery_free(d);
		dropped++;
		return;
	}
	d->timeout = (long)nc->timeout;
	d->retries = (unsigned)nc->retries;
	d->due = mono();
	d->refusal = refusal;
	delivery_put(d);
}

/* An event's bit in a [notify] section's events. */
static unsigned
event_bit(const char *event)
{
	return strcmp(event, "complete") == 0 ? ND_EVENT_COMPLETE :
	    strcmp(event, "incomplete") == 0 ? ND_EVENT_INCOMPLETE :
	    ND_EVENT_REFUSED;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/*
 * libcurl's progress callback: abandon a POST when the server stops, so
 * an endpoint that never answers does not hold up the exit for its
 * timeout (up to 300 s).
 */
static int
abandon_if_stopping(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	bool stop;

	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	pthread_mutex_lock(&lock);
	stop = stopping;
	pthread_mutex_unlock(&lock);
	return stop;
}

/* POST once; true on a 2xx answer. */
static bool
post(CURL *c, const struct delivery *d, char *why, size_t whylen)
{
	struct curl_slist *h = NULL;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char line[1024], hex[2 * EVP_MAX_MD_SIZE + 1];
	long code = 0;
	CURLcode r;

	h = curl_slist_append(h, "Content-Type: application/json");
	if (d->token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s",
		    d->token);
		h = curl_slist_append(h, line);
	}
	if (d->hmac_key != NULL && HMAC(EVP_sha256(), d->hmac_key,
	    (int)strlen(d->hmac_key), (const unsigned char *)d->body,
	    strlen(d->body), mac, &maclen) != NULL) {
		nd_hex(mac, maclen, hex);
		snprintf(line, sizeof(line), "X-Netdump-Signature: sha256=%s",
		    hex);
		h = curl_slist_append(h, line);
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, d->url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, d->timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abandon_if_stopping);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* Nor for a name lookup in progress, which curl would wait for. */
	curl_easy_setopt(c, CURLOPT_QUICK_EXIT, 1L);
#endif
	r = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (r != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(r));
		return false;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		snprintf(why, whylen, "HTTP status %ld", code);
		return false;
	}
	return true;
}

/* The first delivery that is due, taken off the queue; else NULL. */
static struct delivery *
take_due(time_t now, time_t *next)
{
	struct delivery **pp, *d;

	*next = 0;
	for (pp = &queue; (d = *pp) != NULL; pp = &d->next) {
		if (d->due <= now) {
			*pp = d->next;
			if (queue_tail == &d->next)
				queue_tail = pp;
			d->next = NULL;
			nqueued--;
			return d;
		}
		if (*next == 0 || d->due < *next)
			*next = d->due;
	}
	return NULL;
}

static void *
sender(void *arg)
{
	struct delivery *d;
	struct timespec until;
	char why[256];
	time_t next;
	CURL *c = curl_easy_init();

	(void)arg;
	nd_thread_name("nd-notify");
	pthread_mutex_lock(&lock);
	while (!stopping) {
		if ((d = take_due(mono(), &next)) == NULL) {
			/* cond waits on CLOCK_MONOTONIC (nd_notify_start):
			 * a step of the wall clock moves no retry. */
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += next != 0 ? next - mono() : 3600;
			pthread_cond_timedwait(&cond, &lock, &until);
			continue;
		}
		pthread_mutex_unlock(&lock);
		d->tries++;
		if (c != NULL && post(c, d, why, sizeof(why))) {
			delivery_free(d);
			pthread_mutex_lock(&lock);
			continue;
		}
		if (c == NULL)
			snprintf(why, sizeof(why), "no curl handle");
		pthread_mutex_lock(&lock);
		if (stopping) {		/* abandoned: counted as not sent */
			d->next = queue;
			queue = d;
			if (queue_tail == &queue)
				queue_tail = &d->next;
			nqueued++;
			break;
		}
		pthread_mutex_unlock(&lock);
		if (d->tries > d->retries) {
			log_warnx("notify %s: %s: gave up after %u tries: %s",
			    d->name, d->url, d->tries, why);
			delivery_free(d);
			pthread_mutex_lock(&lock);
			continue;
		}
		log_info("notify %s: %s: %s; again in %d s", d->name, d->url,
		    why, 1 << (d->tries - 1 < 6 ? d->tries - 1 : 6));
		d->due = mono() + (1 << (d->tries - 1 < 6 ? d->tries - 1 : 6));
		if (d->due - mono() > MAX_BACKOFF)
			d->due = mono() + MAX_BACKOFF;
		pthread_mutex_lock(&lock);
		delivery_put(d);
	}
	pthread_mutex_unlock(&lock);
	curl_easy_cleanup(c);
	return NULL;
}

int
nd_notify_start(void)
{
	pthread_condattr_t ca;

	/* Before the thread exists, nothing waits on cond yet. */
	if (pthread_condattr_init(&ca) != 0)
		return -1;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_destroy(&cond) != 0 ||
	    pthread_cond_init(&cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    pthread_create(&thread, NULL, sender, NULL) != 0)
		return -1;
	running = true;
	return 0;
}

void
nd_notify_stop(void)
{
	struct delivery *d;
	size_t left;

	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = false;
	left = nqueued;
	while ((d = queue) != NULL) {
		queue = d->next;
		delivery_free(d);
	}
	if (left > 0 || dropped > 0)
		log_warnx("notify: %zu webhooks not sent at exit, %" PRIu64
		    " dropped before (queue full), %" PRIu64 " of them of a "
		    "dump", left, dropped, dropped_dumps);
}

/*
 * A delivery of event for each endpoint of conf that takes it, and of
 * new-signature for those that take that when the signature is new
 * (seen is 1; 0 means no signature). Takes body, without "event".
 */
static void
post_event(const struct nd_conf *conf, const char *event, json_t *body,
    uint64_t seen)
{
	const unsigned bit = event_bit(event);
	const bool refusal = bit == ND_EVENT_REFUSED;
	char *text = NULL, *fresh = NULL;
	size_t i;

	if (!running || conf->nnotifies == 0 || body == NULL) {
		json_decref(body);
		return;
	}
	if (seen > 0)
		json_object_set_new(json_object_get(body, "signature"),
		    "count", json_integer((json_int_t)seen));
	json_object_set_new(body, "event", json_string(event));
	text = json_dumps(body, JSON_COMPACT);
	if (seen == 1) {
		json_object_set_new(body, "event",
		    json_string("new-signature"));
		fresh = json_dumps(body, JSON_COMPACT);
	}
	json_decref(body);
	pthread_mutex_lock(&lock);
	for (i = 0; i < conf->nnotifies; i++) {
		const struct nd_notify_conf *n = &conf->notifies[i];

		if (text != NULL && (n->events & bit))
			enqueue(n, text, refusal);
		if (fresh != NULL && (n->events & ND_EVENT_NEW_SIGNATURE))
			enqueue(n, fresh, false);
	}
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	free(text);
	free(fresh);
}

/*
 * Text a sender wrote (a panic string, a version) as a JSON string: jansson
 * takes only UTF-8, and gave NULL for anything else, which dropped the
 * member from the body. Bytes that are not UTF-8 become '?'.
 */
static json_t *
json_text(const char *s)
{
	size_t len = strlen(s), i, n;
	json_t *j;
	char *t;

	if ((t = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i += n) {
		n = (unsigned char)s[i] < 0x80 ? 1 :
		    nd_utf8_len((const unsigned char *)s + i);
		if (n == 0) {
			t[i] = '?';
			n = 1;
		} else
			memcpy(t + i, s + i, n);
	}
	t[len] = '\0';
	j = json_string(t);
	free(t);
	return j;
}

bool
nd_notify_running(void)
{
	return running;
}

void
nd_notify_dump_ended(const struct nd_dump *d)
{
	const struct nd_conf *conf = d->rt->conf;
	char start[40], end[40];
	json_t *body, *stored;
	const char *manifest = NULL;
	size_t i;

	if (!running || conf->nnotifies == 0)
		return;
	ts_iso8601(&d->pub.start, start, sizeof(start));
	ts_iso8601(&d->end_real, end, sizeof(end));
	stored = json_object();
	for (i = 0; i < d->nchains; i++) {
		const struct nd_dump_chain *c = &d->chains[i];
		const char *w = c->where[NDS_OBJ_VMCORE] != NULL ?
		    c->where[NDS_OBJ_VMCORE] : c->where[NDS_OBJ_ARCHIVE];

		if (w != NULL && !c->failed)
			json_object_set_new(stored, c->chain->text,
			    json_text(w));
		if (manifest == NULL && !c->failed)
			manifest = c->where[NDS_OBJ_MANIFEST];
	}
	/* path and reason quote others (a sender, a store): json_text. */
	body = json_pack("{s:I s:s s:o s:s s:s s:s s:s s:s s:o s:o s:o?}",
	    "dump_id", (json_int_t)d->pub.id, "client", d->client_addr,
	    "path", json_text(d->path != NULL ? d->path : ""), "route",
	    d->route != NULL ? d->route : "", "protocol", d->pub.protocol,
	    "start", start, "end", end, "status",
	    d->pub.status == NDS_STATUS_COMPLETE ? "complete" : "incomplete",
	    "reason", json_text(d->reason), "stored", stored, "manifest",
	    manifest != NULL ? json_text(manifest) : NULL);
	if (body != NULL)
		json_object_set_new(body, "signature", d->has_sig ?
		    json_pack("{s:s s:o s:o}", "id", d->sig.id, "panic",
		    json_text(d->sig.panic), "version",
		    json_text(d->sig.version)) : json_null());
	post_event(conf, d->pub.status == NDS_STATUS_COMPLETE ? "complete" :
	    "incomplete", body, d->has_sig ? d->sig_seen : 0);
}

void
nd_notify_refused(const struct nd_conf *conf, const char *client,
    const char *reason)
{
	struct timespec now;
	char at[40];

	if (!running || conf->nnotifies == 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	ts_iso8601(&now, at, sizeof(at));
	post_event(conf, "refused", json_pack("{s:s s:s s:s s:n}", "client",
	    client, "time", at, "reason", reason, "signature"), 0);
}
