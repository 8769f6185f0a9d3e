/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memwarm: write once to most of the memory the machine has available,
 * then give it back.
 *
 * A virtual machine's host often backs guest memory only when the guest
 * first writes it, and that first write is slow: on the bench machine (a
 * KVM guest, 24 GiB, 3 minutes after boot) a 1 GiB pwrite into new page
 * cache took 2.5 s, and 0.25 s once all free memory had been written
 * (58 s for 21 GiB). The receivers the bench compares write into the page
 * cache, all but the ack-only one, so whichever ran first on fresh memory
 * would pay for the host and the ratios would measure the order and the
 * writing, not the receivers. bench.sh runs this once before
 * its first scenario, after stopping free page reporting, which would
 * hand freed memory back to the host and make it slow again. On a
 * machine whose memory is already backed it costs a memset of the memory.
 *
 * Prints "warmed=BYTES seconds=S".
 */
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define HEADROOM	(1ULL << 30)	/* left for everything else */
#define CHUNK		(256ULL << 20)	/* written, then MemAvailable again */
#define MAX_CHUNKS	4096		/* 1 TiB */

/* MemAvailable from /proc/meminfo, in bytes; 0 if unknown. */
static unsigned long long
mem_available(void)
{
	unsigned long long kib = 0;
	char line[256];
	FILE *fp = fopen("/proc/meminfo", "r");

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	fclose(fp);
	return kib * 1024;
}

int
main(void)
{
	static void *chunk[MAX_CHUNKS];
	struct timespec a, z;
	FILE *fp;
	size_t n = 0, i;

	/* Should memory run short after all, this is the one to go. */
	if ((fp = fopen("/proc/self/oom_score_adj", "w")) != NULL) {
		fputs("1000", fp);
		fclose(fp);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	/*
	 * A chunk at a time, while MemAvailable (an estimate, and others may
	 * allocate meanwhile) leaves the headroom; MAP_POPULATE makes the
	 * kernel zero each page now: the writes.
	 */
	while (n < MAX_CHUNKS && mem_available() > HEADROOM + CHUNK) {
		chunk[n] = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (chunk[n] == MAP_FAILED)
			break;
		n++;
	}
	for (i = 0; i < n; i++)
		munmap(chunk[i], CHUNK);
	clock_gettime(CLOCK_MONOTONIC, &z);
	printf("warmed=%llu seconds=%.1f\n", (unsigned long long)n * CHUNK,
	    (double)(z.tv_sec - a.tv_sec) + (double)(z.tv_nsec - a.tv_nsec) /
	    1e9);
	return 0;
}
