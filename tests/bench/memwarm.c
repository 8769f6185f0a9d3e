/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memwarm: write once to most of the memory the machine has available,
 * then give it back.
 *
 * A virtual machine's host often backs guest memory only when the guest
 * first writes it, and that first write is slow: on the bench machine (a
 * KVM guest, 24 GiB, 3 minutes after boot) a 1 GiB pwrite into new page
 * cache took 2.5 s, and 0.25 s once this program had run (it took 58 s
 * for 21 GiB). Every receiver the bench compares writes into the page
 * cache, so whichever ran first on fresh memory would pay for the host
 * and the ratios would measure the order. bench.sh runs this once before
 * its first scenario, after stopping free page reporting, which would
 * hand freed memory back to the host and make it slow again. On a
 * machine whose memory is already backed it costs a memset of the memory.
 *
 * Prints "warmed=BYTES seconds=S".
 */
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEADROOM	(1ULL << 30)	/* left for everything else */

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
	unsigned long long avail = mem_available(), len;
	struct timespec a, z;
	void *p = MAP_FAILED;

	if (avail <= 2 * HEADROOM) {
		printf("warmed=0 seconds=0\n");
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	/* MAP_POPULATE makes the kernel zero every page now: the writes. */
	for (len = avail - HEADROOM; len >= HEADROOM; len /= 2) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		    MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE, -1, 0);
		if (p != MAP_FAILED)
			break;
	}
	if (p == MAP_FAILED) {
		perror("memwarm: mmap");
		return 1;
	}
	munmap(p, len);
	clock_gettime(CLOCK_MONOTONIC, &z);
	printf("warmed=%llu seconds=%.1f\n", len, (double)(z.tv_sec -
	    a.tv_sec) + (double)(z.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
