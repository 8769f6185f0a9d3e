/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Prometheus metrics (see metrics.h). Every table is bounded: routes and
 * chains by the configuration (MAX_ROWS each, the rest folded into
 * "other"), refusal reasons by the code, clients by MAX_CLIENTS (the
 * least recently dumped goes), so a scrape costs what the configuration
 * and the clients seen make it, never what a sender claims. The page is
 * built under the lock and served by libmicrohttpd's own thread.
 */
#include <sys/socket.h>
#include <sys/statvfs.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "conf.h"
#include "dump.h"
#include "metrics.h"
#include "sink_load.h"

#define MAX_ROWS	64
#define MAX_CLIENTS	1024
#define MAX_REASONS	24

struct dumps_row {
	char		 route[64];
	uint64_t	 n[2];		/* complete, incomplete */
};

struct chain_row {
	char		 chain[96];
	uint64_t	 stored, failures;
};

struct client_row {
	char		 client[INET_ADDRSTRLEN];
	bool		 complete;
	time_t		 last;		/* CLOCK_REALTIME */
};

struct reason_row {
	const char	*reason;	/* static */
	uint64_t	 n;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool on;
static struct MHD_Daemon *mhd;
static int space_fd = -1;		/* the dump directory's, for its space */
static time_t started;
static struct dumps_row dumps[MAX_ROWS];
static size_t ndumps;
static struct chain_row chains[MAX_ROWS];
static size_t nchains;
static struct client_row clients[MAX_CLIENTS];
static size_t nclients;
static struct reason_row reasons[MAX_REASONS];
static size_t nreasons;
static uint64_t received, packets, duplicates, retransmits, conflicts;

struct page {
	char	*s;
	size_t	 len, cap;
	bool	 failed;
};

static void __attribute__((format(printf, 2, 3)))
put(struct page *p, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *grown;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(p->s + p->len, p->cap - p->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			p->failed = true;
			return;
		}
		if ((size_t)n < p->cap - p->len) {
			p->len += (size_t)n;
			return;
		}
		if ((grown = realloc(p->s, p->cap * 2 + (size_t)n)) == NULL) {
			p->failed = true;
			return;
		}
		p->s = grown;
		p->cap = p->cap * 2 + (size_t)n;
	}
}

/* A label value: backslash, double quote and newline escaped. */
static void
put_label(struct page *p, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			put(p, "\\%c", *v);
		else if (*v == '\n')
			put(p, "\\n");
		else
			put(p, "%c", *v);
	}
}

static void
head(struct page *p, const char *name, const char *type, const char *help)
{
	put(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
render(struct page *p, bool have_free, unsigned long long free_bytes)
{
	size_t i;

	head(p, "netdump_up", "gauge", "1 while the server runs.");
	put(p, "netdump_up 1\n");
	head(p, "netdump_start_time_seconds", "gauge",
	    "When the server started, in seconds since the epoch.");
	put(p, "netdump_start_time_seconds %lld\n", (long long)started);
	head(p, "netdump_dumps_total", "counter",
	    "Dumps ended, by route and status.");
	for (i = 0; i < ndumps; i++) {
		put(p, "netdump_dumps_total{route=\"");
		put_label(p, dumps[i].route);
		put(p, "\",status=\"complete\"} %" PRIu64 "\n", dumps[i].n[0]);
		put(p, "netdump_dumps_total{route=\"");
		put_label(p, dumps[i].route);
		put(p, "\",status=\"incomplete\"} %" PRIu64 "\n",
		    dumps[i].n[1]);
	}
	head(p, "netdump_dumps_in_flight", "gauge",
	    "Dumps being received or stored now.");
	put(p, "netdump_dumps_in_flight %u\n", atomic_load(&nd_dumps_active));
	head(p, "netdump_received_bytes_total", "counter",
	    "Bytes of vmcore received, in ended dumps.");
	put(p, "netdump_received_bytes_total %" PRIu64 "\n", received);
	head(p, "netdump_packets_total", "counter",
	    "Data messages received, in ended dumps.");
	put(p, "netdump_packets_total %" PRIu64 "\n", packets);
	head(p, "netdump_duplicate_packets_total", "counter",
	    "Data messages that brought nothing new (retransmissions).");
	put(p, "netdump_duplicate_packets_total %" PRIu64 "\n", duplicates);
	head(p, "netdump_requests_resent_total", "counter",
	    "Page requests sent again to Linux clients.");
	put(p, "netdump_requests_resent_total %" PRIu64 "\n", retransmits);
	head(p, "netdump_conflicts_total", "counter",
	    "Messages whose bytes differed from the first copy.");
	put(p, "netdump_conflicts_total %" PRIu64 "\n", conflicts);
	head(p, "netdump_stored_bytes_total", "counter",
	    "Bytes of vmcore each chain stored.");
	for (i = 0; i < nchains; i++) {
		put(p, "netdump_stored_bytes_total{chain=\"");
		put_label(p, chains[i].chain);
		put(p, "\"} %" PRIu64 "\n", chains[i].stored);
	}
	head(p, "netdump_chain_failures_total", "counter",
	    "Dumps a chain failed to store.");
	for (i = 0; i < nchains; i++) {
		put(p, "netdump_chain_failures_total{chain=\"");
		put_label(p, chains[i].chain);
		put(p, "\"} %" PRIu64 "\n", chains[i].failures);
	}
	head(p, "netdump_refusals_total", "counter",
	    "Clients refused or ignored, by reason.");
	for (i = 0; i < nreasons; i++)
		put(p, "netdump_refusals_total{reason=\"%s\"} %" PRIu64 "\n",
		    reasons[i].reason, reasons[i].n);
	head(p, "netdump_client_last_dump_timestamp_seconds", "gauge",
	    "When each client's last dump ended, and whether complete.");
	for (i = 0; i < nclients; i++)
		put(p, "netdump_client_last_dump_timestamp_seconds{client=\"%s\","
		    "status=\"%s\"} %lld\n", clients[i].client,
		    clients[i].complete ? "complete" : "incomplete",
		    (long long)clients[i].last);
	if (have_free) {
		head(p, "netdump_dumpdir_free_bytes", "gauge",
		    "Free space of the dump directory, for unprivileged users.");
		put(p, "netdump_dumpdir_free_bytes %llu\n", free_bytes);
	}
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **state)
{
	struct page p = { .cap = 8192 };
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	static const char nf[] = "only /metrics here\n";

	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	else if (strcmp(url, "/metrics") != 0)
		status = MHD_HTTP_NOT_FOUND;
	if (status != MHD_HTTP_OK) {
		r = MHD_create_response_from_buffer(sizeof(nf) - 1,
		    (void *)nf, MHD_RESPMEM_PERSISTENT);
	} else {
		struct statvfs sv;
		/* Outside the lock: a hung file system stalls only this. */
		bool have = fstatvfs(space_fd, &sv) == 0;

		if ((p.s = malloc(p.cap)) == NULL)
			return MHD_NO;
		pthread_mutex_lock(&lock);
		render(&p, have, have ? (unsigned long long)sv.f_bavail *
		    sv.f_frsize : 0);
		pthread_mutex_unlock(&lock);
		if (p.failed) {
			free(p.s);
			return MHD_NO;
		}
		r = MHD_create_response_from_buffer(p.len, p.s,
		    MHD_RESPMEM_MUST_FREE);
	}
	if (r == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(r, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		(void)MHD_add_response_header(r, "Allow", "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

int
nd_metrics_listen(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	if (nd_conf_addr_port(spec, &sin) == -1) {
		snprintf(err, errlen, "metrics: '%s' is not ADDRESS:PORT (an "
		    "IPv4 address and a port)", spec);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1 || listen(fd, 16) == -1) {
		snprintf(err, errlen, "metrics: cannot serve on %s: %s", spec,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

int
nd_metrics_start(int listen_fd, int dumpdir_fd, char *err, size_t errlen)
{
	if ((space_fd = dup(dumpdir_fd)) == -1) {
		snprintf(err, errlen, "metrics: dup: %s", strerror(errno));
		close(listen_fd);
		return -1;
	}
	started = time(NULL);
	mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_EPOLL, 0, NULL, NULL, answer, NULL,
	    MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)ND_METRICS_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, 4u,
	    MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (mhd == NULL) {
		snprintf(err, errlen, "metrics: libmicrohttpd did not start");
		close(listen_fd);
		close(space_fd);
		space_fd = -1;
		return -1;
	}
	atomic_store(&on, true);
	return 0;
}

void
nd_metrics_stop(void)
{
	if (mhd != NULL)
		MHD_stop_daemon(mhd);
	mhd = NULL;
	atomic_store(&on, false);
	if (space_fd != -1)
		close(space_fd);
	space_fd = -1;
}

/*
 * A route's or chain's row: the one named name in rows (n of them, each
 * size bytes, whose first member is its name, keylen bytes), found by
 * the name as stored (cut to keylen). The first MAX_ROWS - 1 names get
 * rows; the rest share the last, "other".
 */
static void *
named_row(void *rows, size_t size, size_t *n, size_t keylen,
    const char *name)
{
	char key[96], *row;
	size_t i;

	snprintf(key, keylen < sizeof(key) ? keylen : sizeof(key), "%s", name);
	for (i = 0; i < *n; i++)
		if (strcmp((char *)rows + i * size, key) == 0)
			return (char *)rows + i * size;
	if (*n == MAX_ROWS)
		return (char *)rows + (MAX_ROWS - 1) * size;
	if (*n == MAX_ROWS - 1)
		snprintf(key, sizeof(key), "other");
	row = (char *)rows + (*n)++ * size;
	memcpy(row, key, strlen(key) + 1);
	return row;
}

static struct dumps_row *
route_row(const char *route)
{
	return named_row(dumps, sizeof(dumps[0]), &ndumps,
	    sizeof(dumps[0].route), route);
}

static struct chain_row *
chain_row(const char *chain)
{
	return named_row(chains, sizeof(chains[0]), &nchains,
	    sizeof(chains[0].chain), chain);
}

static void
client_seen(const char *client, bool complete)
{
	size_t i, oldest = 0;

	for (i = 0; i < nclients; i++) {
		if (strcmp(clients[i].client, client) == 0)
			break;
		if (clients[i].last < clients[oldest].last)
			oldest = i;
	}
	if (i == nclients && nclients < MAX_CLIENTS)
		nclients++;
	else if (i == nclients)
		i = oldest;
	snprintf(clients[i].client, sizeof(clients[i].client), "%s", client);
	clients[i].complete = complete;
	clients[i].last = time(NULL);
}

void
nd_metrics_dump_ended(const struct nd_dump *d)
{
	bool complete = d->pub.status == NDS_STATUS_COMPLETE;
	struct chain_row *c;
	size_t i;

	if (!atomic_load(&on))
		return;
	pthread_mutex_lock(&lock);
	route_row(d->route != NULL ? d->route : "")->n[complete ? 0 : 1]++;
	received += d->cov.total;
	packets += d->packets;
	duplicates += d->dup_packets;
	retransmits += d->lx.retransmits;
	conflicts += d->conflicts;
	for (i = 0; i < d->nchains; i++) {
		c = chain_row(d->chains[i].chain->text);
		c->stored += d->chains[i].stored_end;
		c->failures += d->chains[i].failed;
	}
	client_seen(d->client_addr, complete);
	pthread_mutex_unlock(&lock);
}

void
nd_metrics_refused(const char *reason, uint64_t n)
{
	size_t i;

	if (!atomic_load(&on))
		return;
	pthread_mutex_lock(&lock);
	for (i = 0; i < nreasons; i++)
		if (strcmp(reasons[i].reason, reason) == 0)
			break;
	if (i == nreasons && nreasons < MAX_REASONS)
		reasons[nreasons++] = (struct reason_row){ reason, 0 };
	if (i < nreasons)
		reasons[i].n += n;
	pthread_mutex_unlock(&lock);
}
