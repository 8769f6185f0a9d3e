/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The outbox record format (see record.h). One "name = value" line per
 * field, in the module's order, after a version line and before an end
 * line that counts them, so an operator can read a record and a test can
 * grep it:
 *
 *   # netdump-server outbox record: the server rewrites it whole
 *   version = 2
 *   endpoint = http://127.0.0.1:7480
 *   key = crash/p%20a/vmcore
 *   end = 2
 *
 * Names are written as they are (letters, digits, '_', '-', '.'); in a
 * value every byte that is not a visible ASCII character, and '%' and
 * '=', is written %XX, so a value never breaks a line, never loses its
 * blanks to trimming and never looks like a second field.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"

/*
 * Version 2 ends with "end = <fields>": a record cut short (a disk that
 * lost its tail, a hand edit) is refused whole instead of read as a
 * smaller one, whose missing fields a module would take for defaults.
 * Version 1 records (without it) are still read.
 */
#define VERSION_NAME	"version"
#define VERSION		"2"
#define VERSION_OLD	"1"
#define END_NAME	"end"
#define HEADER		"# netdump-server outbox record: the server " \
			    "rewrites it whole\n" VERSION_NAME " = " VERSION "\n"
#define END_MAX		32	/* bytes of the end line */

/* The format's own names, which no field may have. */
static bool
reserved(const char *name)
{
	return strcmp(name, VERSION_NAME) == 0 || strcmp(name, END_NAME) == 0;
}

static bool
name_ok(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' ||
	    strlen(name) > ND_RECORD_NAME_MAX)
		return false;
	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		    name[i] == '-' || name[i] == '.'))
			return false;
	return true;
}

static bool
escaped(unsigned char c)
{
	return c <= ' ' || c >= 0x7f || c == '%' || c == '=';
}

/* Bytes the line of f takes, with its "\n". */
static size_t
line_len(const struct nds_field *f)
{
	size_t n = strlen(f->name) + 4;
	const unsigned char *p;

	for (p = (const unsigned char *)f->value; *p != '\0'; p++)
		n += escaped(*p) ? 3 : 1;
	return n;
}

static char *
put_line(char *o, const struct nds_field *f)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t n = strlen(f->name);

	memcpy(o, f->name, n);
	o += n;
	memcpy(o, " = ", 3);
	o += 3;
	for (p = (const unsigned char *)f->value; *p != '\0'; p++) {
		if (escaped(*p)) {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 0xf];
		} else
			*o++ = (char)*p;
	}
	*o++ = '\n';
	return o;
}

char *
nd_record_format(const struct nds_field *fields, size_t n, size_t *len,
    char *err, size_t errlen)
{
	size_t i, total = sizeof(HEADER) - 1 + END_MAX;
	char *text, *o;

	for (i = 0; i < n; i++) {
		if (!name_ok(fields[i].name) || reserved(fields[i].name)) {
			snprintf(err, errlen, "field %zu: \"%.64s\" cannot be "
			    "a name", i + 1, fields[i].name != NULL ?
			    fields[i].name : "");
			return NULL;
		}
		if (fields[i].value == NULL) {
			snprintf(err, errlen, "field %zu (%s): no value", i + 1,
			    fields[i].name);
			return NULL;
		}
		total += line_len(&fields[i]);
	}
	if ((text = malloc(total + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(text, HEADER, sizeof(HEADER) - 1);
	o = text + sizeof(HEADER) - 1;
	for (i = 0; i < n; i++)
		o = put_line(o, &fields[i]);
	o += snprintf(o, END_MAX, END_NAME " = %zu\n", n);
	*len = (size_t)(o - text);
	return text;
}

/* s without the blanks (and a '\r') around it, in place. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode s in place; -1 on a bad escape or an escaped NUL. */
static int
unescape(char *s)
{
	char *o = s;
	int hi, lo;

	for (; *s != '\0'; s++) {
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		if ((hi = hexval(s[1])) == -1 || (lo = hexval(s[2])) == -1 ||
		    (hi == 0 && lo == 0))
			return -1;
		*o++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*o = '\0';
	return 0;
}

/* Where a parse is: before the version line, in the fields, past the end. */
enum parse_state { BEFORE, FIELDS_V1, FIELDS, ENDED };

/* The version line: which fields follow, or -1 and err. */
static int
version_line(const char *name, const char *value, unsigned lineno,
    enum parse_state *state, char *err, size_t errlen)
{
	if (strcmp(name, VERSION_NAME) != 0) {
		snprintf(err, errlen, "line %u: no version line", lineno);
		return -1;
	}
	if (strcmp(value, VERSION) == 0)
		*state = FIELDS;
	else if (strcmp(value, VERSION_OLD) == 0)
		*state = FIELDS_V1;
	else {
		snprintf(err, errlen, "line %u: version %.16s is not "
		    VERSION_OLD " or " VERSION, lineno, value);
		return -1;
	}
	return 0;
}

/* The end line: the number of fields before it, in a version 2 record. */
static int
end_line(const char *value, unsigned lineno, const struct nd_record *rec,
    enum parse_state *state, char *err, size_t errlen)
{
	char count[24];

	if (*state != FIELDS) {
		snprintf(err, errlen, "line %u: an end line in a version "
		    VERSION_OLD " record", lineno);
		return -1;
	}
	snprintf(count, sizeof(count), "%zu", rec->nfields);
	if (strcmp(value, count) != 0) {
		snprintf(err, errlen, "line %u: an end line that does not "
		    "end %zu fields", lineno, rec->nfields);
		return -1;
	}
	*state = ENDED;
	return 0;
}

/*
 * One line of buf: the version line first, then fields into rec (which
 * has room), then the end line. 1 for a field, 0 for nothing, -1 and err
 * on a bad line.
 */
static int
parse_line(char *line, unsigned lineno, enum parse_state *state,
    struct nd_record *rec, char *err, size_t errlen)
{
	char *eq, *name, *value;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	if (*state == ENDED) {
		snprintf(err, errlen, "line %u: after the end line", lineno);
		return -1;
	}
	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(err, errlen, "line %u: no '='", lineno);
		return -1;
	}
	*eq = '\0';
	name = trim(line);
	value = trim(eq + 1);
	if (*state == BEFORE)
		return version_line(name, value, lineno, state, err, errlen);
	if (strcmp(name, END_NAME) == 0)
		return end_line(value, lineno, rec, state, err, errlen);
	if (!name_ok(name) || reserved(name)) {
		snprintf(err, errlen, "line %u: bad name", lineno);
		return -1;
	}
	if (unescape(value) == -1) {
		snprintf(err, errlen, "line %u: bad value for %s", lineno,
		    name);
		return -1;
	}
	rec->fields[rec->nfields].name = name;
	rec->fields[rec->nfields].value = value;
	rec->nfields++;
	return 1;
}

int
nd_record_parse(const char *text, size_t len, struct nd_record *rec,
    char *err, size_t errlen)
{
	enum parse_state state = BEFORE;
	char *line, *next;
	size_t lines = 1, i;
	unsigned lineno = 0;

	memset(rec, 0, sizeof(*rec));
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL byte in the record");
		return -1;
	}
	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	if ((rec->buf = malloc(len + 1)) == NULL ||
	    (rec->fields = calloc(lines, sizeof(*rec->fields))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(rec->buf, text, len);
	rec->buf[len] = '\0';
	for (line = rec->buf; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (parse_line(line, lineno, &state, rec, err, errlen) == -1)
			goto fail;
	}
	if (state == BEFORE) {
		snprintf(err, errlen, "no version line");
		goto fail;
	}
	if (state == FIELDS) {
		snprintf(err, errlen, "no end line: the record was cut short");
		goto fail;
	}
	return 0;
fail:
	nd_record_free(rec);
	return -1;
}

void
nd_record_free(struct nd_record *rec)
{
	free(rec->fields);
	free(rec->buf);
	memset(rec, 0, sizeof(*rec));
}

ssize_t
nd_read_file(int dirfd, const char *name, void *buf, size_t size)
{
	struct stat sb;
	size_t done = 0;
	ssize_t n, r = -1;
	int fd, save;

	/* O_NONBLOCK: a FIFO in its place must not hang the outbox. */
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1)
		goto out;
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > size) {
		errno = EFBIG;
		goto out;
	}
	/* Read to the end, not to st_size: a file that grew is refused. */
	for (;;) {
		if (done == size) {
			char c;

			if ((n = read(fd, &c, 1)) == -1 && errno == EINTR)
				continue;
			if (n == -1)
				goto out;
			if (n > 0) {
				errno = EFBIG;
				goto out;
			}
			break;
		}
		n = read(fd, (char *)buf + done, size - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	r = (ssize_t)done;
out:
	save = errno;
	close(fd);
	errno = save;
	return r;
}
