/* Unit tests of the SLURM poller (slurm_poll): a poller belongs to one slurm
 * task, follows its jobs to their end through squeue, asks sacct about those
 * squeue no longer lists, and is made and freed with its task. squeue and
 * sacct are small scripts here that print what the case wrote for them and
 * note how they were called. */
#include "err.h"
#include "slurm.h"
#include "slurm_poll.h"
#include "test.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest wait for a job's end: a guard against a hang, not a measure. */
#define POLL_GUARD_MS 20000

/* write_file replaces path's content with text. */
static void write_file(const char *path, const char *text)
{
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	CHECK(f != NULL);
	fputs(text, f);
	CHECK(fclose(f) == 0);
	CHECK(rename(tmp, path) == 0);
}

/* fake makes the program NAME in the case's directory: it notes its
 * arguments in NAME.calls and prints NAME.out (or fails without one). */
static char *fake(const char *name)
{
	char *path = NULL, *script = NULL;
	CHECK(asprintf(&path, "%s/%s", wn_test_tmpdir(), name) > 0);
	CHECK(asprintf(&script,
	               "#!/bin/sh\nprintf '%%s\\n' \"$*\" >>'%s.calls'\n"
	               "[ -f '%s.out' ] || { echo 'no answer' >&2; exit 1; }\ncat '%s.out'\n",
	               path, path, path) > 0);
	write_file(path, script);
	CHECK(chmod(path, 0755) == 0);
	free(script);
	return path;
}

/* answer sets what the fake program name prints. */
static void answer(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.out", wn_test_tmpdir(), name);
	write_file(path, text);
}

/* calls returns the arguments the fake program name was called with, one
 * call a line (malloc'd; "" if never called). */
static char *calls(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.calls", wn_test_tmpdir(), name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return strdup("");
	char *text = calloc(1, 65536);
	size_t n = fread(text, 1, 65535, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* ended_within waits for efd to be written, up to ms; says whether it was. */
static bool ended_within(int efd, int ms)
{
	struct pollfd pf = {.fd = efd, .events = POLLIN};
	return poll(&pf, 1, ms) == 1;
}

static wn_slurm_poll *poller(const char *squeue, const char *sacct, const char *accounting,
                             int64_t poll_ms)
{
	wn_slurm_poll_conf c = {squeue, sacct, accounting, poll_ms};
	return wn_slurm_poll_new(&c);
}

TEST(a_job_squeue_says_ended_ends_with_its_state)
{
	char *sq = fake("squeue"), *sa = fake("sacct");
	answer("squeue", "123|123|RUNNING|0|None|\n");
	wn_slurm_poll *p = poller(sq, sa, "auto", 200);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	wn_slurm_watch *w = wn_slurm_poll_follow(p, "123", efd);
	wn_slurm_row row = {0};
	CHECK(!wn_slurm_poll_end(p, w, &row));
	answer("squeue", "123|123|FAILED|768|NonZeroExitCode|\n");
	CHECK(ended_within(efd, POLL_GUARD_MS));
	CHECK(wn_slurm_poll_ended(p, w));
	CHECK(wn_slurm_poll_end(p, w, &row));
	CHECK_EQ_STR(row.id, "123");
	CHECK_EQ_STR(row.state, "FAILED");
	CHECK_EQ_INT(row.exit_code, 3);
	CHECK_EQ_STR(row.reason, "NonZeroExitCode");
	wn_slurm_row_release(&row);
	char *c = calls("squeue");
	CHECK(strstr(c, "-h -r -t all -O ") != NULL);
	CHECK(strstr(c, " -j 123\n") != NULL);
	free(c);
	wn_slurm_poll_unfollow(p, w);
	wn_slurm_poll_free(p);
	close(efd);
	free(sq);
	free(sa);
}

TEST(a_job_squeue_forgot_is_asked_of_sacct)
{
	char *sq = fake("squeue"), *sa = fake("sacct");
	answer("squeue", "999|999|RUNNING|0|None|\n");
	answer("sacct", "124|124|COMPLETED|0:0\n");
	wn_slurm_poll *p = poller(sq, sa, "auto", 200);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int other = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	wn_slurm_watch *running = wn_slurm_poll_follow(p, "999", other);
	wn_slurm_watch *w = wn_slurm_poll_follow(p, "124", efd);
	CHECK(ended_within(efd, POLL_GUARD_MS));
	wn_slurm_row row = {0};
	CHECK(wn_slurm_poll_end(p, w, &row));
	CHECK_EQ_STR(row.state, "COMPLETED");
	CHECK_EQ_INT(row.exit_code, 0);
	wn_slurm_row_release(&row);
	CHECK(!wn_slurm_poll_ended(p, running)); /* squeue still lists it */
	char *c = calls("sacct");
	CHECK(strstr(c, "-n -P -X -o JobIDRaw,JobID,State,ExitCode -j 124\n") != NULL);
	CHECK(strstr(c, "999") == NULL);
	free(c);
	wn_slurm_poll_unfollow(p, w);
	wn_slurm_poll_unfollow(p, running);
	wn_slurm_poll_free(p);
	close(efd);
	close(other);
	free(sq);
	free(sa);
}

TEST(each_task_has_its_own_poller)
{
	/* two slurm tasks with commands of their own: each poller asks its
	 * own squeue about its own jobs, and one freed leaves the other going */
	char *sqa = fake("squeue-a"), *sqb = fake("squeue-b"), *sa = fake("sacct");
	answer("squeue-a", "1|1|COMPLETED|0|None|\n");
	answer("squeue-b", "2|2|COMPLETED|0|None|\n3|3|RUNNING|0|None|\n");
	wn_slurm_poll *pa = poller(sqa, sa, "none", 200);
	wn_slurm_poll *pb = poller(sqb, sa, "none", 200);
	int ea = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int eb = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int e3 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	wn_slurm_watch *wa = wn_slurm_poll_follow(pa, "1", ea);
	wn_slurm_watch *wb = wn_slurm_poll_follow(pb, "2", eb);
	wn_slurm_watch *w3 = wn_slurm_poll_follow(pb, "3", e3);
	CHECK(ended_within(ea, POLL_GUARD_MS));
	CHECK(ended_within(eb, POLL_GUARD_MS));
	wn_slurm_poll_unfollow(pa, wa);
	wn_slurm_poll_free(pa);
	char *c = calls("squeue-a");
	CHECK(strstr(c, "-j 1\n") != NULL);
	CHECK(strstr(c, "-j 2") == NULL && strstr(c, "3") == NULL);
	free(c);
	c = calls("squeue-b");
	CHECK(strstr(c, "-j 1\n") == NULL);
	free(c);
	CHECK(!wn_slurm_poll_ended(pb, w3));
	answer("squeue-b", "3|3|CANCELLED|0|None|\n");
	CHECK(ended_within(e3, POLL_GUARD_MS));
	wn_slurm_row row = {0};
	CHECK(wn_slurm_poll_end(pb, w3, &row));
	CHECK_EQ_STR(row.state, "CANCELLED");
	wn_slurm_row_release(&row);
	c = calls("sacct");
	CHECK_EQ_STR(c, ""); /* accounting none: never asked */
	free(c);
	wn_slurm_poll_unfollow(pb, wb);
	wn_slurm_poll_unfollow(pb, w3);
	wn_slurm_poll_free(pb);
	close(ea);
	close(eb);
	close(e3);
	free(sqa);
	free(sqb);
	free(sa);
}

TEST(a_kick_asks_again_before_the_next_round)
{
	/* a round an hour away: only the kick (after a cancel) asks again */
	char *sq = fake("squeue"), *sa = fake("sacct");
	answer("squeue", "7|7|CANCELLED|0|None|\n");
	wn_slurm_poll *p = poller(sq, sa, "auto", 3600000);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	wn_slurm_watch *w = wn_slurm_poll_follow(p, "7", efd);
	CHECK(!wn_slurm_poll_ended(p, w));
	wn_slurm_poll_kick(p);
	CHECK(ended_within(efd, POLL_GUARD_MS));
	CHECK(wn_slurm_poll_ended(p, w));
	wn_slurm_poll_unfollow(p, w);
	wn_slurm_poll_free(p);
	close(efd);
	free(sq);
	free(sa);
}

TEST(a_poller_is_freed_whether_or_not_it_followed_jobs)
{
	char *sq = fake("squeue"), *sa = fake("sacct");
	wn_slurm_poll_free(NULL);
	wn_slurm_poll_free(poller(sq, sa, "auto", 200)); /* its thread never started */
	answer("squeue", "8|8|RUNNING|0|None|\n");
	wn_slurm_poll *p = poller(sq, sa, "auto", 200);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (int i = 0; i < 3; i++) {
		/* the thread ends when nothing is followed and starts again */
		wn_slurm_watch *w = wn_slurm_poll_follow(p, "8", efd);
		CHECK(!wn_slurm_poll_ended(p, w));
		wn_slurm_poll_unfollow(p, w);
	}
	wn_slurm_watch *w = wn_slurm_poll_follow(p, "8", efd);
	wn_slurm_poll_unfollow(p, w);
	wn_slurm_poll_free(p); /* joins its thread */
	close(efd);
	free(sq);
	free(sa);
}

TEST_MAIN()
