/* Unit tests of the tag the slurm formatter gives each submission (sbatch
 * --comment), by which a worker started again finds a job it submitted
 * before the server learnt its SLURM job id. */
#include "err.h"
#include "slurm.h"
#include "test.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* find: wn_slurm_tag_find with its answers put in one string ("" for no). */
static char *find(const char *comment, const char *owner, uint64_t job)
{
	uint32_t att = 0;
	size_t index = 0, count = 0;
	if (!wn_slurm_tag_find(comment, owner, job, &att, &index, &count))
		return wn_xstrdup("");
	return wn_xasprintf("attempt %u, %zu of %zu", (unsigned)att, index, count);
}

#define CHECK_FIND(comment, owner, job, want)                                                      \
	do {                                                                                       \
		char *got_ = find(comment, owner, job);                                            \
		CHECK_EQ_STR(got_, want);                                                          \
		free(got_);                                                                        \
	} while (0)

TEST(a_plain_job_is_tagged_with_its_attempt)
{
	uint64_t id = 12;
	uint32_t att = 3;
	char *tag = wn_slurm_tag("w1.00000000000000aa", &id, &att, 1, NULL);
	CHECK_EQ_STR(tag, "whatsnext:w1.00000000000000aa:12.3");
	CHECK_FIND(tag, "w1.00000000000000aa", 12, "attempt 3, 0 of 1");
	CHECK_FIND(tag, "w1.00000000000000aa", 13, "");
	/* another worker, or the same name serving another server */
	CHECK_FIND(tag, "w2.00000000000000aa", 12, "");
	CHECK_FIND(tag, "w1.00000000000000ab", 12, "");
	CHECK_FIND(tag, "w1", 12, "");
	free(tag);
}

TEST(an_array_names_its_elements_in_order)
{
	uint64_t ids[] = {12, 13, 14, 15, 19, 20};
	uint32_t atts[] = {1, 1, 1, 1, 2, 1};
	char *tag = wn_slurm_tag("w", ids, atts, 6, NULL);
	CHECK_EQ_STR(tag, "whatsnext:w:12-15.1,19.2,20.1");
	CHECK_FIND(tag, "w", 12, "attempt 1, 0 of 6");
	CHECK_FIND(tag, "w", 15, "attempt 1, 3 of 6");
	CHECK_FIND(tag, "w", 19, "attempt 2, 4 of 6");
	CHECK_FIND(tag, "w", 20, "attempt 1, 5 of 6");
	CHECK_FIND(tag, "w", 16, "");
	free(tag);
}

TEST(the_tasks_own_comment_follows_the_tag)
{
	uint64_t id = 12;
	uint32_t att = 1;
	char *tag = wn_slurm_tag("w", &id, &att, 1, "lr 0.1, whatsnext:w:13.1");
	CHECK_EQ_STR(tag, "whatsnext:w:12.1 lr 0.1, whatsnext:w:13.1");
	CHECK_FIND(tag, "w", 12, "attempt 1, 0 of 1");
	CHECK_FIND(tag, "w", 13, ""); /* the task's text names nothing */
	free(tag);
	char note[WN_SLURM_TAG_MAX];
	memset(note, 'x', sizeof(note) - 1);
	note[sizeof(note) - 1] = '\0';
	CHECK(wn_slurm_tag("w", &id, &att, 1, note) == NULL);
}

TEST(a_tag_too_long_for_slurm_is_not_made)
{
	enum { N = 400 };
	uint64_t ids[N];
	uint32_t atts[N];
	for (size_t i = 0; i < N; i++) {
		ids[i] = 1000 + 2 * i; /* no two consecutive: no ranges */
		atts[i] = 1;
	}
	char *tag = wn_slurm_tag("w", ids, atts, N, NULL);
	CHECK(tag == NULL);
	tag = wn_slurm_tag("w", ids, atts, 50, NULL);
	CHECK(tag != NULL && strlen(tag) <= WN_SLURM_TAG_MAX);
	free(tag);
}

TEST(other_comments_name_nothing)
{
	static const char *const bad[] = {
	    "",
	    "(null)",
	    "whatsnext:w",
	    "whatsnext:w:",
	    "whatsnext:w:5",
	    "whatsnext:w:5.",
	    "whatsnext:w:5.0",
	    "whatsnext:w:5.4294967296",
	    "whatsnext:w:5.1,",
	    "whatsnext:w:5.1;6.1",
	    "whatsnext:w:6-5.1",
	    "whatsnext:w:5-.1",
	    "whatsnext:w:1-99999999999.1",
	    "whatsnext:w:99999999999999999999999.1",
	    "whatsnext:w:5.1x",
	    "whatsnext:ww:5.1",
	    "mine whatsnext:w:5.1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_FIND(bad[i], "w", 5, "");
	CHECK(!wn_slurm_tag_find(NULL, "w", 5, &(uint32_t){0}, &(size_t){0}, &(size_t){0}));
}

TEST(the_owner_names_the_worker_and_its_server)
{
	char *a = wn_slurm_owner("w1", "tcp://a:7640");
	char *b = wn_slurm_owner("w1", "tcp://b:7640");
	char *a2 = wn_slurm_owner("w1", "tcp://a:7640");
	CHECK(strncmp(a, "w1.", 3) == 0 && strlen(a) == 3 + 16);
	CHECK(strcmp(a, b) != 0);
	CHECK_EQ_STR(a, a2);
	CHECK(strpbrk(a, ":,") == NULL);
	free(a);
	free(b);
	free(a2);
}

TEST_MAIN()
