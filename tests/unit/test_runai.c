/* Unit tests of what the worker reads of the RUNAI CLI (runai.h): workload
 * names and the output of describe. */
#include "runai.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* describe returns the status parse_describe finds in text ("" for none),
 * its exit code in *code. */
static const char *describe(const char *text, int *code)
{
	static char buf[64];
	char *st = wn_runai_parse_describe(text, code);
	snprintf(buf, sizeof(buf), "%s", st ? st : "");
	free(st);
	return buf;
}

TEST(describe_reads_json_text_before_it_and_the_failed_container)
{
	int code;
	CHECK_EQ_STR(describe("{\"status\":\"Running\"}", &code), "Running");
	CHECK_EQ_INT(code, -1);
	/* a warning line of the CLI's before the JSON */
	CHECK_EQ_STR(describe("Warning: a newer version is out\n{\"status\":\"Succeeded\"}", &code),
	             "Succeeded");
	/* the container that failed, not a sidecar that exited 0 */
	CHECK_EQ_STR(describe("{\"status\":\"Failed\",\"pods\":[{\"containers\":[{\"exitCode\":0},"
	                      "{\"exitCode\":3}]}]}",
	                      &code),
	             "Failed");
	CHECK_EQ_INT(code, 3);
	CHECK_EQ_STR(describe("{\"status\":\"Failed\",\"containers\":[{\"exitCode\":0}]}", &code),
	             "Failed");
	CHECK_EQ_INT(code, 0);
	/* text */
	CHECK_EQ_STR(describe("Name: w\nStatus: Pending\n", &code), "Pending");
	CHECK_EQ_STR(describe("nothing of use", &code), "");
}

TEST(long_names_are_cut_with_a_hash_of_the_whole)
{
	char a[128], b[128];
	snprintf(a, sizeof(a), "wn-proj%s-15-1",
	         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	snprintf(b, sizeof(b), "wn-proj%s-16-1",
	         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	char *na = wn_runai_name(a), *nb = wn_runai_name(b);
	CHECK_EQ_INT(strlen(na), 63);
	CHECK(strcmp(na, nb) != 0);
	CHECK(strncmp(na, "wn-projxxx", 10) == 0);
	char *again = wn_runai_name(na);
	CHECK_EQ_STR(again, na);
	free(again);
	free(na);
	free(nb);
	char *shortname = wn_runai_name("wn-P_1-7-2");
	CHECK_EQ_STR(shortname, "wn-p-1-7-2");
	free(shortname);
}

TEST_MAIN()
