/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netdump-server: collect FreeBSD kernel crash dumps sent with netdump(4)
 * and store them through sink modules.
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "index.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "option.h"
#include "outbox.h"
#include "receiver.h"
#include "status.h"
#include "runtime.h"
#include "sigseen.h"
#include "sink_load.h"

/* Descriptors to take if the hard limit allows (see raise_nofile). */
#define NOFILE_WANT	16384

enum {
	OPT_PORT = 256,
	OPT_CONCURRENT,
	OPT_DAEMON,
	OPT_VERSION,
	OPT_CHECK,
	OPT_TIMEOUT,
	OPT_SECURE,
	OPT_STATUS,
	OPT_MDOC,
	OPT_LIST,
	OPT_JSON,
	OPT_BY_SIGNATURE,
	OPT_HOSTS,
};

static const struct option longopts[] = {
	{ "config",		required_argument, NULL, 'c' },
	{ "address",		required_argument, NULL, 'a' },
	{ "dumpdir",		required_argument, NULL, 'd' },
	{ "foreground",		no_argument,	   NULL, 'D' },
	{ "default-path",	required_argument, NULL, 'p' },
	{ "pidfile",		required_argument, NULL, 'P' },
	{ "port",		required_argument, NULL, OPT_PORT },
	{ "concurrent",		required_argument, NULL, OPT_CONCURRENT },
	{ "timeout",		required_argument, NULL, OPT_TIMEOUT },
	{ "daemon",		no_argument,	   NULL, OPT_DAEMON },
	{ "check-config",	no_argument,	   NULL, OPT_CHECK },
	{ "handler",		required_argument, NULL, 'i' },
	{ "secure",		no_argument,	   NULL, OPT_SECURE },
	{ "status",		no_argument,	   NULL, OPT_STATUS },
	{ "list",		no_argument,	   NULL, OPT_LIST },
	{ "json",		no_argument,	   NULL, OPT_JSON },
	{ "by-signature",	no_argument,	   NULL, OPT_BY_SIGNATURE },
	{ "hosts",		no_argument,	   NULL, OPT_HOSTS },
	{ "module-help",	required_argument, NULL, 'H' },
	{ "mdoc",		no_argument,	   NULL, OPT_MDOC },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: netdump-server [-Dhv] [-a address] [-c config] [-d dumpdir]\n"
	    "                      [-H module] [-i handler] [-P pidfile]\n"
	    "                      [-p default-path] [--port port]\n"
	    "                      [--concurrent n] [--timeout s] [--secure]\n"
	    "                      [--daemon] [--check-config] [--status]\n"
	    "                      [--list [--by-signature | --hosts] [--json]]\n"
	    "                      [--mdoc] [--version]\n"
	    "  -c, --config FILE      configuration (default: built-in: local\n"
	    "                         file sink, savecore layout)\n"
	    "  -a, --address ADDR     listen address (0.0.0.0)\n"
	    "      --port PORT        herald port (20023)\n"
	    "  -d, --dumpdir DIR      dump directory (/var/crash)\n"
	    "  -p, --default-path P   path for clients that send none (.)\n"
	    "  -P, --pidfile FILE     write and lock a pid file\n"
	    "      --concurrent N     at most N dumps at once (16)\n"
	    "      --timeout S        close a silent dump after S seconds (60)\n"
	    "  -i, --handler SCRIPT   run SCRIPT after each dump (netdumpd's -i)\n"
	    "      --secure           refuse every client not in 'allow'\n"
	    "  -D, --foreground       stay in the foreground, log to stderr\n"
	    "      --daemon           detach and log to syslog\n"
	    "      --check-config     print the effective configuration, exit\n"
	    "      --list             the dumps beneath the dump directory, from\n"
	    "                         their manifests; --by-signature groups\n"
	    "                         them, --hosts shows each client's last;\n"
	    "                         --json as JSON\n"
	    "      --status           ask the running daemon what it is doing\n"
	    "  -H, --module-help MOD  print a sink module's options (server:\n"
	    "                         the [server] keys), exit\n"
	    "      --mdoc             with -H: as the man page's entries\n"
	    "  -v, --verbose          debug logging\n");
}

/* Command-line values, applied over the configuration file. */
struct overrides {
	const char	*config;
	const char	*address, *dumpdir, *default_path, *pidfile;
	const char	*port, *concurrent, *timeout, *handler;
	const char	*module_help;	/* -H MODULE */
	bool		 mdoc;		/* -H as the man page's entries */
	bool		 daemon, foreground, secure;
	bool		 check, status;
	bool		 list, json;		/* --list [--json] */
	enum nd_list_view view;		/* --by-signature, --hosts */
	int		 verbose;
	/* In the daemon at last: sinks loaded from now on start at once. */
	bool		 sinks_may_start;
	int		 dumpdir_fd;	/* for the sinks' start */
	char		*cwd;		/* where the server was started */
};

static void
replace(char **field, const char *value)
{
	char *copy;

	if (value == NULL)
		return;
	if ((copy = strdup(value)) == NULL)
		fatal("strdup");
	free(*field);
	*field = copy;
}

static unsigned
number_arg(const char *opt, const char *value, uint64_t max)
{
	char err[128];
	uint64_t v = 0;

	if (nd_parse_uint(value, max, &v, err, sizeof(err)) == -1)
		fatalx("%s: %s", opt, err);
	if (v == 0)
		fatalx("%s: must be at least 1", opt);
	return (unsigned)v;
}

static void
apply_overrides(struct nd_conf *conf, const struct overrides *o)
{
	struct nd_server_conf *sv = &conf->server;
	char msg[256];

	/* The configuration's checks, for what it would have said. */
	if (o->default_path != NULL && nd_conf_check_default_path(
	    o->default_path, msg, sizeof(msg)) == -1)
		fatalx("-p: %s", msg);
	replace(&sv->address, o->address);
	replace(&sv->dumpdir, o->dumpdir);
	replace(&sv->default_path, o->default_path);
	replace(&sv->pidfile, o->pidfile);
	replace(&sv->handler, o->handler);
	if (o->secure)
		sv->secure = true;
	if (o->port)
		sv->port = (uint16_t)number_arg("--port", o->port, 65535);
	if (o->concurrent)
		sv->max_concurrent_dumps = number_arg("--concurrent",
		    o->concurrent, 65535);
	if (o->timeout)
		sv->timeout = number_arg("--timeout", o->timeout, 86400);
	if (o->daemon)
		sv->daemon = true;
	if (o->foreground)
		sv->daemon = false;
}

/*
 * A relative path as from the directory the server was started in: the
 * daemon runs in "/", and a hook runs in the dump directory, so a path
 * checked in one place and used in another must not be relative.
 */
static int
absolute(char **path, const char *cwd)
{
	char *abs;

	if (*path == NULL || (*path)[0] == '/' || (*path)[0] == '\0' ||
	    cwd == NULL)
		return 0;
	if (asprintf(&abs, "%s/%s", cwd, *path) == -1)
		return -1;
	free(*path);
	*path = abs;
	return 0;
}

/*
 * The configuration file (or the built-in one), the command line over it,
 * and every sink loaded: at start (current NULL), and again for each
 * SIGHUP, when the sinks of current that did not change go on.
 */
static struct nd_runtime *
load_runtime(void *arg, const struct nd_runtime *current, char *err,
    size_t errlen)
{
	const struct overrides *o = arg;
	struct nd_conf *conf;
	struct nd_sinkset *sinks;
	struct nd_runtime *rt;

	if (o->check)
		nd_outbox_check_only();	/* it leaves nothing behind */
	conf = o->config ? nd_conf_load_file(o->config, err, errlen) :
	    nd_conf_default(err, errlen);
	if (conf == NULL)
		return NULL;
	apply_overrides(conf, o);
	if (nd_conf_server_check(&conf->server, conf->source, err, errlen) ==
	    -1) {
		nd_conf_free(conf);
		return NULL;
	}
	if (absolute(&conf->server.dumpdir, o->cwd) == -1 ||
	    absolute(&conf->server.scripts_dir, o->cwd) == -1 ||
	    absolute(&conf->server.handler, o->cwd) == -1 ||
	    absolute(&conf->server.pidfile, o->cwd) == -1 ||
	    absolute(&conf->server.sink_dir, o->cwd) == -1) {
		snprintf(err, errlen, "out of memory");
		nd_conf_free(conf);
		return NULL;
	}
	if ((sinks = nd_sinkset_create(conf, current != NULL ?
	    current->sinks : NULL, err, errlen)) == NULL) {
		nd_conf_free(conf);
		return NULL;
	}
	if ((rt = nd_runtime_new(conf, sinks)) == NULL) {
		snprintf(err, errlen, "out of memory");
		nd_sinkset_free(sinks);
		nd_conf_free(conf);
		return NULL;
	}
	if (o->sinks_may_start)
		nd_sinkset_start(sinks, o->dumpdir_fd);
	return rt;
}

/*
 * Whether user pw could list and write into dir: asked by a child that
 * became pw. Listing too: the sinks open it to store, retention and the
 * signature counts read it, and a drop box (0300) would fail every dump.
 */
static bool
usable_as(const struct passwd *pw, const char *dir)
{
	pid_t pid;
	int status;

	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		if (setgroups(1, &pw->pw_gid) == -1 ||
		    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
			_exit(2);
		_exit(access(dir, R_OK | W_OK | X_OK) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * Give up root once the sockets are bound. The dump directory must be
 * readable and writable by that user: say so plainly when it is not.
 */
static void
drop_privileges(const struct nd_server_conf *sv, const char *status_path)
{
	struct passwd *pw;

	if (sv->user == NULL)
		return;
	if ((pw = getpwnam(sv->user)) == NULL)
		fatalx("user %s: no such user", sv->user);
	if (geteuid() != 0) {
		if (geteuid() != pw->pw_uid)
			fatalx("user = %s: only root can change user", sv->user);
		return;
	}
	/* Ask before dropping: once dropped, we could not tidy up. */
	if (!usable_as(pw, sv->dumpdir)) {
		(void)unlink(status_path);
		fatalx("dump directory %s is not readable and writable by user "
		    "%s (chown it to %s with mode 0700, or run as another user)",
		    sv->dumpdir, sv->user, sv->user);
	}
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1)
		fatal("cannot become user %s", sv->user);
	if (setuid(0) != -1)
		fatalx("still able to regain root after dropping to %s",
		    sv->user);
	log_info("running as user %s", sv->user);
}

static int
open_dumpdir(const char *dir)
{
	int fd;

	if (mkdir(dir, 0700) == 0)
		log_info("created dump directory %s", dir);
	else if (errno != EEXIST)
		fatal("cannot create dump directory %s", dir);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("dump directory %s", dir);
	if (access(dir, W_OK | X_OK) == -1)
		fatal("dump directory %s is not writable by this user", dir);
	return fd;
}

/*
 * Lock the pid file before detaching, so a second instance fails loudly in
 * the foreground; the pid is written after the last fork.
 */
static int
pidfile_lock(const char *path)
{
	char buf[32] = "";
	struct stat st, now;
	int fd, tries = 0;

again:

	/*
	 * Root must not write through a link, or into a file someone else
	 * owns or has a second name for: the pid file's directory may belong
	 * to the user the daemon drops to.
	 */
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY |
	    O_CLOEXEC, 0644)) == -1)
		fatal("pid file %s%s", path, errno == ELOOP ?
		    " is a symbolic link" : "");
	if (fstat(fd, &st) == -1)
		fatal("pid file %s", path);
	/* Removed by the server that just exited: open the new one. */
	if (st.st_nlink == 0 && ++tries < 10) {
		close(fd);
		goto again;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid())
		fatalx("pid file %s is not a plain file of ours (a second link, "
		    "another owner or not a regular file): refusing to use it",
		    path);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			fatalx("pid file %s is locked: netdump-server is "
			    "already running (pid %s)", path,
			    buf[0] ? buf : "?");
		}
		fatal("pid file %s: flock", path);
	}
	/*
	 * A server that exits removes its pid file, then lets go of the
	 * lock: one locked after that is a file no longer at path.
	 */
	if (stat(path, &now) == -1 || now.st_dev != st.st_dev ||
	    now.st_ino != st.st_ino) {
		close(fd);
		if (++tries < 10)
			goto again;
		fatalx("pid file %s keeps being replaced", path);
	}
	/* Locked: a pid left there is a dead one until ours is written. */
	if (ftruncate(fd, 0) == -1)
		fatal("pid file %s", path);
	return fd;
}

static void
pidfile_write(int fd, const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_warn("pid file %s", path);
}

/*
 * Each session waiting for its first data holds a socket, and a HERALD
 * flood keeps thousands waiting: take up to NOFILE_WANT descriptors if
 * the hard limit allows (systemd's soft limit is 1024, for programs that
 * still use select(); nothing here does).
 */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= NOFILE_WANT ||
	    rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max < NOFILE_WANT ? rl.rlim_max : NOFILE_WANT;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE %llu",
		    (unsigned long long)rl.rlim_cur);
}

/*
 * Into the background. The process started exits once the daemon says it
 * is ready (daemon_ready: its pid file written, its threads started), so
 * that whoever started it (an init system reading the pid file) sees a
 * server that runs; 1 if the daemon died first (why is in its log). The
 * daemon's end of the pipe: *ready.
 */
static void
daemonize(int *ready)
{
	pid_t pid;
	ssize_t n;
	char c;
	int fd, pfd[2];

	if (pipe2(pfd, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		sigset_t none;

		/* Ctrl-C or a timeout may stop the wait (signals are blocked). */
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		close(pfd[1]);
		do
			n = read(pfd[0], &c, 1);
		while (n == -1 && errno == EINTR);
		_exit(n == 1 && c == 'r' ? 0 : 1);
	}
	close(pfd[0]);
	if (setsid() == -1)
		fatal("setsid");
	/* The second fork makes sure we never reacquire a terminal. */
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	*ready = pfd[1];
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/*
 * -H MODULE and --status: no server is started. "-H server" needs no
 * configuration: its rows are the server's own.
 */
static int
help_or_status(const struct overrides *o)
{
	struct nd_module *m;
	struct nd_conf *conf;
	char err[ND_CONF_ERRSIZE];
	int rc;

	if (o->module_help != NULL && strcmp(o->module_help, "server") == 0) {
		nd_conf_server_help(stdout, o->mdoc);
		return 0;
	}
	conf = o->config ? nd_conf_load_file(o->config, err,
	    sizeof(err)) : nd_conf_default(err, sizeof(err));
	if (conf == NULL)
		fatalx("%s", err);
	apply_overrides(conf, o);
	if (o->status) {
		rc = nd_status_query(&conf->server);
		nd_conf_free(conf);
		return rc;
	}
	if (o->list) {
		rc = nd_index_list(conf->server.dumpdir, o->view, o->json,
		    stdout);
		nd_conf_free(conf);
		return rc;
	}
	m = nd_module_load(conf->server.sink_dir, o->module_help, err,
	    sizeof(err));
	if (m == NULL)
		fatalx("%s", err);
	if (o->mdoc)
		nd_options_mdoc(m->desc->options, m->name, stdout);
	else
		nd_module_print_options(m, stdout);
	nd_module_unload(m);
	nd_conf_free(conf);
	return 0;
}

/* The command line into o; an exit status, or -1 to go on. */
static int
parse_args(int argc, char *argv[], struct overrides *o)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "a:c:Dd:H:hi:P:p:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			o->address = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'i':
			o->handler = optarg;
			break;
		case 'D':
			o->foreground = true;
			break;
		case 'd':
			o->dumpdir = optarg;
			break;
		case 'H':
			o->module_help = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'P':
			o->pidfile = optarg;
			break;
		case 'p':
			o->default_path = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case OPT_PORT:
			o->port = optarg;
			break;
		case OPT_CONCURRENT:
			o->concurrent = optarg;
			break;
		case OPT_TIMEOUT:
			o->timeout = optarg;
			break;
		case OPT_DAEMON:
			o->daemon = true;
			break;
		case OPT_CHECK:
			o->check = true;
			break;
		case OPT_SECURE:
			o->secure = true;
			break;
		case OPT_STATUS:
			o->status = true;
			break;
		case OPT_MDOC:
			o->mdoc = true;
			break;
		case OPT_LIST:
			o->list = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_BY_SIGNATURE:
			o->view = ND_LIST_SIGNATURES;
			break;
		case OPT_HOSTS:
			o->view = ND_LIST_HOSTS;
			break;
		case OPT_VERSION:
			printf("netdump-server %s (sink ABI %d.%d)\n", ND_VERSION,
			    NDS_ABI_MAJOR, NDS_ABI_MINOR);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (o->mdoc && o->module_help == NULL) ||
	    ((o->json || o->view != ND_LIST_DUMPS) && !o->list)) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/*
 * The first runtime, for the life of the process: a fatal error after it
 * is loaded (a locked pid file, a dump directory the user cannot write)
 * exits with it still referenced from here, not leaked.
 */
static struct nd_runtime *rt;

/*
 * Relative paths stay as the user meant them after the chdir: the start
 * directory is kept, and -c made absolute now. Returns what to free.
 */
static char *
absolute_config(struct overrides *o)
{
	char *config = NULL;

	if ((o->cwd = getcwd(NULL, 0)) == NULL)
		fatal("getcwd");
	if (o->config != NULL && o->config[0] != '/') {
		if (asprintf(&config, "%s/%s", o->cwd, o->config) == -1)
			fatal("asprintf");
		o->config = config;
	}
	return config;
}

/*
 * Descriptors 0 to 2 held open, on /dev/null where the caller closed
 * them: a pid file or a socket given one of them would be lost to the
 * /dev/null that daemonize() puts there (its lock with it).
 */
static void
hold_std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/* Signals are read from a signalfd; no thread may take them. */
static void
block_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
		fatalx("pthread_sigmask failed");
	signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char *argv[])
{
	struct overrides o = { 0 };
	char *config;
	struct nd_conf *conf;
	struct nd_receiver *rx;
	char err[ND_CONF_ERRSIZE], status_path[PATH_MAX], *pidfile = NULL;
	int ch, dumpdir_fd, pid_fd = -1, metrics_fd = -1, ready_fd = -1, rc;

	hold_std_fds();
	log_init(1, 0);
	if ((ch = parse_args(argc, argv, &o)) != -1)
		return ch;
	log_setverbose(o.verbose);
	config = absolute_config(&o);

	if (o.module_help != NULL || o.status || o.list) {
		rc = help_or_status(&o);
		free(config);
		free(o.cwd);
		return rc;
	}
	if ((rt = load_runtime(&o, NULL, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	conf = rt->conf;
	if (o.check) {
		nd_conf_print(conf, stdout);
		nd_runtime_unref(rt);
		free(config);
		free(o.cwd);
		return 0;
	}

	block_signals();
	raise_nofile();

	if (conf->server.pidfile) {
		if ((pidfile = strdup(conf->server.pidfile)) == NULL)
			fatal("strdup");
		pid_fd = pidfile_lock(pidfile);
	}
	dumpdir_fd = open_dumpdir(conf->server.dumpdir);
	nd_status_path(&conf->server, status_path, sizeof(status_path));
	if ((rx = nd_receiver_create(rt, dumpdir_fd, load_runtime, &o, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	/* Bound here, before the fork: a bad address stops the start. */
	if (conf->server.metrics != NULL && (metrics_fd = nd_metrics_listen(
	    conf->server.metrics, err, sizeof(err))) == -1)
		fatalx("%s", err);
	drop_privileges(&conf->server, status_path);
	if (conf->server.daemon) {
		log_init(0, o.verbose);
		daemonize(&ready_fd);
	}
	/* Threads of the sinks start here, where they survive: no more forks. */
	o.sinks_may_start = true;
	o.dumpdir_fd = dumpdir_fd;
	nd_runtime_reaper_start();
	nd_sinkset_start(rt->sinks, dumpdir_fd);
	if (pid_fd != -1)
		pidfile_write(pid_fd, pidfile);
	/* Threads too: after the fork. */
	if (nd_sigseen_start(conf->server.dumpdir) == -1)
		log_warnx("signatures: cannot start the thread that counts "
		    "earlier dumps; repeat counts start from this run");
	if (conf->nnotifies > 0 && nd_notify_start() == -1)
		fatalx("notify: cannot start the webhooks' thread");
	if (metrics_fd != -1 && nd_metrics_start(metrics_fd, dumpdir_fd, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("netdump-server %s listening on %s:%" PRId64
	    ", dumps in %s (%s)",
	    ND_VERSION, conf->server.address, conf->server.port,
	    conf->server.dumpdir, conf->source);
	if (ready_fd != -1) {
		/* The process started may exit now: the daemon runs. */
		if (write(ready_fd, "r", 1) != 1)
			log_warn("telling the process started that it runs");
		close(ready_fd);
	}

	rc = nd_receiver_run(rx);
	nd_metrics_stop();
	nd_notify_stop();
	nd_sigseen_stop();

	nd_receiver_free(rx);
	/* Old configurations' sinks end before the directory they use. */
	nd_runtime_reaper_stop();
	close(dumpdir_fd);
	if (pid_fd != -1) {
		(void)unlink(pidfile);
		close(pid_fd);
	}
	free(pidfile);
	free(config);
	free(o.cwd);
	log_info("exiting");
	return rc;
}
