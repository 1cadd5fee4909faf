/* Unit tests of the template engine and the job values formatters see. */
#include "err.h"
#include "fmt.h"
#include "template.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* A lookup over a fixed table; remembers how often it was asked. */
typedef struct vars {
	const char *const *kv; /* name, value, name, value, ..., NULL */
	int asked;
} vars;

static const char *vars_lookup(void *ctx, const char *name)
{
	vars *v = ctx;
	v->asked++;
	for (size_t i = 0; v->kv[i] != NULL; i += 2)
		if (strcmp(v->kv[i], name) == 0)
			return v->kv[i + 1];
	return NULL;
}

static const char *const table[] = {"lr",    "0.1", "epochs",  "20", "job.id", "7",
                                    "empty", "",    "a.b-c_d", "x",  NULL};

/* render expands src over table, checking the return code. */
static char *render(const char *src, int want_rc, char **err_out)
{
	vars v = {table, 0};
	char *out = NULL, *err = NULL;
	int rc = wn_template_render(src, vars_lookup, &v, &out, &err);
	CHECK_EQ_INT(rc, want_rc);
	if (rc == WN_OK) {
		CHECK(err == NULL);
		CHECK(out != NULL);
	} else {
		CHECK(out == NULL);
		CHECK(err != NULL);
	}
	if (err_out)
		*err_out = err;
	else
		free(err);
	return out;
}

TEST(plain_text_is_copied)
{
	char *s = render("python3 train.py --flag=$HOME 'quoted' \"x\" ; rm", WN_OK, NULL);
	CHECK_EQ_STR(s, "python3 train.py --flag=$HOME 'quoted' \"x\" ; rm");
	free(s);
	s = render("", WN_OK, NULL);
	CHECK_EQ_STR(s, "");
	free(s);
}

TEST(placeholders_are_replaced)
{
	char *s = render("--lr={lr}", WN_OK, NULL);
	CHECK_EQ_STR(s, "--lr=0.1");
	free(s);
	s = render("{lr}{epochs}", WN_OK, NULL);
	CHECK_EQ_STR(s, "0.120");
	free(s);
	s = render("run-{job.id}/e{epochs}.out", WN_OK, NULL);
	CHECK_EQ_STR(s, "run-7/e20.out");
	free(s);
	s = render("[{empty}]", WN_OK, NULL);
	CHECK_EQ_STR(s, "[]");
	free(s);
	s = render("{a.b-c_d}", WN_OK, NULL);
	CHECK_EQ_STR(s, "x");
	free(s);
}

TEST(doubled_braces_are_literal)
{
	char *s = render("{{lr}}", WN_OK, NULL);
	CHECK_EQ_STR(s, "{lr}");
	free(s);
	s = render("{{{lr}}}", WN_OK, NULL);
	CHECK_EQ_STR(s, "{0.1}");
	free(s);
	s = render("}}{{", WN_OK, NULL);
	CHECK_EQ_STR(s, "}{");
	free(s);
	s = render("awk '{{print $1}}'", WN_OK, NULL);
	CHECK_EQ_STR(s, "awk '{print $1}'");
	free(s);
}

TEST(values_are_not_expanded_again)
{
	static const char *const evil[] = {"p", "{lr} $(touch /tmp/x) ; rm -rf ~", NULL};
	vars v = {evil, 0};
	char *out = NULL, *err = NULL;
	CHECK_OK(wn_template_render("{p}", vars_lookup, &v, &out, &err));
	CHECK_EQ_STR(out, "{lr} $(touch /tmp/x) ; rm -rf ~");
	CHECK_EQ_INT(v.asked, 1);
	free(out);
}

TEST(missing_parameter_is_named)
{
	char *err = NULL;
	char *s = render("--x={nope}", WN_ENOTFOUND, &err);
	CHECK(s == NULL);
	CHECK_EQ_STR(err, "missing parameter 'nope'");
	free(err);
}

TEST(every_placeholder_is_looked_up_after_a_miss)
{
	vars v = {table, 0};
	char *out = NULL, *err = NULL;
	CHECK_EQ_INT(wn_template_render("{a}{b}{lr}", vars_lookup, &v, &out, &err), WN_ENOTFOUND);
	CHECK_EQ_INT(v.asked, 3);
	CHECK_EQ_STR(err, "missing parameter 'a'");
	free(err);
}

TEST(malformed_templates_are_refused)
{
	static const struct {
		const char *src;
		const char *msg;
	} cases[] = {
	    {"{lr", "unclosed '{' at column 1"},
	    {"ab{", "unclosed '{' at column 3"},
	    {"x}", "unexpected '}' at column 2"},
	    {"{}", "empty placeholder '{}' at column 1"},
	    {"{l r}", "invalid character ' ' in the placeholder at column 1"},
	    {"{a{b}}", "invalid character '{' in the placeholder at column 1"},
	    {"{\x01}", "invalid byte 0x01 in the placeholder at column 1"},
	    {"{lr}}", "unexpected '}' at column 5"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = NULL;
		char *s = render(cases[i].src, WN_EINVAL, &err);
		CHECK(s == NULL);
		if (strstr(err, cases[i].msg) == NULL)
			wn_test_fail(__FILE__, __LINE__, "'%s': got '%s', want '%s'", cases[i].src,
			             err, cases[i].msg);
		free(err);
		CHECK_EQ_INT(wn_template_check(cases[i].src, &err), WN_EINVAL);
		CHECK(err != NULL);
		free(err);
	}
}

TEST(malformed_wins_over_missing)
{
	vars v = {table, 0};
	char *out = NULL, *err = NULL;
	CHECK_EQ_INT(wn_template_render("{nope} {", vars_lookup, &v, &out, &err), WN_EINVAL);
	CHECK(strstr(err, "unclosed") != NULL);
	free(err);
}

TEST(check_accepts_good_templates)
{
	char *err = NULL;
	CHECK_OK(wn_template_check("python3 {script} --lr {lr} {{x}}", &err));
	CHECK(err == NULL);
}

TEST(long_names_are_refused)
{
	char src[WN_TEMPLATE_NAME_MAX + 8];
	src[0] = '{';
	memset(src + 1, 'a', WN_TEMPLATE_NAME_MAX + 1);
	src[WN_TEMPLATE_NAME_MAX + 2] = '}';
	src[WN_TEMPLATE_NAME_MAX + 3] = '\0';
	char *err = NULL;
	CHECK_EQ_INT(wn_template_check(src, &err), WN_EINVAL);
	CHECK(strstr(err, "longer than") != NULL);
	free(err);
	src[WN_TEMPLATE_NAME_MAX + 1] = '}';
	src[WN_TEMPLATE_NAME_MAX + 2] = '\0';
	CHECK_OK(wn_template_check(src, &err));
}

/* ---------------------------------------------------------------- job values */

static const char *const pkeys[] = {"lr", "project", "seed"};
static const char *const pvals[] = {"0.5", "shadowed", "$(touch /tmp/x)"};

static const wn_fmt_job job = {
    .id = 42,
    .name = "train-42",
    .project = "sweep",
    .task = "train",
    .worker = "w1",
    .attempt = 3,
    .priority = -2,
    .nparams = 3,
    .param_keys = pkeys,
    .param_vals = pvals,
};

TEST(job_builtins)
{
	char buf[32];
	CHECK_EQ_STR(wn_fmt_job_value(&job, "job.id", buf, sizeof(buf)), "42");
	CHECK_EQ_STR(wn_fmt_job_value(&job, "job.name", buf, sizeof(buf)), "train-42");
	CHECK_EQ_STR(wn_fmt_job_value(&job, "job.priority", buf, sizeof(buf)), "-2");
	CHECK_EQ_STR(wn_fmt_job_value(&job, "project", buf, sizeof(buf)), "sweep");
	CHECK_EQ_STR(wn_fmt_job_value(&job, "task", buf, sizeof(buf)), "train");
	CHECK_EQ_STR(wn_fmt_job_value(&job, "attempt", buf, sizeof(buf)), "3");
	CHECK_EQ_STR(wn_fmt_job_value(&job, "worker", buf, sizeof(buf)), "w1");
	CHECK_EQ_STR(wn_fmt_job_value(&job, "lr", buf, sizeof(buf)), "0.5");
	CHECK_EQ_STR(wn_fmt_job_value(&job, "param.project", buf, sizeof(buf)), "shadowed");
	CHECK_EQ_STR(wn_fmt_job_value(&job, "param.lr", buf, sizeof(buf)), "0.5");
	CHECK(wn_fmt_job_value(&job, "nope", buf, sizeof(buf)) == NULL);
	CHECK(wn_fmt_job_value(&job, "param.nope", buf, sizeof(buf)) == NULL);
}

TEST(expand_names_every_missing_parameter_once)
{
	const char *tmpls[] = {"{a}", "{lr}", "{b}-{a}", "{seed}"};
	char *out[4], *reason = NULL;
	CHECK_EQ_INT(wn_fmt_expand(&job, tmpls, 4, out, &reason), WN_ENOTFOUND);
	CHECK_EQ_STR(reason, "missing parameters 'a', 'b'");
	free(reason);
	const char *one[] = {"{lr}", "{epochs}"};
	CHECK_EQ_INT(wn_fmt_expand(&job, one, 2, out, &reason), WN_ENOTFOUND);
	CHECK_EQ_STR(reason, "missing parameter 'epochs'");
	free(reason);
}

TEST(expand_fills_every_output)
{
	const char *tmpls[] = {"python3", "--lr={lr}", "{seed}", "{job.id}.{attempt}.log"};
	char *out[4], *reason = NULL;
	CHECK_OK(wn_fmt_expand(&job, tmpls, 4, out, &reason));
	CHECK_EQ_STR(out[0], "python3");
	CHECK_EQ_STR(out[1], "--lr=0.5");
	CHECK_EQ_STR(out[2], "$(touch /tmp/x)");
	CHECK_EQ_STR(out[3], "42.3.log");
	for (int i = 0; i < 4; i++)
		free(out[i]);
}

TEST(expand_names_a_malformed_template)
{
	const char *tmpls[] = {"{lr}", "{oops"};
	char *out[2], *reason = NULL;
	CHECK_EQ_INT(wn_fmt_expand(&job, tmpls, 2, out, &reason), WN_EINVAL);
	CHECK(strstr(reason, "malformed template '{oops'") != NULL);
	free(reason);
}

TEST_MAIN()
