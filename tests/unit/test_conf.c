/* Unit tests of the YAML loader and the key tables (src/common/conf.h). */
#include "conf.h"
#include "strbuf.h"
#include "err.h"
#include "test.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wn_conf_doc *load(const char *text)
{
	wn_conf_doc *d = NULL;
	char *err = NULL;
	int rc = wn_conf_load_string("t.yaml", text, strlen(text), &d, &err);
	if (rc != WN_OK)
		wn_test_fail(__FILE__, __LINE__, "load failed: %s", err);
	return d;
}

/* load_error loads text, requires a failure and returns the message. */
static char *load_error(const char *text)
{
	wn_conf_doc *d = NULL;
	char *err = NULL;
	int rc = wn_conf_load_string("t.yaml", text, strlen(text), &d, &err);
	CHECK_EQ_INT(rc, WN_EINVAL);
	CHECK(d == NULL);
	CHECK(err != NULL);
	return err;
}

#define CHECK_HAS(hay, needle)                                                                     \
	do {                                                                                       \
		if (strstr((hay), (needle)) == NULL)                                               \
			wn_test_fail(__FILE__, __LINE__, "'%s' does not contain '%s'", (hay),      \
			             (needle));                                                    \
	} while (0)

TEST(tree_has_kinds_and_positions)
{
	wn_conf_doc *d = load("name: w1\n"
	                      "slots: 4\n"
	                      "list:\n"
	                      "  - a\n"
	                      "  - \"b c\"\n"
	                      "map: {x: 1, y: [2, 3]}\n");
	const wn_conf_node *root = wn_conf_root(d);
	CHECK_EQ_INT(root->kind, WN_CONF_MAP);
	CHECK_EQ_INT(root->n, 4);
	const wn_conf_node *name = wn_conf_get(root, "name");
	CHECK(name != NULL);
	CHECK_EQ_INT(name->kind, WN_CONF_SCALAR);
	CHECK_EQ_STR(name->str, "w1");
	CHECK_EQ_INT(name->line, 1);
	CHECK_EQ_INT(name->col, 7);
	CHECK(name->plain);
	const wn_conf_node *list = wn_conf_get(root, "list");
	CHECK_EQ_INT(list->kind, WN_CONF_SEQ);
	CHECK_EQ_INT(list->n, 2);
	CHECK_EQ_STR(list->items[1]->str, "b c");
	CHECK(!list->items[1]->plain);
	CHECK_EQ_INT(list->items[1]->line, 5);
	CHECK_EQ_INT(list->items[1]->col, 5);
	const wn_conf_node *map = wn_conf_get(root, "map");
	CHECK_EQ_INT(map->kind, WN_CONF_MAP);
	CHECK_EQ_STR(map->items[0]->str, "x");
	CHECK_EQ_INT(wn_conf_get(map, "y")->n, 2);
	CHECK(wn_conf_get(root, "nope") == NULL);
	CHECK(wn_conf_get(name, "x") == NULL);
	CHECK_EQ_STR(wn_conf_name(d), "t.yaml");
	wn_conf_free(d);
}

TEST(nulls)
{
	wn_conf_doc *d = load("a:\nb: ~\nc: null\nd: ''\ne: 'null'\nf: x\n");
	const wn_conf_node *r = wn_conf_root(d);
	CHECK(wn_conf_is_null(wn_conf_get(r, "a")));
	CHECK(wn_conf_is_null(wn_conf_get(r, "b")));
	CHECK(wn_conf_is_null(wn_conf_get(r, "c")));
	CHECK(!wn_conf_is_null(wn_conf_get(r, "d")));
	CHECK(!wn_conf_is_null(wn_conf_get(r, "e")));
	CHECK(!wn_conf_is_null(wn_conf_get(r, "f")));
	CHECK(wn_conf_is_null(NULL));
	wn_conf_free(d);
}

TEST(empty_stream_is_an_empty_mapping)
{
	wn_conf_doc *d = load("");
	CHECK_EQ_INT(wn_conf_root(d)->kind, WN_CONF_MAP);
	CHECK_EQ_INT(wn_conf_root(d)->n, 0);
	wn_conf_free(d);
	d = load("# only a comment\n");
	CHECK_EQ_INT(wn_conf_root(d)->kind, WN_CONF_MAP);
	wn_conf_free(d);
}

TEST(syntax_errors_have_line_and_column)
{
	char *err = load_error("a: 1\nb: [1, 2\nc: 3\n");
	CHECK_HAS(err, "t.yaml:");
	CHECK_HAS(err, "while parsing a flow sequence");
	free(err);
	err = load_error("a: 1\n  b: 2\n");
	CHECK_HAS(err, "t.yaml:2:");
	free(err);
	err = load_error("a: \"unterminated\n");
	CHECK_HAS(err, "t.yaml:");
	free(err);
	err = load_error("\tname: x\n");
	CHECK_HAS(err, "t.yaml:1:");
	free(err);
}

TEST(duplicate_keys_are_refused)
{
	char *err = load_error("slots: 1\nname: a\nslots: 2\n");
	CHECK_EQ_STR(err, "t.yaml:3:1: duplicate key 'slots'");
	free(err);
}

TEST(duplicate_keys_of_a_large_mapping_are_refused)
{
	/* past the first keys a mapping finds them through an index: still
	 * every duplicate, and keys that differ only after a NUL are two */
	wn_strbuf b = {0};
	wn_strbuf_adds(&b, "tasks:\n  \"a\\0x\": 1\n");
	for (int i = 0; i < 40; i++)
		wn_strbuf_addf(&b, "  t%d: %d\n", i, i);
	wn_strbuf_adds(&b, "  \"a\\0y\": 2\n");
	wn_conf_doc *d = load(b.s);
	CHECK(d != NULL);
	CHECK_EQ_INT((int)wn_conf_get(wn_conf_root(d), "tasks")->n, 42);
	wn_conf_free(d);
	size_t whole = b.len;
	wn_strbuf_adds(&b, "  t50: 1\n  t7: again\n");
	char *err = load_error(b.s);
	CHECK_EQ_STR(err, "t.yaml:45:3: duplicate key 't7'");
	free(err);
	b.len = whole;
	wn_strbuf_adds(&b, "  \"a\\0x\": 3\n");
	err = load_error(b.s);
	CHECK_HAS(err, "t.yaml:44:3: duplicate key 'a");
	free(err);
	wn_strbuf_free(&b);
}

TEST(aliases_and_complex_keys_are_refused)
{
	char *err = load_error("a: &x [1, 2]\nb: *x\n");
	CHECK_EQ_STR(err, "t.yaml:2:4: aliases are not supported");
	free(err);
	err = load_error("? [a, b]\n: 1\n");
	CHECK_HAS(err, "mapping keys must be strings");
	free(err);
}

TEST(several_documents_are_refused)
{
	char *err = load_error("a: 1\n---\nb: 2\n");
	CHECK_HAS(err, "t.yaml:2:1: expected a single document");
	free(err);
}

TEST(deep_nesting_is_refused)
{
	char text[4 * WN_CONF_DEPTH_MAX + 16];
	size_t n = 0;
	for (int i = 0; i < WN_CONF_DEPTH_MAX + 1; i++)
		text[n++] = '[';
	for (int i = 0; i < WN_CONF_DEPTH_MAX + 1; i++)
		text[n++] = ']';
	text[n] = '\0';
	char *err = load_error(text);
	CHECK_HAS(err, "nested deeper than");
	free(err);
	/* Just within the limit is fine. */
	n = 0;
	for (int i = 0; i < WN_CONF_DEPTH_MAX; i++)
		text[n++] = '[';
	for (int i = 0; i < WN_CONF_DEPTH_MAX; i++)
		text[n++] = ']';
	text[n] = '\0';
	wn_conf_doc *d = load(text);
	wn_conf_free(d);
}

TEST(invalid_utf8_is_refused)
{
	char *err = load_error("a: \xff\xfe\n");
	CHECK_HAS(err, "t.yaml:");
	free(err);
}

TEST(load_file_reports_missing_file)
{
	wn_conf_doc *d = NULL;
	char *err = NULL;
	CHECK_EQ_INT(wn_conf_load_file("nope.yaml", &d, &err), WN_ENOTFOUND);
	CHECK_HAS(err, "cannot open nope.yaml");
	free(err);
	FILE *f = fopen("x.yaml", "w");
	fputs("k: [1,\n", f);
	fclose(f);
	CHECK_EQ_INT(wn_conf_load_file("x.yaml", &d, &err), WN_EINVAL);
	CHECK_HAS(err, "x.yaml:");
	free(err);
	f = fopen("y.yaml", "w");
	fputs("k: v\n", f);
	fclose(f);
	CHECK_OK(wn_conf_load_file("y.yaml", &d, &err));
	CHECK_EQ_STR(wn_conf_get(wn_conf_root(d), "k")->str, "v");
	wn_conf_free(d);
}

/* ---------------------------------------------------------------- key tables */

typedef struct settings {
	char *name;
	int64_t slots;
	bool verbose;
	char *level;
	wn_conf_strv projects;
	wn_conf_strmap env;
	const wn_conf_node *extra;
} settings;

static const char *const levels[] = {"low", "high", NULL};

static const wn_conf_key keys[] = {
    {"name", WN_CONF_T_STR, offsetof(settings, name), NULL, 0, 0, WN_CONF_REQUIRED, NULL, ""},
    {"slots", WN_CONF_T_INT, offsetof(settings, slots), "1", 1, 16, 0, NULL, ""},
    {"verbose", WN_CONF_T_BOOL, offsetof(settings, verbose), "false", 0, 0, 0, NULL, ""},
    {"level", WN_CONF_T_STR, offsetof(settings, level), "low", 0, 0, 0, levels, ""},
    {"projects", WN_CONF_T_STRLIST, offsetof(settings, projects), NULL, 0, 0, 0, NULL, ""},
    {"env", WN_CONF_T_STRMAP, offsetof(settings, env), NULL, 0, 0, 0, NULL, ""},
    {"extra", WN_CONF_T_NODE, offsetof(settings, extra), NULL, 0, 0, 0, NULL, ""},
    {"skipped", WN_CONF_T_SKIP, 0, NULL, 0, 0, 0, NULL, ""},
};

/* apply loads text and applies the table; returns the error or NULL. */
static char *apply(const char *text, settings *s)
{
	memset(s, 0, sizeof(*s));
	wn_conf_doc *d = load(text);
	char *err = NULL;
	int rc = wn_conf_apply(d, wn_conf_root(d), keys, sizeof(keys) / sizeof(keys[0]), s, &err);
	CHECK(rc == WN_OK ? err == NULL : err != NULL);
	s->extra = NULL; /* it points into the document */
	wn_conf_free(d);
	return err;
}

static void release(settings *s)
{
	wn_conf_release(keys, sizeof(keys) / sizeof(keys[0]), s);
}

TEST(apply_stores_values_and_defaults)
{
	settings s;
	char *err = apply("name: w1\nprojects: [a, b]\nenv: {K: v, E: ''}\nskipped: [1]\n", &s);
	CHECK(err == NULL);
	CHECK_EQ_STR(s.name, "w1");
	CHECK_EQ_INT(s.slots, 1);
	CHECK(!s.verbose);
	CHECK_EQ_STR(s.level, "low");
	CHECK_EQ_INT(s.projects.n, 2);
	CHECK_EQ_STR(s.projects.v[1], "b");
	CHECK_EQ_INT(s.env.n, 2);
	CHECK_EQ_STR(wn_conf_strmap_get(&s.env, "K"), "v");
	CHECK_EQ_STR(wn_conf_strmap_get(&s.env, "E"), "");
	CHECK(wn_conf_strmap_get(&s.env, "X") == NULL);
	release(&s);
	CHECK(s.name == NULL);
	CHECK_EQ_INT(s.projects.n, 0);
}

TEST(apply_accepts_one_string_for_a_list)
{
	settings s;
	char *err = apply("name: w1\nprojects: only\nslots: 16\nverbose: true\nlevel: high\n", &s);
	CHECK(err == NULL);
	CHECK_EQ_INT(s.projects.n, 1);
	CHECK_EQ_STR(s.projects.v[0], "only");
	CHECK_EQ_INT(s.slots, 16);
	CHECK(s.verbose);
	CHECK_EQ_STR(s.level, "high");
	release(&s);
}

TEST(apply_null_means_default)
{
	settings s;
	char *err = apply("name: w1\nslots:\nlevel: ~\n", &s);
	CHECK(err == NULL);
	CHECK_EQ_INT(s.slots, 1);
	CHECK_EQ_STR(s.level, "low");
	release(&s);
}

TEST(apply_errors_name_key_and_position)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
	    {"slots: 2\n", "t.yaml:1:1: 'name' is required"},
	    {"name: ~\n", "t.yaml:1:7: 'name' is required"},
	    {"name: w\nslots: 0\n", "t.yaml:2:8: 'slots' must be between 1 and 16, not 0"},
	    {"name: w\nslots: 99999999999999999999\n",
	     "t.yaml:2:8: 'slots' must be between 1 and 16, not 99999999999999999999"},
	    {"name: w\nslots: two\n", "t.yaml:2:8: expected a whole number for 'slots', not 'two'"},
	    {"name: w\nslots: [1]\n", "t.yaml:2:8: expected a number for 'slots', got a list"},
	    {"name: w\nverbose: yes\n", "t.yaml:2:10: expected true or false for 'verbose'"},
	    {"name: w\nlevel: mid\n", "t.yaml:2:8: 'level' must be one of low, high, not 'mid'"},
	    {"name: [a]\n", "t.yaml:1:7: expected a string for 'name', got a list"},
	    {"name: w\nprojects: {a: 1}\n", "t.yaml:2:11: expected a list for 'projects', got a "
	                                    "mapping"},
	    {"name: w\nprojects: [a, [b]]\n", "t.yaml:2:15: expected a string in the list "
	                                      "'projects', got a list"},
	    {"name: w\nprojects: [a, ~]\n", "got null"},
	    {"name: w\nenv: [a]\n", "t.yaml:2:6: expected a mapping for 'env', got a list"},
	    {"name: w\nenv: {A: [1]}\n", "t.yaml:2:10: expected a string for 'env.A', got a list"},
	    {"name: w\nslot: 2\n", "t.yaml:2:1: unknown key 'slot' (did you mean 'slots'?)"},
	    {"name: w\nzzzzzz: 2\n", "t.yaml:2:1: unknown key 'zzzzzz'"},
	    {"name: \"a\\0b\"\n", "t.yaml:1:7: 'name' holds a NUL byte"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		settings s;
		char *err = apply(cases[i].text, &s);
		if (err == NULL)
			wn_test_fail(__FILE__, __LINE__, "no error for %s", cases[i].text);
		if (strstr(err, cases[i].msg) == NULL)
			wn_test_fail(__FILE__, __LINE__, "for %s: got '%s', want '%s'",
			             cases[i].text, err, cases[i].msg);
		free(err);
		release(&s);
	}
}

TEST(apply_on_a_non_mapping)
{
	wn_conf_doc *d = load("- a\n- b\n");
	settings s;
	memset(&s, 0, sizeof(s));
	char *err = NULL;
	CHECK_EQ_INT(wn_conf_apply(d, wn_conf_root(d), keys, 1, &s, &err), WN_EINVAL);
	CHECK_EQ_STR(err, "t.yaml:1:1: expected a mapping, got a list");
	free(err);
	wn_conf_free(d);
}

TEST(apply_without_a_mapping_gives_defaults)
{
	settings s;
	memset(&s, 0, sizeof(s));
	char *err = NULL;
	CHECK_OK(wn_conf_apply(NULL, NULL, keys + 1, 3, &s, &err));
	CHECK_EQ_INT(s.slots, 1);
	CHECK_EQ_STR(s.level, "low");
	release(&s);
}

TEST_MAIN()
