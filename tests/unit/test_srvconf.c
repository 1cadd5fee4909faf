/* Unit tests for wnd's settings: defaults, the file, command-line overrides
 * and the errors a user sees for a bad file. */
#include "test.h"

#include "srvconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static char *load_error(const char *text)
{
	write_file("wnd.yaml", text);
	wn_srvconf c;
	wn_srvconf_defaults(&c);
	char *err = NULL;
	int rv = wn_srvconf_load(&c, "wnd.yaml", &err);
	CHECK(rv != 0);
	CHECK(err != NULL);
	/* a failed load keeps what was there */
	CHECK_EQ_STR(c.durability, "sync");
	wn_srvconf_release(&c);
	return err;
}

TEST(defaults)
{
	wn_srvconf c;
	wn_srvconf_defaults(&c);
	CHECK_EQ_STR(c.data, "wn-data");
	CHECK_EQ_INT(c.listen.n, 1);
	CHECK_EQ_STR(c.listen.v[0], "tcp://127.0.0.1:7640");
	CHECK_EQ_STR(c.durability, "sync");
	CHECK_EQ_INT(c.lease_ms, 60000);
	CHECK_EQ_INT(c.threads, 2);
	CHECK_EQ_STR(c.token, "");
	wn_srvconf_release(&c);
}

TEST(shipped_example_loads)
{
	wn_srvconf c;
	wn_srvconf_defaults(&c);
	char *err = NULL;
	char path[4096];
	snprintf(path, sizeof(path), "%s/config/wnd.yaml",
	         getenv("WN_SRC") ? getenv("WN_SRC") : SRC_DIR);
	int rv = wn_srvconf_load(&c, path, &err);
	if (rv != 0)
		fprintf(stderr, "# %s\n", err);
	CHECK_OK(rv);
	CHECK_EQ_STR(c.data, "wn-data");
	CHECK_EQ_INT(c.relaxed_ms, 100);
	wn_srvconf_release(&c);
}

TEST(file_then_command_line)
{
	write_file("wnd.yaml", "data: /var/lib/wn\nlisten: [ipc:///tmp/a, tcp://127.0.0.1:9]\n"
	                       "durability: relaxed\nlease_ms: 5000\n");
	wn_srvconf c;
	wn_srvconf_defaults(&c);
	char *err = NULL;
	CHECK_OK(wn_srvconf_load(&c, "wnd.yaml", &err));
	CHECK_EQ_STR(c.data, "/var/lib/wn");
	CHECK_EQ_INT(c.listen.n, 2);
	CHECK_EQ_STR(c.listen.v[1], "tcp://127.0.0.1:9");
	CHECK_EQ_STR(c.durability, "relaxed");
	CHECK_EQ_INT(c.threads, 2);
	CHECK_OK(wn_srvconf_set(&c, "lease_ms", "750", &err));
	CHECK_EQ_INT(c.lease_ms, 750);
	CHECK_OK(wn_srvconf_set(&c, "token", "it's: a secret", &err));
	CHECK_EQ_STR(c.token, "it's: a secret");
	CHECK(wn_srvconf_set(&c, "lease_ms", "10", &err) != 0);
	CHECK(strstr(err, "lease_ms") != NULL);
	free(err);
	CHECK_EQ_INT(c.lease_ms, 750);
	CHECK(wn_srvconf_set(&c, "durability", "fast", &err) != 0);
	free(err);
	CHECK_EQ_STR(c.durability, "relaxed");
	wn_srvconf_release(&c);
}

TEST(bad_files_say_where)
{
	char *err = load_error("data: x\nlisten: [a, b\n");
	CHECK(strstr(err, "wnd.yaml:") != NULL);
	free(err);
	err = load_error("data: x\nleas_ms: 5\n");
	CHECK(strstr(err, "wnd.yaml:2:1") != NULL);
	CHECK(strstr(err, "lease_ms") != NULL);
	free(err);
	err = load_error("threads: 1000\n");
	CHECK(strstr(err, "wnd.yaml:1:10") != NULL);
	free(err);
	/* a whole number past 64 bits is out of bounds, not "not a whole number" */
	err = load_error("threads: 99999999999999999999999\n");
	CHECK_EQ_STR(err, "wnd.yaml:1:10: 'threads' must be between 1 and 64, not "
	                  "99999999999999999999999");
	free(err);
	err = load_error("lease_ms: -99999999999999999999\n");
	CHECK(strstr(err, "'lease_ms' must be between 100 and ") != NULL);
	free(err);
	err = load_error("durability: fast\n");
	CHECK(strstr(err, "durability") != NULL);
	free(err);
	err = load_error("- a\n- b\n");
	CHECK(strstr(err, "mapping") != NULL);
	free(err);
	wn_srvconf c;
	wn_srvconf_defaults(&c);
	CHECK(wn_srvconf_load(&c, "missing.yaml", &err) != 0);
	CHECK(strstr(err, "missing.yaml") != NULL);
	free(err);
	wn_srvconf_release(&c);
}

/* A value given on the command line is taken as written, not read as YAML:
 * no comment, no empty value read as the default, no line break starting
 * another key, no line folded into a space. */
TEST(command_line_values_are_taken_as_written)
{
	wn_srvconf c;
	wn_srvconf_defaults(&c);
	char *err = NULL;
	CHECK_OK(wn_srvconf_set(&c, "data", "a\nb", &err));
	CHECK_EQ_STR(c.data, "a\nb");
	CHECK_OK(wn_srvconf_set(&c, "data", " x # y ", &err));
	CHECK_EQ_STR(c.data, " x # y ");
	CHECK(wn_srvconf_set(&c, "lease_ms", "5000 # five seconds", &err) != 0);
	CHECK_EQ_STR(err, "expected a whole number for 'lease_ms', not '5000 # five seconds'");
	free(err);
	CHECK(wn_srvconf_set(&c, "lease_ms", "", &err) != 0);
	CHECK_EQ_STR(err, "expected a whole number for 'lease_ms', not ''");
	free(err);
	CHECK(wn_srvconf_set(&c, "lease_ms", "5000\nthreads: 8", &err) != 0);
	CHECK(strstr(err, "expected a whole number for 'lease_ms'") == err);
	free(err);
	CHECK(wn_srvconf_set(&c, "lease_ms", "*a", &err) != 0);
	CHECK(strstr(err, "expected a whole number for 'lease_ms'") == err);
	free(err);
	CHECK_EQ_INT(c.lease_ms, 60000);
	CHECK_EQ_INT(c.threads, 2);
	CHECK(wn_srvconf_set(&c, "data", "", &err) != 0);
	CHECK_EQ_STR(err, "'data' must not be empty");
	free(err);
	CHECK(wn_srvconf_set(&c, "durability", "sync # the default", &err) != 0);
	free(err);
	CHECK_OK(wn_srvconf_set(&c, "insecure", "true", &err));
	CHECK(c.insecure);
	wn_srvconf_release(&c);
}

/* A key written without a value (`data:`) is refused rather than taken for
 * its default: a value left out would serve ./wn-data without a word. */
TEST(a_key_without_a_value_is_refused)
{
	char *err = load_error("lease_ms: 500\ndata:\n");
	CHECK_EQ_STR(err, "wnd.yaml:2:6: 'data' has no value: give it one, or leave the key out "
	                  "for its default (wn-data)");
	free(err);
	err = load_error("listen: ~\n");
	CHECK(strstr(err, "wnd.yaml:1:9: 'listen' has no value") == err);
	free(err);
	err = load_error("http: null\n");
	CHECK_EQ_STR(err, "wnd.yaml:1:7: 'http' has no value: give it one, or leave the key out "
	                  "for its default");
	free(err);
	/* an unknown key is named as such first */
	err = load_error("dta:\n");
	CHECK(strstr(err, "unknown key 'dta' (did you mean 'data'?)") != NULL);
	free(err);
	/* an empty string is a value: "" for http is off */
	wn_srvconf c;
	wn_srvconf_defaults(&c);
	write_file("wnd.yaml", "http: \"\"\ntoken: ''\n");
	CHECK_OK(wn_srvconf_load(&c, "wnd.yaml", &err));
	CHECK_EQ_STR(c.http, "");
	wn_srvconf_release(&c);
}

TEST_MAIN()
