/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Panic signatures (see signature.h). The panic string is normalised so
 * that the same bug gives the same text on every machine and every time:
 *
 *  1. Only the first line counts; a leading console timestamp
 *     ("[   12.345678] ", Linux: digits, dots, blanks) is dropped.
 *  2. Runs of white space become one space; the ends are trimmed.
 *  3. "0x" and hex digits become "0x?" (addresses, pointers, masks).
 *  4. A word (letters, digits, '_') made only of decimal digits becomes
 *     "#" (sizes, offsets, line numbers, cpu and thread ids); one made of
 *     hex digits that holds a digit and starts with one, or is 8 or more
 *     long, becomes "?" (bare hex: "deadc0dd", "fffff80012345000").
 *     Words that merely contain digits stay ("ada0", "VERIFY3", "em0").
 *  5. A path through the kernel sources keeps "sys/" and what follows:
 *     "/usr/src/sys/kern/subr_trap.c:180" and
 *     "/build/src/sys/kern/subr_trap.c:181" are both
 *     "sys/kern/subr_trap.c:#".
 *  6. The result is cut at ND_SIG_PANIC_MAX bytes, at the end of a word
 *     when there is a space to cut at.
 *  7. A control byte becomes '?': the text goes to logs and terminals.
 * Rule 1 also drops the caller id a CONFIG_PRINTK_CALLER kernel prints
 * after the time ("[ T1234] ", "[ C2] "), which differs from run to run.
 *
 * Backtrace frames come from what FreeBSD's kdb_backtrace prints before
 * a dump (sys/kern/subr_kdb.c; stack_print_ddb in sys/kern/subr_stack.c):
 * "#1 0xffffffff80b7b5a2 at vpanic+0x182" since FreeBSD 12, and
 * "vpanic() at vpanic+0x182/frame 0xfffffe..." from ddb's db_trace before
 * it. The frames of the panic machinery itself (kdb_backtrace, vpanic,
 * panic, trap_fatal ...) say nothing about the bug and are left out.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "signature.h"
#include "util.h"

/* Frames every panic goes through (sys/kern, sys/amd64/amd64 ...). */
static const char *const machinery[] = {
	"kdb_backtrace", "db_trace_self_wrapper", "db_trace_self",
	"db_trace_thread", "vpanic", "panic", "kassert_panic", "trap_fatal",
	"trap_pfault", "trap", "calltrap", "dblfault_handler", "doadump",
	"kern_reboot", "kdb_enter", "kdb_trap", "__panic",
};

static bool
is_word(int c)
{
	return isalnum(c) || c == '_';
}

struct out {
	char	*p;
	size_t	 n, cap;
	bool	 full;	/* something did not fit */
};

static void
put(struct out *o, const char *s, size_t len)
{
	size_t cap = o->cap - 1 < ND_SIG_PANIC_MAX ? o->cap - 1 :
	    ND_SIG_PANIC_MAX;

	while (len-- > 0) {
		if (o->n >= cap) {
			o->full = true;
			break;
		}
		o->p[o->n++] = *s++;
	}
	o->p[o->n] = '\0';
}

/* The masked form of the word [w, w + len), rule 4. */
static void
put_word(struct out *o, const char *w, size_t len)
{
	size_t i, digits = 0, hex = 0;

	for (i = 0; i < len; i++) {
		digits += isdigit((unsigned char)w[i]) != 0;
		hex += isxdigit((unsigned char)w[i]) != 0;
	}
	if (digits == len)
		put(o, "#", 1);
	else if (hex == len && digits > 0 &&
	    (isdigit((unsigned char)w[0]) || len >= 8))
		put(o, "?", 1);
	else
		put(o, w, len);
}

size_t
nd_panic_normalise(const char *in, size_t inlen, char *out, size_t outlen)
{
	struct out o = { out, 0, outlen, false };
	const char *p = in, *end, *sys, *tok;
	bool space = false, start;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	end = memchr(in, '\n', inlen);
	end = end != NULL ? end : in + inlen;
	if ((tok = memchr(in, '\0', (size_t)(end - in))) != NULL)
		end = tok;
	while (p < end && isspace((unsigned char)*p))
		p++;
	/* Rule 1: "[    1.002000] ", then "[ T1234] " or "[ C2] ". */
	if (p < end && *p == '[') {
		bool digit = false;

		for (tok = p + 1; tok < end && (isdigit((unsigned char)*tok) ||
		    *tok == '.' || isspace((unsigned char)*tok)); tok++)
			digit = digit || isdigit((unsigned char)*tok);
		if (digit && tok < end && *tok == ']')
			p = tok + 1;
		for (tok = p; tok < end && *tok == ' '; tok++)
			;
		/* Only after a time: alone it would not be one. */
		if (p != in && p[-1] == ']' && tok + 3 < end && tok[0] == '[') {
			const char *q = tok + 1;

			while (q < end && *q == ' ')
				q++;
			if (q < end && (*q == 'T' || *q == 'C')) {
				for (q++; q < end && isdigit((unsigned char)*q);
				    q++)
					;
				if (q < end && *q == ']' &&
				    isdigit((unsigned char)q[-1]))
					p = q + 1;
			}
		}
	}
	while (p < end && !o.full) {
		if (isspace((unsigned char)*p)) {
			space = o.n > 0;
			p++;
			continue;
		}
		start = o.n == 0 || space;
		if (space)
			put(&o, " ", 1);
		space = false;
		/* Rule 5, at the start of a token. */
		if (*p == '/' && start) {
			for (tok = p; tok < end && !isspace((unsigned char)*tok);
			    tok++)
				;
			sys = NULL;
			for (const char *q = p; q + 5 <= tok; q++)
				if (memcmp(q, "/sys/", 5) == 0)
					sys = q;
			if (sys != NULL)
				p = sys + 1;
		}
		if (p + 2 < end + 0 && p[0] == '0' && (p[1] == 'x' ||
		    p[1] == 'X') && isxdigit((unsigned char)p[2]) &&
		    (p == in || !is_word((unsigned char)p[-1]))) {
			put(&o, "0x?", 3);
			for (p += 2; p < end && isxdigit((unsigned char)*p); p++)
				;
			continue;
		}
		if (is_word((unsigned char)*p)) {
			for (tok = p; tok < end && is_word((unsigned char)*tok);
			    tok++)
				;
			put_word(&o, p, (size_t)(tok - p));
			p = tok;
			continue;
		}
		/* Rule 7: a control is '?' (no terminal escapes), C1 too. */
		if (end - p >= 2 && ND_UTF8_C1((const unsigned char *)p)) {
			put(&o, "??", 2);
			p += 2;
			continue;
		}
		put(&o, iscntrl((unsigned char)*p) ? "?" : p, 1);
		p++;
	}
	/* Cut at a word's end, not inside a word a second pass reads anew. */
	if (o.full && (tok = strrchr(out, ' ')) != NULL)
		o.n = (size_t)(tok - out);
	while (o.n > 0 && out[o.n - 1] == ' ')
		o.n--;
	out[o.n] = '\0';
	return o.n;
}

/* The function a backtrace line names, into name; false if none. */
static bool
frame_name(const char *line, const char *end, char name[ND_SIG_FRAME_MAX])
{
	const char *at, *p = line, *e;
	size_t n;

	while (end > p && end[-1] == '\r')
		end--;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	/* msgbuf_show_timestamp's "[123] " */
	if (p < end && *p == '[' && (at = memchr(p, ']', (size_t)(end - p))) !=
	    NULL)
		for (p = at + 1; p < end && *p == ' '; p++)
			;
	if (p < end && *p == '#') {
		/* "#1 0xffffffff80b7b5a2 at vpanic+0x182" */
		for (at = p; at + 4 <= end && memcmp(at, " at ", 4) != 0; at++)
			;
		if (at + 4 > end)
			return false;
		p = at + 4;
		for (e = p; e < end && *e != '+' && *e != ' '; e++)
			;
	} else {
		/*
		 * "vpanic() at vpanic+0x182/frame 0xfffffe..."; i386 puts
		 * the arguments between the parentheses.
		 */
		for (e = p; e < end && *e != '('; e++)
			;
		for (at = e; at + 5 <= end && memcmp(at, ") at ", 5) != 0;
		    at++)
			;
		if (e >= end || at + 5 > end)
			return false;
	}
	n = (size_t)(e - p);
	if (n == 0 || n >= ND_SIG_FRAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_word((unsigned char)p[i]) && p[i] != '.' && p[i] != '$')
			return false;
	memcpy(name, p, n);
	name[n] = '\0';
	return true;
}

unsigned
nd_backtrace_frames(const char *text, size_t len,
    char frames[][ND_SIG_FRAME_MAX], unsigned max)
{
	static const char mark[] = "KDB: stack backtrace:";
	const char *p = NULL, *end = text + len, *eol;
	char name[ND_SIG_FRAME_MAX];
	unsigned n = 0, lines = 0;
	size_t i;

	for (const char *q = text; q + sizeof(mark) - 1 <= end; q++) {
		q = memchr(q, 'K', (size_t)(end - q));
		if (q == NULL || q + sizeof(mark) - 1 > end)
			break;
		if (memcmp(q, mark, sizeof(mark) - 1) == 0)
			p = q + sizeof(mark) - 1;
	}
	if (p == NULL)
		return 0;
	for (; p < end && n < max && lines < 64; p = eol + 1, lines++) {
		eol = memchr(p, '\n', (size_t)(end - p));
		eol = eol != NULL ? eol : end;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			continue;
		/*
		 * "--- trap 0xc, rip = ..." between frames; arm64's
		 * "\t pc = 0x... lr = 0x..." and "\t sp = ... fp = ..." under
		 * each.
		 */
		if (eol - p >= 3 && memcmp(p, "---", 3) == 0)
			continue;
		if (*p == '\t' || (eol - p >= 6 && (memcmp(p, "  pc =", 6) ==
		    0 || memcmp(p, "  sp =", 6) == 0)))
			continue;
		if (!frame_name(p, eol, name))
			break;
		for (i = 0; i < sizeof(machinery) / sizeof(machinery[0]); i++)
			if (strcmp(name, machinery[i]) == 0)
				break;
		if (i < sizeof(machinery) / sizeof(machinery[0]))
			continue;
		memcpy(frames[n++], name, sizeof(name));
		if (eol == end)
			break;
	}
	return n;
}

bool
nd_signature_fill(struct nd_signature *sig, const char *arch,
    const char *version, const char *panic, const char *msgbuf,
    size_t msgbuf_len)
{
	size_t n;

	memset(sig, 0, sizeof(*sig));
	if (panic == NULL || nd_panic_normalise(panic, strlen(panic),
	    sig->panic, sizeof(sig->panic)) == 0)
		return false;
	snprintf(sig->arch, sizeof(sig->arch), "%s", arch != NULL ? arch :
	    "");
	nd_text_blank(sig->arch, "");
	if (version != NULL) {
		n = strcspn(version, "\n");
		while (n > 0 && isspace((unsigned char)version[n - 1]))
			n--;
		snprintf(sig->version, sizeof(sig->version), "%.*s", (int)n,
		    version);
		nd_text_blank(sig->version, "");
	}
	if (msgbuf != NULL)
		sig->nframes = nd_backtrace_frames(msgbuf, msgbuf_len,
		    sig->frames, ND_SIG_FRAMES);
	return true;
}

int
nd_signature_canon(const struct nd_signature *sig, char *buf, size_t len)
{
	return snprintf(buf, len, "%s\n%s\n%s\n%s\n%s\n%s\n", sig->arch,
	    sig->version, sig->panic, sig->nframes > 0 ? sig->frames[0] : "",
	    sig->nframes > 1 ? sig->frames[1] : "",
	    sig->nframes > 2 ? sig->frames[2] : "");
}
