/* SPDX-License-Identifier: BSD-2-Clause */
/* OpenBSD-style logging: log_warn adds errno, fatal* only at startup. */
#ifndef ND_LOG_H
#define ND_LOG_H

#include <stdarg.h>

#define ND_PRINTF(f, a)	__attribute__((format(printf, f, a)))

void	log_init(int to_stderr, int verbose);
void	log_setverbose(int verbose);
int	log_getverbose(void);
void	log_warn(const char *, ...) ND_PRINTF(1, 2);
void	log_warnx(const char *, ...) ND_PRINTF(1, 2);
void	log_info(const char *, ...) ND_PRINTF(1, 2);
void	log_debug(const char *, ...) ND_PRINTF(1, 2);
void	vlog(int priority, const char *, va_list) ND_PRINTF(2, 0);
void	logit(int priority, const char *, ...) ND_PRINTF(2, 3);
__attribute__((noreturn)) void fatal(const char *, ...) ND_PRINTF(1, 2);
__attribute__((noreturn)) void fatalx(const char *, ...) ND_PRINTF(1, 2);

#endif /* ND_LOG_H */
