/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the sink unit tests share: a mock of the host a module is handed
 * (struct nds_host, which keeps every line logged through it), a default
 * struct nds_dump for a test to tweak, temporary directory trees, and a
 * few file helpers. The helpers fail the running test through cmocka.
 */
#ifndef MOCK_HOST_H
#define MOCK_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netdump/sink.h"

#define MOCK_T_START	1795419292	/* 2026-11-23 07:34:52 UTC */

/*
 * The libc symbol a stand-in for a file function (openat, fallocate)
 * passes its calls on to: with 64-bit offsets on a 32-bit system, the
 * headers name the stand-in's definition NAME64, and libc's NAME would
 * take 32-bit offsets (and open without O_LARGEFILE).
 */
#if defined(_FILE_OFFSET_BITS) && _FILE_OFFSET_BITS == 64 && \
    UINTPTR_MAX == 0xffffffffu
#define MOCK_LIBC_FILE_FN(name)	name "64"
#else
#define MOCK_LIBC_FILE_FN(name)	name
#endif

/*
 * The host, ABI NDS_ABI_MAJOR.NDS_ABI_MINOR. Its log callback echoes each
 * line to stderr as "name[level]: line" and keeps it, from any thread;
 * object_name, spool_open, read_file, manifest_read and the pool_*
 * services are the real host's; dump_number keeps the last number told
 * (and each recent dump's, by id); space_ok checks the reserve alone, as
 * there is no server floor. There is no outbox.
 */
extern const struct nds_host mock_host;

/* The last number a sink gave a dump through dump_number; 0 if none. */
unsigned int	 mock_host_dump_number(void);
/* The number a sink gave this dump (by its id), if it gave one lately. */
bool		 mock_host_number_of(const struct nds_dump *, unsigned *);

/*
 * A module's config struct, filled as the host fills it: the defaults,
 * then settings, a NULL-terminated list of "name=value" (NULL: none). The
 * test fails on an unknown name or a bad value. Free with
 * mock_config_free.
 */
void		*mock_config(const struct nds_sink_module *,
		    const char *const *settings);
/* The same, but NULL with the host's message in err on a bad setting. */
void		*mock_config_try(const struct nds_sink_module *,
		    const char *const *settings, char *err, size_t errlen);
void		 mock_config_free(const struct nds_sink_module *, void *config);

/*
 * The tests' fallocate stands in for libc's: punching a hole fails with
 * mock_punch_errno when it is not 0 (EOPNOTSUPP as vfat and older NFS
 * answer, or a real error such as EIO); mock_punch_calls counts the
 * punches asked for. mock_host_reset sets both to 0.
 */
extern int	 mock_punch_errno;
extern unsigned	 mock_punch_calls;

/*
 * Forget every line so far, and the stand-in's settings above; name
 * prefixes the stderr echo.
 */
void		 mock_host_reset(const char *name);
/* How many lines were logged at NDS_LOG_WARNING or worse. */
unsigned int	 mock_host_warnings(void);
/*
 * How many lines begin with start and contain substr; NULL matches
 * any line.
 */
unsigned int	 mock_host_count(const char *start, const char *substr);
/* Some line contains substr. */
bool		 mock_host_logged(const char *substr);
/*
 * Some line beginning with start (NULL: any) contains substr, or the test
 * fails and shows those lines.
 */
void		 mock_host_assert_logged(const char *start, const char *substr);

/*
 * A dump as the host would hand it to begin: the next id, client
 * "host1" at 192.0.2.7:20024, path ".", started at MOCK_T_START,
 * still receiving, no KDH. dumpdir and dumpdir_fd as given.
 */
void		 mock_dump_init(struct nds_dump *dump, const char *dumpdir,
		    int dumpdir_fd);
/*
 * A KDH of zeros but for compression (NDS_COMP_*). The test points
 * dump->kdh at it when the host would: at the end of the dump.
 */
void		 mock_kdh_init(struct nds_kdh *kdh, uint8_t compression);

/*
 * mkdtemp "$TMPDIR/name.XXXXXX" (/tmp without TMPDIR) into base; -1 if
 * it does not fit or fails.
 */
int		 mock_tmpdir(char *base, size_t size, const char *name);
/* mkdir base/sub, its path into path; -1 if it does not fit or fails. */
int		 mock_subdir(char *path, size_t size, const char *base,
		    const char *sub);
/* Remove the tree at base, symbolic links not followed. */
void		 mock_rmtree(const char *base);

/*
 * The whole file at path (relative to dfd, or AT_FDCWD), NUL-terminated,
 * its length in *lenp if lenp is not NULL; the test fails if it cannot be
 * read. Free it.
 */
char		*mock_slurp_at(int dfd, const char *path, size_t *lenp);
/* Nothing is at path (relative to dfd), not even a dangling link. */
void		 mock_assert_absent_at(int dfd, const char *path);

#endif /* MOCK_HOST_H */
