/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Webhooks (see notify.h). An event becomes at once one delivery per
 * endpoint that takes it: the JSON body and a copy of the endpoint's
 * settings (a reload may free the configuration while it waits). A dump
 * with a signature carries how many dumps of this directory have had it
 * ("count", sigseen.h) and makes a new-signature event the first time.
 * One thread POSTs the deliveries through a curl multi handle, one at a
 * time per endpoint and the endpoints side by side, so an endpoint that
 * takes a connection and never answers holds back only its own. A
 * failed POST is retried after 1, 2, 4 ... 60 s up to the endpoint's
 * retries. At most MAX_QUEUED deliveries wait per endpoint: a refusal is
 * an event any sender of HERALDs can cause, so past the bound the
 * endpoint's oldest refusal goes (delivery_room), and a line says so at
 * most once a minute. Logs name an endpoint by its origin: a webhook's
 * URL is often its secret.
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
	/*
	 * A refusal (dropped first when the queue is full) stands for itself
	 * and the refusals its body says were not posted; 0: a dump's event.
	 */
	uint64_t	 refusals;
	/* While it is posted: the sender's alone. */
	CURL		*c;
	struct curl_slist *h;
	char		*auth;		/* its Authorization line */
	bool		 added;		/* c is on the multi handle */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t thread;
static bool running, stopping;
static struct delivery *queue, **queue_tail = &queue;
static size_t nqueued;
static CURLM *multi;			/* the sender's; wakeup from any */
static struct delivery *posting;	/* the sender's */
static uint64_t dropped;
static uint64_t dropped_dumps;	/* of dropped: not refusals */
static time_t drop_logged;	/* CLOCK_MONOTONIC; 0: never */

/*
 * Refusals an endpoint had posted in the current minute (anyone who can
 * send a HERALD can cause one: its refused_per_minute), by its section's
 * name, which a reload keeps. Under the lock.
 */
struct refusal_rate {
	char		*name;
	time_t		 since;		/* the minute's start */
	int64_t		 posted;	/* in it */
	uint64_t	 unposted;	/* since its last refused event */
	bool		 said;		/* the minute's line is logged */
};
static struct refusal_rate *rates;
static size_t nrates;

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
	free(d->auth);
	curl_slist_free_all(d->h);
	curl_easy_cleanup(d->c);
	free(d);
}

/* The endpoint's refusal_rate; NULL when out of memory. */
static struct refusal_rate *
rate_of(const char *name)
{
	struct refusal_rate *grown;
	size_t i;

	for (i = 0; i < nrates; i++)
		if (strcmp(rates[i].name, name) == 0)
			return &rates[i];
	if ((grown = reallocarray(rates, nrates + 1, sizeof(*rates))) ==
	    NULL)
		return NULL;
	rates = grown;
	rates[nrates] = (struct refusal_rate){ .name = strdup(name) };
	if (rates[nrates].name == NULL)
		return NULL;
	return &rates[nrates++];
}

/*
 * A refusal dropped before it was posted (under the lock): what it stood
 * for goes into the next one's "unposted", or the line at exit.
 */
static void
unpost(const char *name, uint64_t refusals)
{
	struct refusal_rate *r;

	if (refusals > 0 && (r = rate_of(name)) != NULL)
		r->unposted += refusals;
}

/* One webhook of endpoint name dropped for a full queue (under the lock). */
static void
count_drop(const char *name)
{
	time_t now = mono();

	dropped++;
	if (drop_logged != 0 && now - drop_logged < DROP_LOG_EVERY)
		return;
	drop_logged = now;
	log_warnx("notify %s: %d webhooks wait for a slow or dead endpoint: "
	    "the oldest refusal dropped, or the oldest webhook (%" PRIu64
	    " so far, all endpoints)", name, MAX_QUEUED, dropped);
}

/*
 * Room in d's endpoint's share of the queue (under the lock) for d: that
 * endpoint's oldest refusal goes (any sender of HERALDs can cause those;
 * a dump's event must not go for them), else d goes itself if it is a
 * refusal (false), else the endpoint's oldest entry.
 */
static bool
delivery_room(const struct delivery *d)
{
	struct delivery **pp, **oldest = NULL, **refusal = NULL, *old;
	size_t mine = 0;

	for (pp = &queue; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, d->name) != 0)
			continue;
		mine++;
		if (oldest == NULL)
			oldest = pp;
		if (refusal == NULL && (*pp)->refusals > 0)
			refusal = pp;
	}
	if (mine < MAX_QUEUED)
		return true;
	count_drop(d->name);
	if (refusal == NULL && d->refusals > 0) {
		unpost(d->name, d->refusals);
		return false;
	}
	pp = refusal != NULL ? refusal : oldest;
	old = *pp;
	if (old->refusals == 0)
		dropped_dumps++;
	unpost(old->name, old->refusals);
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
	if (!delivery_room(d)) {
		delivery_free(d);
		return;
	}
	d->next = NULL;
	*queue_tail = d;
	queue_tail = &d->next;
	nqueued++;
}

/*
 * Queue a delivery of body to one endpoint (under the lock); refusals as
 * in struct delivery.
 */
static void
enqueue(const struct nd_notify_conf *nc, const char *body, uint64_t refusals)
{
	struct delivery *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->name = strdup(nc->name)) == NULL ||
	    (d->url = strdup(nc->url)) == NULL || (d->body = strdup(body)) ==
	    NULL || (nc->token != NULL && (d->token = strdup(nc->token)) ==
	    NULL) || (nc->hmac_key != NULL && (d->hmac_key =
	    strdup(nc->hmac_key)) == NULL)) {
		unpost(nc->name, refusals);
		if (d != NULL)
			delivery_free(d);
		dropped++;
		return;
	}
	d->timeout = (long)nc->timeout;
	d->retries = (unsigned)nc->retries;
	d->due = mono();
	d->refusals = refusals;
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

/* The scheme, host and port of url, for the log; "?" when it has none. */
static void
url_origin(const char *url, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;

	snprintf(out, len, "?");
	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK)
		snprintf(out, len, "%s://%s:%s", scheme, host, port);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

/* Set d's POST up on its own handle; false when out of memory. */
static bool
post_begin(struct delivery *d)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char line[64 + 2 * EVP_MAX_MD_SIZE], hex[2 * EVP_MAX_MD_SIZE + 1];
	struct curl_slist *h;

	if ((d->c = curl_easy_init()) == NULL || (d->h = curl_slist_append(
	    NULL, "Content-Type: application/json")) == NULL)
		return false;
	/* A token of any length the configuration takes (JWTs run to KiB). */
	if (d->token != NULL && (asprintf(&d->auth, "Authorization: Bearer %s",
	    d->token) == -1 || (h = curl_slist_append(d->h, d->auth)) == NULL))
		return false;
	if (d->hmac_key != NULL && HMAC(EVP_sha256(), d->hmac_key,
	    (int)strlen(d->hmac_key), (const unsigned char *)d->body,
	    strlen(d->body), mac, &maclen) != NULL) {
		nd_hex(mac, maclen, hex);
		snprintf(line, sizeof(line), "X-Netdump-Signature: sha256=%s",
		    hex);
		if ((h = curl_slist_append(d->h, line)) == NULL)
			return false;
	}
	curl_easy_setopt(d->c, CURLOPT_URL, d->url);
	curl_easy_setopt(d->c, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(d->c, CURLOPT_HTTPHEADER, d->h);
	curl_easy_setopt(d->c, CURLOPT_TIMEOUT, d->timeout);
	curl_easy_setopt(d->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(d->c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(d->c, CURLOPT_PRIVATE, d);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* Nor for a name lookup in progress, which curl would wait for. */
	curl_easy_setopt(d->c, CURLOPT_QUICK_EXIT, 1L);
#endif
	return (d->added = curl_multi_add_handle(multi, d->c) == CURLM_OK);
}

/* Forget d's handle, off the multi handle if it was on it. */
static void
post_end(struct delivery *d)
{
	struct delivery **pp;

	for (pp = &posting; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	d->next = NULL;
	if (d->added)
		curl_multi_remove_handle(multi, d->c);
	d->added = false;
	curl_easy_cleanup(d->c);
	curl_slist_free_all(d->h);
	free(d->auth);
	d->c = NULL;
	d->h = NULL;
	d->auth = NULL;
}

/* Whether a delivery to endpoint name is being posted. */
static bool
endpoint_busy(const char *name)
{
	const struct delivery *d;

	for (d = posting; d != NULL; d = d->next)
		if (strcmp(d->name, name) == 0)
			return true;
	return false;
}

/*
 * The first delivery that is due to an endpoint not busy, taken off the
 * queue (under the lock); else NULL, and when the next is due in *next.
 */
static struct delivery *
take_due(time_t now, time_t *next)
{
	struct delivery **pp, *d;

	*next = 0;
	for (pp = &queue; (d = *pp) != NULL; pp = &d->next) {
		if (d->due <= now && !endpoint_busy(d->name)) {
			*pp = d->next;
			if (queue_tail == &d->next)
				queue_tail = pp;
			d->next = NULL;
			nqueued--;
			return d;
		}
		if (d->due > now && (*next == 0 || d->due < *next))
			*next = d->due;
	}
	return NULL;
}

/* Back to the queue's head, not sent (under the lock): the server stops. */
static void
requeue(struct delivery *d)
{
	d->next = queue;
	queue = d;
	if (queue_tail == &queue)
		queue_tail = &d->next;
	nqueued++;
}

/* A POST of d ended: done, again later, or given up. */
static void
post_done(struct delivery *d, CURLcode r)
{
	char why[256], origin[256];
	long code = 0, wait;

	if (r == CURLE_OK)
		curl_easy_getinfo(d->c, CURLINFO_RESPONSE_CODE, &code);
	post_end(d);
	if (r == CURLE_OK && code >= 200 && code <= 299) {
		delivery_free(d);
		return;
	}
	if (r != CURLE_OK)
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(r));
	else
		snprintf(why, sizeof(why), "HTTP status %ld", code);
	url_origin(d->url, origin, sizeof(origin));
	if (d->tries > d->retries) {
		log_warnx("notify %s: %s: gave up after %u tries: %s",
		    d->name, origin, d->tries, why);
		pthread_mutex_lock(&lock);
		unpost(d->name, d->refusals);
		pthread_mutex_unlock(&lock);
		delivery_free(d);
		return;
	}
	wait = 1L << (d->tries - 1 < 6 ? d->tries - 1 : 6);
	if (wait > MAX_BACKOFF)
		wait = MAX_BACKOFF;
	log_info("notify %s: %s: %s; again in %ld s", d->name, origin, why,
	    wait);
	d->due = mono() + wait;
	pthread_mutex_lock(&lock);
	delivery_put(d);
	pthread_mutex_unlock(&lock);
}

/* Start every POST that is due (under the lock); when the next is due. */
static time_t
start_due(void)
{
	struct delivery *d;
	time_t next;

	while ((d = take_due(mono(), &next)) != NULL) {
		d->tries++;
		d->next = posting;
		posting = d;
		if (!post_begin(d)) {
			log_warnx("notify %s: cannot set a POST up: out of "
			    "memory", d->name);
			post_end(d);
			unpost(d->name, d->refusals);
			delivery_free(d);
			dropped++;
		}
	}
	return next;
}

static void *
sender(void *arg)
{
	struct delivery *d;
	struct CURLMsg *msg;
	time_t next;
	int left, wait_ms;
	bool ended;

	(void)arg;
	nd_thread_name("nd-notify");
	pthread_mutex_lock(&lock);
	while (!stopping) {
		next = start_due();
		pthread_mutex_unlock(&lock);
		curl_multi_perform(multi, &left);
		ended = false;
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&d);
			post_done(d, msg->data.result);
			ended = true;	/* its endpoint's next may go */
		}
		/*
		 * Until the next is due, a socket or curl's own timer calls,
		 * or enqueue or nd_notify_stop wakes it (curl_multi_wakeup).
		 */
		wait_ms = next == 0 ? 3600 * 1000 : (int)(next - mono()) * 1000;
		if (!ended && wait_ms > 0)
			curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
		pthread_mutex_lock(&lock);
	}
	/* Abandoned: counted as not sent. */
	while ((d = posting) != NULL) {
		post_end(d);
		requeue(d);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
nd_notify_start(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (multi = curl_multi_init()) == NULL)
		return -1;
	if (pthread_create(&thread, NULL, sender, NULL) != 0) {
		curl_multi_cleanup(multi);
		multi = NULL;
		return -1;
	}
	running = true;
	return 0;
}

void
nd_notify_stop(void)
{
	struct delivery *d;
	size_t left, i;

	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	curl_multi_wakeup(multi);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = false;
	curl_multi_cleanup(multi);
	multi = NULL;
	left = nqueued;
	while ((d = queue) != NULL) {
		queue = d->next;
		unpost(d->name, d->refusals);
		delivery_free(d);
	}
	if (left > 0 || dropped > 0)
		log_warnx("notify: %zu webhooks not sent at exit, %" PRIu64
		    " dropped before (queue full), %" PRIu64 " of them of a "
		    "dump", left, dropped, dropped_dumps);
	for (i = 0; i < nrates; i++) {
		if (rates[i].unposted > 0)
			log_warnx("notify %s: %" PRIu64 " refusals not posted "
			    "at exit (over refused_per_minute, dropped from a "
			    "full queue, or still queued)", rates[i].name,
			    rates[i].unposted);
		free(rates[i].name);
	}
	free(rates);
	rates = NULL;
	nrates = 0;
}

/*
 * A refusal's body for endpoint n, with "unposted": the refusals not
 * posted to it since its last one (malloc'd), and in *refusals how many
 * it stands for; NULL when it is over its refused_per_minute (counted,
 * said once a minute) or out of memory.
 */
static char *
refusal_text(const struct nd_notify_conf *n, json_t *body,
    uint64_t *refusals)
{
	struct refusal_rate *r = rate_of(n->name);
	time_t now = mono();
	char *text;

	if (r == NULL)
		return NULL;
	if (r->since == 0 || now - r->since >= 60) {
		r->since = now;
		r->posted = 0;
		r->said = false;
	}
	if (r->posted >= n->refused_per_minute) {
		r->unposted++;
		if (!r->said)
			log_warnx("notify %s: %" PRId64 " refusals posted this "
			    "minute (refused_per_minute); the rest are "
			    "counted in the next one's \"unposted\"", n->name,
			    n->refused_per_minute);
		r->said = true;
		return NULL;
	}
	json_object_set_new(body, "unposted",
	    json_integer((json_int_t)r->unposted));
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
		r->unposted++;
		return NULL;
	}
	*refusals = 1 + r->unposted;
	r->posted++;
	r->unposted = 0;
	return text;
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
	/* A refusal's body is each endpoint's own (refusal_text). */
	if (!refusal)
		text = json_dumps(body, JSON_COMPACT);
	if (seen == 1) {
		json_object_set_new(body, "event",
		    json_string("new-signature"));
		fresh = json_dumps(body, JSON_COMPACT);
	}
	pthread_mutex_lock(&lock);
	for (i = 0; i < conf->nnotifies; i++) {
		const struct nd_notify_conf *n = &conf->notifies[i];
		uint64_t refusals;
		char *own;

		if (refusal && (n->events & bit) &&
		    (own = refusal_text(n, body, &refusals)) != NULL) {
			enqueue(n, own, refusals);
			free(own);
		} else if (text != NULL && (n->events & bit))
			enqueue(n, text, 0);
		if (fresh != NULL && (n->events & ND_EVENT_NEW_SIGNATURE))
			enqueue(n, fresh, 0);
	}
	if (!stopping)
		curl_multi_wakeup(multi);
	pthread_mutex_unlock(&lock);
	json_decref(body);
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
