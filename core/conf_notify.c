/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * [notify NAME] sections: a webhook each (core/notify.c sends them).
 *
 *   [notify ops]
 *   url = https://hooks.example.org/netdump
 *   events = complete incomplete refused new-signature
 *   token = ...            ; Authorization: Bearer ...
 *   hmac_key = ...         ; X-Netdump-Signature: sha256=HMAC of the body
 *   timeout = 10           ; seconds per attempt
 *   retries = 5            ; attempts after the first
 *   refused_per_minute = 10 ; refusals posted a minute, the rest counted
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_int.h"

static const struct {
	const char	*name;
	unsigned	 bit;
} events[] = {
	{ "complete", ND_EVENT_COMPLETE },
	{ "incomplete", ND_EVENT_INCOMPLETE },
	{ "refused", ND_EVENT_REFUSED },
	{ "new-signature", ND_EVENT_NEW_SIGNATURE },
};
#define NEVENTS	(sizeof(events) / sizeof(events[0]))

void
notify_begin(struct loader *ld, const char *name, int line)
{
	struct nd_conf *conf = ld->conf;
	struct nd_notify_conf *n;
	void *grown;
	size_t i;

	if (*name == '\0') {
		failat(ld, line, "section [notify] needs a name, like "
		    "[notify ops]");
		return;
	}
	for (i = 0; i < conf->nnotifies; i++)
		if (strcmp(conf->notifies[i].name, name) == 0) {
			failat(ld, line, "duplicate section [notify %s] (first "
			    "at line %d)", name, conf->notifies[i].lineno);
			return;
		}
	grown = realloc(conf->notifies, (conf->nnotifies + 1) *
	    sizeof(*conf->notifies));
	if (grown == NULL) {
		failat(ld, line, "out of memory");
		return;
	}
	conf->notifies = grown;
	n = &conf->notifies[conf->nnotifies];
	*n = (struct nd_notify_conf){ .events = ND_EVENT_COMPLETE |
	    ND_EVENT_INCOMPLETE, .timeout = 10, .retries = 5,
	    .refused_per_minute = 10, .lineno = line };
	if ((n->name = strdup(name)) == NULL) {
		failat(ld, line, "out of memory");
		return;
	}
	conf->nnotifies++;
	memset(ld->notify_line, 0, sizeof(ld->notify_line));
	ld->kind = SEC_NOTIFY;
	ld->cur = conf->nnotifies - 1;
}

static int
parse_events(const char *v, unsigned *out)
{
	char word[32];
	size_t i, n;

	*out = 0;
	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		n = strcspn(v, " \t,");
		if (n == 0)
			break;
		if (n >= sizeof(word))
			return -1;
		memcpy(word, v, n);
		word[n] = '\0';
		for (i = 0; i < NEVENTS; i++)
			if (strcmp(word, events[i].name) == 0)
				break;
		if (i == NEVENTS)
			return -1;
		*out |= events[i].bit;
		v += n;
	}
	return *out == 0 ? -1 : 0;
}

static int
parse_count(const char *v, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static int
set_string(char **field, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

static const char *const keys[] = { "url", "events", "token", "hmac_key",
    "timeout", "retries", "refused_per_minute" };

void
notify_key(struct loader *ld, const char *key, const char *value)
{
	struct nd_notify_conf *n = &ld->conf->notifies[ld->cur];
	size_t k;
	int r = 0;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (strcmp(key, keys[k]) == 0)
			break;
	if (k < sizeof(keys) / sizeof(keys[0])) {
		if (ld->notify_line[k] != 0) {
			failat(ld, ld->lineno, "duplicate key '%s' in [notify "
			    "%s] (first at line %d)", key, n->name,
			    ld->notify_line[k]);
			return;
		}
		ld->notify_line[k] = ld->lineno;
	}

	if (strcmp(key, "url") == 0) {
		if (strncasecmp(value, "http://", 7) != 0 &&
		    strncasecmp(value, "https://", 8) != 0) {
			failat(ld, ld->lineno, "[notify %s] url: expected "
			    "http://... or https://..., got '%s'", n->name,
			    value);
			return;
		}
		r = set_string(&n->url, value);
	} else if (strcmp(key, "events") == 0) {
		if (parse_events(value, &n->events) == -1) {
			failat(ld, ld->lineno, "[notify %s] events: expected "
			    "some of complete, incomplete, refused, "
			    "new-signature, got '%s'", n->name, value);
			return;
		}
	} else if (strcmp(key, "token") == 0)
		r = *value != '\0' ? set_string(&n->token, value) : 0;
	else if (strcmp(key, "hmac_key") == 0)
		r = *value != '\0' ? set_string(&n->hmac_key, value) : 0;
	else if (strcmp(key, "timeout") == 0) {
		if (parse_count(value, 1, 300, &n->timeout) == -1) {
			failat(ld, ld->lineno, "[notify %s] timeout: expected "
			    "seconds from 1 to 300, got '%s'", n->name, value);
			return;
		}
	} else if (strcmp(key, "retries") == 0) {
		if (parse_count(value, 0, 100, &n->retries) == -1) {
			failat(ld, ld->lineno, "[notify %s] retries: expected "
			    "0 to 100, got '%s'", n->name, value);
			return;
		}
	} else if (strcmp(key, "refused_per_minute") == 0) {
		if (parse_count(value, 0, 100000, &n->refused_per_minute) ==
		    -1) {
			failat(ld, ld->lineno, "[notify %s] refused_per_minute: "
			    "expected 0 to 100000, got '%s'", n->name, value);
			return;
		}
	} else {
		failat(ld, ld->lineno, "unknown key '%s' in [notify %s] "
		    "(url, events, token, hmac_key, timeout, retries, "
		    "refused_per_minute)", key, n->name);
		return;
	}
	if (r == -1)
		failat(ld, ld->lineno, "out of memory");
}

int
notify_finish(struct loader *ld)
{
	size_t i;

	for (i = 0; i < ld->conf->nnotifies; i++)
		if (ld->conf->notifies[i].url == NULL) {
			failat(ld, ld->conf->notifies[i].lineno, "[notify %s] "
			    "has no 'url' key", ld->conf->notifies[i].name);
			return -1;
		}
	return 0;
}

void
notify_conf_clear(struct nd_notify_conf *n)
{
	free(n->name);
	free(n->url);
	free(n->token);
	free(n->hmac_key);
}

void
notify_print(const struct nd_conf *conf, FILE *fp)
{
	const struct nd_notify_conf *n;
	size_t i, k;

	for (i = 0; i < conf->nnotifies; i++) {
		n = &conf->notifies[i];
		fprintf(fp, "\n[notify %s]\nurl = %s\nevents =", n->name,
		    n->url);
		for (k = 0; k < NEVENTS; k++)
			if (n->events & events[k].bit)
				fprintf(fp, " %s", events[k].name);
		/* Secrets are not printed, only that they are set. */
		fprintf(fp, "\n%s%stimeout = %" PRId64 "\nretries = %" PRId64
		    "\nrefused_per_minute = %" PRId64 "\n", n->token ?
		    "; token = (set, not shown)\n" : "", n->hmac_key ?
		    "; hmac_key = (set, not shown)\n" : "", n->timeout,
		    n->retries, n->refused_per_minute);
	}
}
