/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the configuration loader. Input: ini text, then
 * optionally a NUL, a HERALD path to route, a NUL and 4 bytes of client
 * address. A configuration that loads must route without trouble, print,
 * and (what nd_conf_print promises) load again from what it printed, to a
 * configuration that prints the same.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *
print_to_string(const struct nd_conf *conf, size_t *len)
{
	char *s = NULL;
	FILE *fp;

	*len = 0;
	if ((fp = open_memstream(&s, len)) == NULL)
		abort();
	nd_conf_print(conf, fp);
	if (fclose(fp) != 0)
		abort();
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	char err[ND_CONF_ERRSIZE], *text, *path = NULL, *p1, *p2;
	const struct nd_route_conf *r;
	struct nd_conf *conf, *again;
	uint32_t client = 0x0a000001;	/* 10.0.0.1 */
	size_t tlen, len1, len2, i;
	uint8_t *copy;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	/* A NUL-terminated copy, so every part below is a string. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	text = (char *)copy;
	tlen = strlen(text);
	if (tlen < size) {
		path = text + tlen + 1;
		i = tlen + 1 + strlen(path) + 1;
		if (i + 4 <= size)
			client = (uint32_t)copy[i] << 24 |
			    (uint32_t)copy[i + 1] << 16 |
			    (uint32_t)copy[i + 2] << 8 | copy[i + 3];
	}

	memset(err, 0x55, sizeof(err));
	conf = nd_conf_load_string(text, "fuzz.ini", err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (conf == NULL) {
		/* A failure says why. */
		if (err[0] == '\0')
			abort();
		free(copy);
		return 0;
	}
	/* The checked configuration has a route, every route a sink. */
	if (conf->nroutes == 0 || conf->nsinks == 0)
		abort();
	for (i = 0; i < conf->nroutes; i++)
		if (conf->routes[i].nsinks == 0 ||
		    conf->routes[i].path == NULL)
			abort();

	r = nd_conf_route_match(conf, path, client);
	if (r != NULL && (r < conf->routes || r >= conf->routes +
	    conf->nroutes))
		abort();
	(void)nd_conf_route_match(conf, "prod/web1", 0xc0000207);
	for (i = 0; i < conf->nsinks; i++)
		if (nd_conf_sink_find(conf, conf->sinks[i].name) == NULL)
			abort();
	nd_conf_print(conf, devnull);

	/* Printed, it loads again and prints the same. */
	p1 = print_to_string(conf, &len1);
	again = nd_conf_load_string(p1, "printed.ini", err, sizeof(err));
	if (again == NULL) {
		fprintf(stderr, "printed configuration does not load: %s\n"
		    "---\n%s---\n", err, p1);
		abort();
	}
	p2 = print_to_string(again, &len2);
	/* The first line names the source; compare the rest. */
	{
		const char *b1 = strchr(p1, '\n'), *b2 = strchr(p2, '\n');

		if (b1 == NULL || b2 == NULL || strcmp(b1, b2) != 0) {
			fprintf(stderr, "print, load, print differs:\n"
			    "---\n%s---\n%s---\n", p1, p2);
			abort();
		}
	}
	free(p1);
	free(p2);
	nd_conf_free(again);
	nd_conf_free(conf);
	free(copy);
	return 0;
}
