/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * [server] as a whole: what one key cannot say about another, checked
 * once the command line has had its say, and what a reload keeps of it
 * (what the server bound, opened or made at start).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int
nd_conf_server_check(const struct nd_server_conf *sv, const char *source,
    char *err, size_t errlen)
{
	if (sv->linux_port != 0 && sv->linux_port == sv->port) {
		snprintf(err, errlen, "%s: [server] linux_port %" PRId64 " is "
		    "the port of HERALDs (port): one socket cannot be both",
		    source, sv->port);
		return -1;
	}
	if (sv->status_socket == NULL && sv->runtime_dir[0] == '\0') {
		snprintf(err, errlen, "%s: [server] runtime_dir is empty, and "
		    "no status_socket is set: the status socket has no place",
		    source);
		return -1;
	}
	return 0;
}

/*
 * What a reload keeps of [server]: what the server bound, opened or made
 * at start, which only a restart changes. The strings (NULL allowed):
 */
static const size_t bound_strings[] = {
	offsetof(struct nd_server_conf, address),
	offsetof(struct nd_server_conf, dumpdir),
	offsetof(struct nd_server_conf, runtime_dir),
	offsetof(struct nd_server_conf, user),
	offsetof(struct nd_server_conf, status_socket),
	offsetof(struct nd_server_conf, pidfile),
	offsetof(struct nd_server_conf, metrics),
};
#define NBOUND	(sizeof(bound_strings) / sizeof(bound_strings[0]))

static char **
bound_string(const struct nd_server_conf *c, size_t i)
{
	return (char **)((uintptr_t)c + bound_strings[i]);
}

int
nd_conf_server_keep_bound(struct nd_server_conf *n,
    const struct nd_server_conf *o)
{
	char *copy[NBOUND] = { NULL };
	const char *v;
	size_t i;

	for (i = 0; i < NBOUND; i++)
		if ((v = *bound_string(o, i)) != NULL &&
		    (copy[i] = strdup(v)) == NULL) {
			while (i-- > 0)
				free(copy[i]);
			return -1;
		}
	for (i = 0; i < NBOUND; i++) {
		free(*bound_string(n, i));
		*bound_string(n, i) = copy[i];
	}
	n->port = o->port;
	n->linux_port = o->linux_port;
	n->console_log_size = o->console_log_size;
	n->console_log_keep = o->console_log_keep;
	n->daemon = o->daemon;
	return 0;
}

/* Two optional strings differ. */
static bool
differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

bool
nd_conf_server_bound_differs(const struct nd_server_conf *o,
    const struct nd_server_conf *n)
{
	size_t i;

	for (i = 0; i < NBOUND; i++)
		if (differs(*bound_string(o, i), *bound_string(n, i)))
			return true;
	return o->port != n->port || o->linux_port != n->linux_port ||
	    o->console_log_size != n->console_log_size ||
	    o->console_log_keep != n->console_log_keep ||
	    o->daemon != n->daemon;
}
