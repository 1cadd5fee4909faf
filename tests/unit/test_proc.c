/* Unit tests of the worker's reading of a run's log for its output tail
 * (wn_proc_tail): the last bytes of a regular file, and nothing, at once, of
 * anything else a run may have put at its log's path. */
#include "proc.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

TEST(the_tail_of_a_log_is_its_last_lines)
{
	write_file("run.log", "first line\nsecond line\nthird\n");
	char *t = wn_proc_tail("run.log", 100);
	CHECK_EQ_STR(t, "first line\nsecond line\nthird\n");
	free(t);
	t = wn_proc_tail("run.log", 12); /* the cut first line is dropped */
	CHECK_EQ_STR(t, "third\n");
	free(t);
	t = wn_proc_tail("missing.log", 100);
	CHECK_EQ_STR(t, "");
	free(t);
}

/* A run knows its log's path (beside $WN_RESULTS) and may replace the log
 * with a FIFO no one writes: reading its tail must not wait for a writer
 * (the job's runner waited for ever, the job RUNNING with its slot held). */
TEST(a_log_replaced_by_a_fifo_or_a_directory_has_no_tail)
{
	CHECK(mkfifo("fifo.log", 0600) == 0);
	alarm(20); /* a read that waits for a writer ends the case */
	char *t = wn_proc_tail("fifo.log", 100);
	alarm(0);
	CHECK_EQ_STR(t, "");
	free(t);
	CHECK(mkdir("dir.log", 0700) == 0);
	t = wn_proc_tail("dir.log", 100);
	CHECK_EQ_STR(t, "");
	free(t);
}

TEST_MAIN()
