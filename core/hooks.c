/* SPDX-License-Identifier: BSD-2-Clause */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "log.h"
#include "tally.h"

#define MAX_ARGS	8
#define MAX_ENV		16

static const char *const hook_names[] = {
	[ND_HOOK_CRASH] = "netdump-crash",
	[ND_HOOK_NOSPACE] = "netdump-nospace",
	[ND_HOOK_REBOOT] = "netdump-reboot",
	[ND_HOOK_START] = "netdump-start",
	[ND_HOOK_HANDLER] = "handler",
};

const char *
nd_hook_name(enum nd_hook h)
{
	return hook_names[h];
}

const char *
nd_hook_path(const struct nd_server_conf *sv, enum nd_hook h, char *buf,
    size_t size)
{
	if (h == ND_HOOK_HANDLER) {
		if (sv->handler == NULL)
			return NULL;
		snprintf(buf, size, "%s", sv->handler);
	} else if (sv->scripts_dir != NULL)
		snprintf(buf, size, "%s/%s", sv->scripts_dir, hook_names[h]);
	else
		snprintf(buf, size, "%s/scripts/%s", sv->dumpdir, hook_names[h]);
	return buf;
}

atomic_uint_fast64_t nd_hook_lines_quiet;
static pthread_mutex_t say_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t say_since;
static unsigned say_lines;

bool
nd_hook_say(bool herald)
{
	struct timespec ts;
	bool ok;

	if (!herald)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&say_lock);
	if (ts.tv_sec - say_since >= TALLY_EVERY) {
		say_since = ts.tv_sec;
		say_lines = 0;
	}
	if ((ok = say_lines < ND_HOOK_LINES))
		say_lines++;
	pthread_mutex_unlock(&say_lock);
	if (!ok)
		atomic_fetch_add(&nd_hook_lines_quiet, 1);
	return ok;
}

/*
 * Run only what we or root own, and what nobody else may rewrite: the
 * script runs with our privileges on input from the network.
 */
static int
fit_to_run(const char *path, enum nd_hook h, bool herald)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		if ((errno != ENOENT || h == ND_HOOK_HANDLER) &&
		    nd_hook_say(herald))
			log_warn("%s %s", hook_names[h], path);
		return 0;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
		if (nd_hook_say(herald))
			log_warnx("%s %s: not an executable file; not run",
			    hook_names[h], path);
		return 0;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		if (nd_hook_say(herald))
			log_warnx("%s %s: owned by uid %u, neither root nor "
			    "us; not run", hook_names[h], path,
			    (unsigned)st.st_uid);
		return 0;
	}
	if (st.st_mode & 0022) {
		if (nd_hook_say(herald))
			log_warnx("%s %s: writable by group or others; not run",
			    hook_names[h], path);
		return 0;
	}
	return 1;
}

/* Hooks running now, from any thread, and starts refused for max_hooks. */
static atomic_uint hooks_running;
atomic_uint_fast64_t nd_hooks_refused;

/*
 * capped: count against max_hooks. The receive thread's hooks are (one a
 * HERALD, which anyone can send); a dump worker's are not: there is one at
 * a time per dump, bounded by max_concurrent_dumps, and a flood of HERALDs
 * must not keep netdump-nospace, netdump-reboot or the handler from
 * running. herald: started for a HERALD (see nd_hook_say).
 */
static int
spawn(const struct nd_server_conf *sv, enum nd_hook h,
    const char *const args[], const char *const env[],
    struct nd_hook_proc *proc, bool capped, bool herald)
{
	char *argv[MAX_ARGS + 2], *envp[MAX_ENV + 2];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	size_t i, n;
	int error;

	memset(proc, 0, sizeof(*proc));
	proc->hook = h;
	proc->pidfd = -1;
	proc->herald = herald;
	if (nd_hook_path(sv, h, proc->path, sizeof(proc->path)) == NULL ||
	    !fit_to_run(proc->path, h, herald))
		return 0;
	/* Claim a place first: a storm of HERALDs must not fork a storm. */
	if (atomic_fetch_add(&hooks_running, 1) >= sv->max_hooks && capped) {
		atomic_fetch_sub(&hooks_running, 1);
		atomic_fetch_add(&nd_hooks_refused, 1);
		return -2;
	}
	argv[0] = proc->path;
	for (n = 0; args[n] != NULL && n < MAX_ARGS; n++)
		argv[n + 1] = (char *)args[n];
	argv[n + 1] = NULL;
	envp[0] = (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
	    "/usr/bin:/sbin:/bin";
	for (i = 0; env != NULL && env[i] != NULL && i < MAX_ENV; i++)
		envp[i + 1] = (char *)env[i];
	envp[i + 1] = NULL;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	posix_spawn_file_actions_addchdir_np(&fa, sv->dumpdir);
	/* Nothing else of ours: not even what our own parent left open. */
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	posix_spawnattr_init(&attr);
	/* Its own process group, so a timeout kills what it started too. */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	{
		sigset_t none, all;

		sigemptyset(&none);
		sigfillset(&all);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &all);
	}
	error = posix_spawn(&proc->pid, proc->path, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (error != 0) {
		atomic_fetch_sub(&hooks_running, 1);
		proc->pid = 0;
		errno = error;
		if (nd_hook_say(herald))
			log_warn("%s %s: cannot run", hook_names[h],
			    proc->path);
		return -1;
	}
	proc->pidfd = (int)syscall(SYS_pidfd_open, proc->pid, 0);
	if (proc->pidfd == -1) {
		if (nd_hook_say(herald))
			log_warn("%s: pidfd_open", hook_names[h]);
		nd_hook_kill(proc, "cannot be watched");	/* pid is 0 then */
		return -1;
	}
	if (nd_hook_say(herald))
		log_info("%s %s started (pid %ld)", hook_names[h], proc->path,
		    (long)proc->pid);
	return 1;
}

int
nd_hook_start(const struct nd_server_conf *sv, enum nd_hook h,
    const char *const args[], const char *const env[],
    struct nd_hook_proc *proc, bool herald)
{
	return spawn(sv, h, args, env, proc, true, herald);
}

int
nd_hook_start_worker(const struct nd_server_conf *sv, enum nd_hook h,
    const char *const args[], const char *const env[],
    struct nd_hook_proc *proc)
{
	return spawn(sv, h, args, env, proc, false, false);
}

int
nd_hook_wait(struct nd_hook_proc *proc, int timeout_ms)
{
	struct pollfd pfd = { .fd = proc->pidfd, .events = POLLIN };
	int r;

	if (proc->pid <= 0)
		return -1;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r == -1 && errno == EINTR);
	/* Not known to have exited: waitpid would block. */
	if (r <= 0)
		return ND_HOOK_RUNNING;
	return nd_hook_reap(proc);
}

int
nd_hook_reap(struct nd_hook_proc *proc)
{
	int status, rc;

	/* Never a pid of 0 or less: kill and waitpid would mean others. */
	if (proc->pid <= 0)
		return -1;
	while (waitpid(proc->pid, &status, 0) == -1)
		if (errno != EINTR) {
			log_warn("%s: waitpid", hook_names[proc->hook]);
			rc = -1;
			goto out;
		}
	if (WIFEXITED(status)) {
		rc = WEXITSTATUS(status);
		if (nd_hook_say(proc->herald))
			log_info("%s %s exited with status %d",
			    hook_names[proc->hook], proc->path, rc);
	} else {
		rc = -1;
		if (nd_hook_say(proc->herald))
			log_warnx("%s %s died of signal %d",
			    hook_names[proc->hook], proc->path,
			    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
out:
	if (proc->pidfd != -1)
		close(proc->pidfd);
	proc->pidfd = -1;
	proc->pid = 0;
	atomic_fetch_sub(&hooks_running, 1);
	return rc;
}

void
nd_hook_kill(struct nd_hook_proc *proc, const char *why)
{
	if (proc->pid <= 0)
		return;
	if (nd_hook_say(proc->herald))
		log_warnx("%s %s (pid %ld) %s; killed",
		    hook_names[proc->hook], proc->path, (long)proc->pid, why);
	(void)kill(-proc->pid, SIGKILL);
	(void)kill(proc->pid, SIGKILL);
	(void)nd_hook_reap(proc);
}

int
nd_hook_run(const struct nd_server_conf *sv, enum nd_hook h,
    const char *const args[], const char *const env[])
{
	struct nd_hook_proc proc;
	int r;

	if ((r = spawn(sv, h, args, env, &proc, false, false)) <= 0)
		return r == 0 ? -2 : -1;
	if ((r = nd_hook_wait(&proc, (int)sv->hook_timeout * 1000)) ==
	    ND_HOOK_RUNNING) {
		nd_hook_kill(&proc, "ran past hook_timeout");
		return -1;
	}
	return r;
}
