/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Option rows (struct nds_option in netdump/sink.h): one converter, one
 * range and choice check, one printer of a table, for a module's [sink]
 * section and for [server] alike.
 */
#ifndef ND_OPTION_H
#define ND_OPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "netdump/sink.h"

/*
 * Convert value as row o says, check its range or choice, and store it in
 * config at o->offset; a string is copied, and the copy replaces (and
 * frees) the one there. 0, or -1 with the reason in err ("'11' is out of
 * range [1, 10]").
 */
int	nd_option_set(const struct nds_option *o, const char *value,
	    void *config, char *err, size_t errlen);

/* "1T", "64k", "1025": a size in the largest unit that divides it. */
void	nd_size_str(uint64_t, char *buf, size_t len);

/*
 * A row as -H prints it: name, type, choices, default, alias (which only
 * the host's own [server] rows have), then the description.
 */
void	nd_option_help(const struct nds_option *o, const char *alias,
	    FILE *fp);
/* "options:" and every row of a module's table. */
void	nd_options_help(const struct nds_option *table, FILE *fp);

/*
 * A row as the man page's entry: between the lines
 * '.\" BEGIN GENERATED SECTION NAME' and '.\" END GENERATED SECTION NAME',
 * an .It item of a -tag list: the value (value_name, or the type's word),
 * the description, range, default and alias. tests/docs/options.sh puts
 * the entries into netdump-server.ini.5.
 */
void	nd_option_mdoc(const struct nds_option *o, const char *section,
	    const char *alias, const char *value_name, FILE *fp);
/* Every row of a module's table, its name as the section. */
void	nd_options_mdoc(const struct nds_option *table, const char *section,
	    FILE *fp);

#endif /* ND_OPTION_H */
