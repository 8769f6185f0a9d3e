/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the work pool (core/workpool.c, nds_host.pool_*): no
 * thread before the first job, jobs in order, a state per thread made
 * once and ended once, a failed state retried with the job told,
 * threads that accept no signal, jobs that run side by side, and a
 * close that runs everything queued first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workpool.h"

#define NJOBS	64

/* A thread's state: who made it, how many jobs it ran. */
struct tstate {
	pthread_t	 owner;
	unsigned	 jobs;
};

struct fake {
	atomic_int	 inits, finis, fails_left, jobs_run;
	atomic_int	 order[NJOBS], next;
	atomic_int	 null_states;
	atomic_int	 in_job, waiting;
	unsigned	 barrier;	/* jobs that wait for each other */
	useconds_t	 sleep;
};

static struct fake g;

struct job {
	int		 n;
	bool		 blocked;	/* every signal blocked in the thread */
	bool		 own_state;	/* the state is this thread's */
};

static int
fake_init(void *arg, void **state)
{
	struct tstate *ts;

	assert_ptr_equal(arg, &g);
	if (atomic_fetch_sub(&g.fails_left, 1) > 0)
		return -1;
	assert_non_null(ts = calloc(1, sizeof(*ts)));
	ts->owner = pthread_self();
	atomic_fetch_add(&g.inits, 1);
	*state = ts;
	return 0;
}

static void
fake_fini(void *arg, void *state)
{
	struct tstate *ts = state;

	assert_ptr_equal(arg, &g);
	assert_true(pthread_equal(ts->owner, pthread_self()));
	atomic_fetch_add(&g.finis, 1);
	free(ts);
}

static void
fake_job(void *job, void *state)
{
	struct job *j = job;
	struct tstate *ts = state;
	sigset_t set;

	pthread_sigmask(SIG_SETMASK, NULL, &set);
	j->blocked = sigismember(&set, SIGTERM) == 1 &&
	    sigismember(&set, SIGHUP) == 1 && sigismember(&set, SIGINT) == 1;
	if (ts == NULL)
		atomic_fetch_add(&g.null_states, 1);
	else {
		j->own_state = pthread_equal(ts->owner, pthread_self());
		ts->jobs++;
	}
	if (g.barrier > 0) {
		/* Only returns when barrier jobs are in at the same time. */
		atomic_fetch_add(&g.waiting, 1);
		while (atomic_load(&g.waiting) < (int)g.barrier)
			usleep(1000);
	}
	if (g.sleep > 0)
		usleep(g.sleep);
	g.order[atomic_fetch_add(&g.next, 1)] = j->n;
	atomic_fetch_add(&g.jobs_run, 1);
}

static int
setup(void **state)
{
	(void)state;
	memset(&g, 0, sizeof(g));
	return 0;
}

static struct nds_pool *
open_pool(unsigned threads)
{
	struct nds_pool *p;
	char err[NDS_ERRBUF_SIZE];

	p = nd_pool_open(threads, fake_init, fake_fini, &g, "sink test (fake)",
	    err, sizeof(err));
	assert_non_null(p);
	return p;
}

static void
test_open_refuses(void **state)
{
	char err[NDS_ERRBUF_SIZE];

	(void)state;
	err[0] = '\0';
	assert_null(nd_pool_open(0, NULL, NULL, NULL, "p", err, sizeof(err)));
	assert_non_null(strstr(err, "at least one thread"));
	/* Closing nothing is nothing. */
	nd_pool_close(NULL);
}

/* No thread until the first job (the daemon forks after create). */
static void
test_lazy_start_order(void **state)
{
	struct nds_pool *p = open_pool(1);
	struct job jobs[NJOBS];
	int i;

	(void)state;
	assert_int_equal(nd_pool_running(p), 0);
	assert_int_equal(g.inits, 0);
	for (i = 0; i < NJOBS; i++) {
		jobs[i] = (struct job){ .n = i };
		assert_int_equal(nd_pool_submit(p, fake_job, &jobs[i]), 0);
		assert_int_equal(nd_pool_running(p), 1);
	}
	nd_pool_close(p);
	/* Everything queued ran before close returned, in order. */
	assert_int_equal(g.jobs_run, NJOBS);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(g.order[i], i);
		assert_true(jobs[i].blocked);
		assert_true(jobs[i].own_state);
	}
	assert_int_equal(g.inits, 1);
	assert_int_equal(g.finis, 1);
	assert_int_equal(g.null_states, 0);
}

/* Every thread gets its own state, made once and ended once. */
static void
test_states_side_by_side(void **state)
{
	struct nds_pool *p = open_pool(4);
	struct job jobs[4];
	int i;

	(void)state;
	assert_int_equal(nd_pool_start(p), 4);
	assert_int_equal(nd_pool_start(p), 4);	/* once */
	/* Four jobs that finish only together: four threads run them. */
	g.barrier = 4;
	for (i = 0; i < 4; i++) {
		jobs[i] = (struct job){ .n = i };
		assert_int_equal(nd_pool_submit(p, fake_job, &jobs[i]), 0);
	}
	nd_pool_close(p);
	assert_int_equal(g.jobs_run, 4);
	for (i = 0; i < 4; i++) {
		assert_true(jobs[i].blocked);
		assert_true(jobs[i].own_state);
	}
	assert_int_equal(g.inits, 4);
	assert_int_equal(g.finis, 4);
}

/*
 * A thread that cannot make its state runs the job with none (the job
 * fails itself rather than wait) and tries again before the next one.
 */
static void
test_state_fails(void **state)
{
	struct nds_pool *p = open_pool(1);
	struct job jobs[3];
	int i;

	(void)state;
	g.fails_left = 2;	/* at start, and before the first job */
	for (i = 0; i < 3; i++) {
		jobs[i] = (struct job){ .n = i };
		assert_int_equal(nd_pool_submit(p, fake_job, &jobs[i]), 0);
	}
	nd_pool_close(p);
	assert_int_equal(g.jobs_run, 3);
	assert_int_equal(g.null_states, 1);
	assert_false(jobs[0].own_state);
	assert_true(jobs[1].own_state);
	assert_true(jobs[2].own_state);
	assert_int_equal(g.inits, 1);
	assert_int_equal(g.finis, 1);
}

/* Closing a pool that never ran a job starts nothing, ends nothing. */
static void
test_close_unstarted(void **state)
{
	struct nds_pool *p = open_pool(3);
	struct job j = { .n = 7 };
	char err[NDS_ERRBUF_SIZE];

	(void)state;
	nd_pool_close(p);
	assert_int_equal(g.inits, 0);
	assert_int_equal(g.finis, 0);
	/* Without init and fini: the job gets a NULL state. */
	p = nd_pool_open(2, NULL, NULL, NULL, "p", err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(nd_pool_submit(p, fake_job, &j), 0);
	nd_pool_close(p);
	assert_true(j.blocked);
	assert_int_equal(g.null_states, 1);
}

/* Slow jobs queued deep: close waits for every one of them. */
static void
test_close_drains(void **state)
{
	struct nds_pool *p = open_pool(2);
	struct job jobs[NJOBS];
	int i;

	(void)state;
	g.sleep = 2000;
	for (i = 0; i < NJOBS; i++) {
		jobs[i] = (struct job){ .n = i };
		assert_int_equal(nd_pool_submit(p, fake_job, &jobs[i]), 0);
	}
	nd_pool_close(p);
	assert_int_equal(g.jobs_run, NJOBS);
	assert_int_equal(g.finis, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_open_refuses, setup),
		cmocka_unit_test_setup(test_lazy_start_order, setup),
		cmocka_unit_test_setup(test_states_side_by_side, setup),
		cmocka_unit_test_setup(test_state_fails, setup),
		cmocka_unit_test_setup(test_close_unstarted, setup),
		cmocka_unit_test_setup(test_close_drains, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
