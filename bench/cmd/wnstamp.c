/* wnstamp: prints the wall clock (CLOCK_REALTIME) in nanoseconds since the
 * epoch, then a newline: the command of the worker benchmark's latency row
 * (bench/worker.sh), whose output is the moment the command started. Linked
 * statically, so that its own start is an exec and no dynamic loading. */
#include <stdio.h>
#include <time.h>

int main(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("%lld%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	return 0;
}
