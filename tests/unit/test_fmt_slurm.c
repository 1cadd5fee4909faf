/* Unit tests of the slurm formatter without SLURM: shell quoting, #SBATCH
 * words, the batch scripts it writes (run here by bash, as SLURM would run
 * them), state mapping, and the parsers of squeue and sacct output. */
#include "conf.h"
#include "err.h"
#include "fmt.h"
#include "fmt_slurm.h"
#include "slurm.h"
#include "slurm_script.h"
#include "slurm_submit.h"
#include "test.h"
#include "util.h"
#include "wconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK_HAS(hay, needle)                                                                     \
	do {                                                                                       \
		const char *hay_ = (hay);                                                          \
		if (hay_ == NULL || strstr(hay_, (needle)) == NULL)                                \
			wn_test_fail(__FILE__, __LINE__, "'%s' does not contain '%s'",             \
			             wn_test_str(hay_), (needle));                                 \
	} while (0)

#define CHECK_LACKS(hay, needle)                                                                   \
	do {                                                                                       \
		const char *hay_ = (hay);                                                          \
		if (hay_ != NULL && strstr(hay_, (needle)) != NULL)                                \
			wn_test_fail(__FILE__, __LINE__, "'%s' contains '%s'", hay_, (needle));    \
	} while (0)

/* ---------------------------------------------------------------- helpers */

typedef struct loaded {
	wn_conf_doc *doc;
	void *conf;
} loaded;

/* load parses a task mapping of the slurm formatter, or fails the case. */
static loaded load(const char *yaml)
{
	loaded l = {0};
	char *err = NULL;
	/* a job after its first attempt is looked for in squeue (wn_slurm_find)
	 * before it is submitted: here a squeue that lists nothing */
	char *y =
	    strstr(yaml, "squeue:") ? wn_xstrdup(yaml) : wn_xasprintf("%ssqueue: true\n", yaml);
	CHECK_OK(wn_conf_load_string("worker.yaml", y, strlen(y), &l.doc, &err));
	free(y);
	wn_fmt_env env = {.base_dir = "/base", .log_dir = "/logs", .tail_bytes = 1000};
	int rc = wn_fmt_slurm_ops.load(l.doc, wn_conf_root(l.doc), &env, &l.conf, &err);
	if (rc != WN_OK)
		wn_test_fail(__FILE__, __LINE__, "load failed: %s", err);
	return l;
}

static char *load_error(const char *yaml)
{
	wn_conf_doc *doc = NULL;
	char *err = NULL;
	CHECK_OK(wn_conf_load_string("worker.yaml", yaml, strlen(yaml), &doc, &err));
	wn_fmt_env env = {.log_dir = "/logs"};
	void *conf = NULL;
	int rc = wn_fmt_slurm_ops.load(doc, wn_conf_root(doc), &env, &conf, &err);
	wn_conf_free(doc);
	CHECK(rc != WN_OK);
	CHECK(conf == NULL);
	CHECK(err != NULL);
	return err;
}

static void unload(loaded *l)
{
	wn_fmt_slurm_ops.unload(l->conf);
	wn_conf_free(l->doc);
}

static const char *const job_keys[] = {"lr", "tag", "evil"};
static const char *const job_vals[] = {"0.1", "two words", "$(touch pwned); '\"`id`\\"};

static wn_fmt_job a_job(uint64_t id)
{
	wn_fmt_job j = {.id = id,
	                .name = "train-1",
	                .project = "p",
	                .task = "t",
	                .worker = "w1",
	                .server = "ipc:///tmp/wn.sock",
	                .attempt = 2,
	                .nparams = 3,
	                .param_keys = job_keys,
	                .param_vals = job_vals};
	return j;
}

static void *prepare(const loaded *l, const wn_fmt_job *job)
{
	void *run = NULL;
	char *reason = NULL;
	int rc = wn_fmt_slurm_ops.prepare(l->conf, job, &run, &reason);
	if (rc != WN_OK)
		wn_test_fail(__FILE__, __LINE__, "prepare failed: %s", reason);
	return run;
}

static char *prepare_error(const loaded *l, const wn_fmt_job *job)
{
	void *run = NULL;
	char *reason = NULL;
	int rc = wn_fmt_slurm_ops.prepare(l->conf, job, &run, &reason);
	CHECK(rc != WN_OK);
	CHECK(run == NULL);
	CHECK(reason != NULL);
	return reason;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* run_script runs script with bash the way SLURM would (a file, stdout to
 * out.txt), with env (a "NAME=value" or NULL) added; returns its status. */
static int run_script(const char *script, const char *env)
{
	write_file("job.sh", script);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s%s bash job.sh > out.txt 2>&1", env ? "env " : "",
	         env ? env : "");
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---------------------------------------------------------------- quoting */

TEST(quote_leaves_plain_words_alone)
{
	const char *plain[] = {"0.1", "a-b_c.d/e:f,g@h%i+j", "ABC123"};
	for (size_t i = 0; i < 3; i++) {
		char *q = wn_slurm_script_quote(plain[i]);
		CHECK_EQ_STR(q, plain[i]);
		free(q);
	}
}

TEST(quote_makes_one_word_of_anything)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"", "''"},
	    {"two words", "'two words'"},
	    {"it's", "'it'\\''s'"},
	    {"$(touch x)", "'$(touch x)'"},
	    {"a=b", "'a=b'"},
	    {"~", "'~'"},
	    {"*", "'*'"},
	    {"line\nbreak", "'line\nbreak'"},
	    {"'; rm -rf ~; '", "''\\''; rm -rf ~; '\\'''"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *q = wn_slurm_script_quote(cases[i].in);
		CHECK_EQ_STR(q, cases[i].out);
		free(q);
	}
}

TEST(quoted_values_reach_a_program_byte_for_byte)
{
	const char *vals[] = {"",     "two  words",   "it's",        "$(echo no)",
	                      "`id`", "a\"b\\c",      "line\nbreak", "*",
	                      "~",    "; rm -rf ~; ", "$HOME",       "-n"};
	char script[4096] = "printf '[%s]\\n'";
	char want[4096] = "";
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		char *q = wn_slurm_script_quote(vals[i]);
		strcat(script, " ");
		strcat(script, q);
		free(q);
		strcat(want, "[");
		strcat(want, vals[i]);
		strcat(want, "]\n");
	}
	strcat(script, "\n");
	CHECK_EQ_INT(run_script(script, NULL), 0);
	char *out = read_file("out.txt");
	CHECK_EQ_STR(out, want);
	free(out);
}

TEST(directive_words)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"--partition=gpu", "--partition=gpu"},
	    {"--job-name=a b", "\"--job-name=a b\""},
	    {"--comment=it's \"q\"", "\"--comment=it's \\\"q\\\"\""},
	    {"--comment=a\\b", "\"--comment=a\\\\b\""},
	    {"--comment=#1", "\"--comment=#1\""},
	    {"", "\"\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *w = wn_slurm_script_word(cases[i].in);
		CHECK_EQ_STR(w, cases[i].out);
		free(w);
	}
}

/* ---------------------------------------------------------------- scripts */

TEST(script_has_options_exports_and_a_quoted_body)
{
	loaded l = load("formatter: slurm\n"
	                "partition: gpu\n"
	                "account: \"{tag}\"\n"
	                "extra: [--exclusive, \"--comment=lr {lr}\"]\n"
	                "env: {SEED: \"{lr}\", TAG: \"{tag}\"}\n"
	                "script: |\n"
	                "  python3 train.py --lr {lr} --tag {tag} --evil {evil}\n");
	wn_fmt_job job = a_job(12);
	void *run = prepare(&l, &job);
	char *s = wn_slurm_submit_script(run);
	CHECK(strncmp(s, "#!/bin/bash\n#SBATCH --job-name=p.t\n", 35) == 0);
	CHECK_HAS(s, "#SBATCH --output=/logs/p/t/12.2.out\n");
	CHECK_HAS(s, "#SBATCH --partition=gpu\n");
	CHECK_HAS(s, "#SBATCH \"--account=two words\"\n");
	CHECK_HAS(s, "#SBATCH --exclusive\n#SBATCH \"--comment=lr 0.1\"\n");
	CHECK_HAS(s, "export WN_JOB_ID=12\n");
	CHECK_HAS(s, "export WN_JOB_NAME=train-1\n");
	CHECK_HAS(s, "export WN_ATTEMPT=2\n");
	CHECK_HAS(s, "export WN_SERVER=ipc:///tmp/wn.sock\n");
	CHECK_HAS(s, "export SEED=0.1\nexport TAG='two words'\n");
	CHECK_HAS(s, "python3 train.py --lr '0.1' --tag 'two words' --evil "
	             "'$(touch pwned); '\\''\"`id`\\'\n");
	/* nothing the task did not ask for */
	CHECK_LACKS(s, "--time");
	CHECK_LACKS(s, "--gres");
	CHECK_LACKS(s, "--error");
	/* every #SBATCH line comes before the first command */
	const char *first_cmd = strstr(s, "\nexport ");
	const char *last_opt = NULL;
	for (const char *p = s; (p = strstr(p, "#SBATCH")) != NULL; p++)
		last_opt = p;
	CHECK(last_opt != NULL && first_cmd != NULL && last_opt < first_cmd);
	free(s);
	wn_fmt_slurm_ops.release(run);
	unload(&l);
}

TEST(task_requirements_give_the_default_options)
{
	loaded l = load("formatter: slurm\nscript: hostname\n");
	wn_fmt_job job = a_job(3);
	job.cpu = 4;
	job.gpu = 2;
	job.memory_mb = 16000;
	job.timeout_s = 3601; /* whole minutes, rounded up */
	void *run = prepare(&l, &job);
	char *s = wn_slurm_submit_script(run);
	CHECK_HAS(s, "#SBATCH --time=61\n");
	CHECK_HAS(s, "#SBATCH --cpus-per-task=4\n");
	CHECK_HAS(s, "#SBATCH --mem=16000M\n");
	CHECK_HAS(s, "#SBATCH --gres=gpu:2\n");
	free(s);
	wn_fmt_slurm_ops.release(run);
	unload(&l);

	/* what the task config says wins */
	l = load("formatter: slurm\nscript: hostname\ntime: \"2:00:00\"\ncpus_per_task: 8\n"
	         "mem: 1G\ngpus: \"a100:1\"\n");
	run = prepare(&l, &job);
	s = wn_slurm_submit_script(run);
	CHECK_HAS(s, "#SBATCH --time=2:00:00\n");
	CHECK_HAS(s, "#SBATCH --cpus-per-task=8\n");
	CHECK_HAS(s, "#SBATCH --mem=1G\n");
	CHECK_HAS(s, "#SBATCH --gpus=a100:1\n");
	CHECK_LACKS(s, "--gres");
	CHECK_LACKS(s, "--time=61");
	free(s);
	wn_fmt_slurm_ops.release(run);
	unload(&l);
}

TEST(output_and_error_files_are_literal)
{
	loaded l = load("formatter: slurm\nscript: hostname\n"
	                "output: \"runs/{tag}/%j-{job.id}.txt\"\n"
	                "error: /abs/{job.id}.err\n");
	wn_fmt_job job = a_job(5);
	void *run = prepare(&l, &job);
	char *s = wn_slurm_submit_script(run);
	/* relative to log_dir, and SLURM's % patterns escaped */
	CHECK_HAS(s, "#SBATCH \"--output=/logs/runs/two words/%%j-5.txt\"\n");
	CHECK_HAS(s, "#SBATCH --error=/abs/5.err\n");
	free(s);
	wn_fmt_slurm_ops.release(run);
	unload(&l);
}

TEST(a_line_break_in_an_option_fails_the_job)
{
	loaded l = load("formatter: slurm\nscript: hostname\nqos: \"{q}\"\n");
	static const char *const k[] = {"q"};
	static const char *const v[] = {"normal\nrm -rf ~"};
	wn_fmt_job job = a_job(1);
	job.nparams = 1;
	job.param_keys = k;
	job.param_vals = v;
	char *reason = prepare_error(&l, &job);
	CHECK_EQ_STR(reason, "the value of 'qos' holds a line break");
	free(reason);
	unload(&l);
}

TEST(missing_parameters_are_all_named)
{
	loaded l = load("formatter: slurm\npartition: \"{part}\"\nscript: run {a} {b} {lr}\n");
	wn_fmt_job job = a_job(1);
	char *reason = prepare_error(&l, &job);
	CHECK_EQ_STR(reason, "missing parameters 'part', 'a', 'b'");
	free(reason);
	unload(&l);
}

TEST(the_script_runs_with_its_values_literally)
{
	loaded l = load("formatter: slurm\n"
	                "env: {E: \"{evil}\"}\n"
	                "script: |\n"
	                "  printf '[%s]\\n' {evil} {tag} \"$E\" \"$WN_JOB_ID\" \"$WN_ATTEMPT\"\n");
	wn_fmt_job job = a_job(77);
	void *run = prepare(&l, &job);
	char *s = wn_slurm_submit_script(run);
	CHECK_EQ_INT(run_script(s, NULL), 0);
	char *out = read_file("out.txt");
	CHECK_EQ_STR(out, "[$(touch pwned); '\"`id`\\]\n[two words]\n[$(touch pwned); '\"`id`\\]\n"
	                  "[77]\n[2]\n");
	CHECK(access("pwned", F_OK) != 0);
	free(out);
	free(s);
	wn_fmt_slurm_ops.release(run);
	unload(&l);
}

/* body runs the script body tmpl with parameter v = val through bash and
 * returns its output; NULL when prepare refuses it (reason in *why). */
static char *body(const char *tmpl, const char *val, char **why)
{
	char *yaml = NULL;
	CHECK(asprintf(&yaml, "formatter: slurm\nscript: |\n") > 0);
	for (const char *p = tmpl; *p;) {
		size_t n = strcspn(p, "\n");
		char *more = NULL;
		CHECK(asprintf(&more, "%s  %.*s\n", yaml, (int)n, p) > 0);
		free(yaml);
		yaml = more;
		p += n + (p[n] == '\n');
	}
	loaded l = load(yaml);
	free(yaml);
	static const char *const k[] = {"v"};
	const char *v[] = {val};
	wn_fmt_job job = a_job(1);
	job.nparams = 1;
	job.param_keys = k;
	job.param_vals = v;
	void *run = NULL;
	*why = NULL;
	char *out = NULL;
	if (wn_fmt_slurm_ops.prepare(l.conf, &job, &run, why) == WN_OK) {
		char *s = wn_slurm_submit_script(run);
		run_script(s, NULL);
		free(s);
		out = read_file("out.txt");
		wn_fmt_slurm_ops.release(run);
	}
	unload(&l);
	return out;
}

TEST(values_are_quoted_for_where_they_land)
{
	const char *evil = "$(touch pwned) `touch pwned` \"dq\" 'sq' \\ $HOME * ~ ;#";
	static const struct {
		const char *tmpl, *out;
	} cases[] = {
	    {"printf '[%s]\\n' {v}", "[V]\n"},
	    {"printf '[%s]\\n' \"in double {v} quotes\"", "[in double V quotes]\n"},
	    {"printf '[%s]\\n' 'in single {v} quotes'", "[in single V quotes]\n"},
	    {"printf '[%s]\\n' $'ansi\\t{v}'", "[ansi\tV]\n"},
	    {"printf '[%s]\\n' pre{v}post", "[preVpost]\n"},
	    {"printf '[%s]\\n' \"$(printf '<%s>' {v})\"", "[<V>]\n"},
	    {"x=`printf '<%s>' {v}`; printf '[%s]\\n' \"$x\"", "[<V>]\n"},
	    {"cat <<EOF\nunquoted {v} here\nEOF", "unquoted V here\n"},
	    {"cat <<-'EOF'\nquoted {v} here\n\tEOF", "quoted V here\n"},
	    {"cat <<< {v}", "V\n"},
	    {"# a comment {v}\necho after", "after\n"},
	    {"x=1 # {v}\necho \"${{x}}\"", "1\n"},
	    {"x=$(( 1 << 2 )); printf '[%s]\\n' {v} \"$x\"", "[V]\n[4]\n"},
	    {"x=\"$(case a in a) printf '<%s>' {v};; esac)\"; printf '[%s]\\n' \"$x\"", "[<V>]\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *why = NULL;
		char *out = body(cases[i].tmpl, evil, &why);
		/* the expected output with V standing for the value */
		char want[1024] = "";
		for (const char *p = cases[i].out; *p; p++) {
			if (*p == 'V')
				strcat(want, evil);
			else
				strncat(want, p, 1);
		}
		if (out == NULL || strcmp(out, want) != 0)
			wn_test_fail(__FILE__, __LINE__, "script:\n%s\ngot %s (%s)\nwant %s",
			             cases[i].tmpl, wn_test_str(out), wn_test_str(why), want);
		CHECK(access("pwned", F_OK) != 0);
		free(out);
		free(why);
	}
}

TEST(values_that_would_break_out_are_refused)
{
	char *why = NULL;
	char *out = body("cat <<EOF\n{v}\nEOF\necho after", "EOF", &why);
	CHECK(out == NULL);
	CHECK_EQ_STR(why, "cannot put a value into the script: a value would end a here-document");
	free(why);
	out = body("cat <<'EOF'\nx {v}\nEOF", "a\nEOF\ntouch pwned", &why);
	CHECK(out == NULL);
	CHECK_HAS(why, "a value with a line break cannot go into a here-document");
	free(why);
	/* a value with a line break is fine elsewhere */
	out = body("printf '[%s]' {v} \"{v}\"", "a\nb", &why);
	CHECK_EQ_STR(out, "[a\nb][a\nb]");
	free(out);
	/* a comment cannot be ended by a value */
	out = body("# {v}\necho after", "x\ntouch pwned", &why);
	CHECK_EQ_STR(out, "after\n");
	CHECK(access("pwned", F_OK) != 0);
	free(out);
}

TEST(array_script_runs_the_job_of_each_element)
{
	char cwd[1024];
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	char *yaml = NULL;
	CHECK(asprintf(&yaml,
	               "formatter: slurm\n"
	               "output: %s/{job.id}.out\n"
	               "script: |\n"
	               "  echo \"job $WN_JOB_ID lr {lr} tag {tag}\"\n"
	               "  exit 3\n",
	               cwd) > 0);
	loaded l = load(yaml);
	free(yaml);
	static const char *const k[] = {"lr", "tag"};
	static const char *const v1[] = {"0.1", "it's"};
	static const char *const v2[] = {"0.2", "$(id)"};
	wn_fmt_job j1 = a_job(40), j2 = a_job(41);
	j1.nparams = j2.nparams = 2;
	j1.param_keys = j2.param_keys = k;
	j1.param_vals = v1;
	j2.param_vals = v2;
	void *runs[2] = {prepare(&l, &j1), prepare(&l, &j2)};
	char *s = wn_slurm_submit_array_script(runs, 2, 1);
	CHECK_HAS(s, "#SBATCH --array=0-1%1\n");
	CHECK_HAS(s, "#SBATCH --output=/dev/null\n");
	char *s2 = wn_slurm_submit_array_script(runs, 2, 0);
	CHECK_HAS(s2, "#SBATCH --array=0-1\n");
	free(s2);
	/* element 1 runs job 41, into its own output file, with its exit code */
	CHECK_EQ_INT(run_script(s, "SLURM_ARRAY_TASK_ID=1"), 3);
	char *out = read_file("41.out");
	CHECK_EQ_STR(out, "job 41 lr 0.2 tag $(id)\n");
	free(out);
	CHECK(access("40.out", F_OK) != 0);
	CHECK_EQ_INT(run_script(s, "SLURM_ARRAY_TASK_ID=0"), 3);
	out = read_file("40.out");
	CHECK_EQ_STR(out, "job 40 lr 0.1 tag it's\n");
	free(out);
	/* no such element */
	CHECK_EQ_INT(run_script(s, "SLURM_ARRAY_TASK_ID=7"), 1);
	free(s);
	wn_fmt_slurm_ops.release(runs[0]);
	wn_fmt_slurm_ops.release(runs[1]);
	unload(&l);
}

TEST(config_errors_are_positioned)
{
	static const struct {
		const char *yaml, *err;
	} cases[] = {
	    {"formatter: slurm\n", "worker.yaml:1:1: 'script' is required"},
	    {"formatter: slurm\nscript: x\nextra: [exclusive]\n",
	     "worker.yaml:3:9: 'extra' holds sbatch options, one per item; 'exclusive' is not one"},
	    {"formatter: slurm\nscript: x\nshell: bash\n",
	     "worker.yaml:3:8: 'shell' must be an absolute path"},
	    {"formatter: slurm\nscript: \"{x\"\n", "worker.yaml:2:9: bad template in 'script'"},
	    {"formatter: slurm\nscript: x\npartiton: gpu\n",
	     "unknown key 'partiton' (did you mean 'partition'?)"},
	    {"formatter: slurm\nscript: x\naccounting: maybe\n", "worker.yaml:3:13:"},
	    {"formatter: slurm\nscript: x\nenv: {A-B: x}\n",
	     "invalid environment variable name 'A-B'"},
	    {"formatter: slurm\nscript: x\npoll_ms: 10\n", "worker.yaml:3:10:"},
	    {"formatter: slurm\nscript: echo ${HOME}\n",
	     "worker.yaml:2:9: cannot put a value into the script: a value right after '$'"},
	    {"formatter: slurm\nscript: \"echo ${v}\"\n",
	     "worker.yaml:2:9: cannot put a value into the script: a value right after '$' (write "
	     "${{NAME}} for a shell variable)"},
	    {"formatter: slurm\nscript: \"cat <<{v}\\nx\\n\"\n",
	     "a here-document's delimiter cannot be a value"},
	    {"formatter: slurm\nscript: \"echo \\\"`echo \\\\\\\"{v}\\\\\\\"`\\\"\"\n",
	     "a backslash before $, `, \\ or \" inside backquotes (write $( ... ) instead)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = load_error(cases[i].yaml);
		if (strstr(err, cases[i].err) == NULL)
			wn_test_fail(__FILE__, __LINE__, "for:\n%s\ngot '%s', want '%s'",
			             cases[i].yaml, err, cases[i].err);
		free(err);
	}
}

TEST(worker_yaml_selects_the_formatter)
{
	const char *text = "projects: p\n"
	                   "tasks:\n"
	                   "  train:\n"
	                   "    formatter: slurm\n"
	                   "    partition: gpu\n"
	                   "    script: python3 train.py --lr {lr}\n";
	wn_wconfig *c = NULL;
	char *err = NULL;
	CHECK_OK(wn_wconfig_parse("worker.yaml", text, strlen(text), "/base", &c, &err));
	const wn_fmt *f = wn_wconfig_task(c, "train");
	CHECK_EQ_STR(wn_fmt_name(f), "slurm");
	CHECK(wn_fmt_can_resume(f));
	CHECK(wn_fmt_can_group(f));
	wn_wconfig_free(c);
}

TEST(resume_takes_a_slurm_job_id)
{
	/* no id: squeue (here one that lists nothing) is asked for the job's tag */
	loaded l = load("formatter: slurm\nscript: x\nsqueue: true\n");
	wn_fmt_job job = a_job(1);
	void *run = NULL;
	char *reason = NULL;
	CHECK_EQ_INT(wn_fmt_slurm_ops.resume(l.conf, &job, "", &run, &reason), WN_ENOTFOUND);
	CHECK_EQ_STR(reason, "no SLURM job id was recorded for it, and squeue lists no SLURM job "
	                     "submitted for it");
	free(reason);
	reason = NULL;
	CHECK_EQ_INT(wn_fmt_slurm_ops.resume(l.conf, &job, "12;rm", &run, &reason), WN_EINVAL);
	CHECK_EQ_STR(reason, "'12;rm' is not a SLURM job id");
	free(reason);
	unload(&l);
}

/* ---------------------------------------------------------------- states */

TEST(states_map_to_their_ends)
{
	static const struct {
		const char *state;
		wn_slurm_end end;
	} cases[] = {
	    {"COMPLETED", WN_SLURM_COMPLETED},
	    {"CANCELLED", WN_SLURM_CANCELLED},
	    {"CANCELLED by 0", WN_SLURM_CANCELLED},
	    {"CANCELLED+", WN_SLURM_CANCELLED},
	    {"FAILED", WN_SLURM_FAILED},
	    {"TIMEOUT", WN_SLURM_FAILED},
	    {"OUT_OF_MEMORY", WN_SLURM_FAILED},
	    {"NODE_FAIL", WN_SLURM_FAILED},
	    {"PREEMPTED", WN_SLURM_FAILED},
	    {"BOOT_FAIL", WN_SLURM_FAILED},
	    {"DEADLINE", WN_SLURM_FAILED},
	    {"PENDING", WN_SLURM_ACTIVE},
	    {"RUNNING", WN_SLURM_ACTIVE},
	    {"COMPLETING", WN_SLURM_ACTIVE},
	    {"CONFIGURING", WN_SLURM_ACTIVE},
	    {"SUSPENDED", WN_SLURM_ACTIVE},
	    {"REQUEUED", WN_SLURM_ACTIVE},
	    {"COMPLETEDX", WN_SLURM_ACTIVE},
	    {"", WN_SLURM_ACTIVE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (wn_slurm_state_end(cases[i].state) != cases[i].end)
			wn_test_fail(__FILE__, __LINE__, "state '%s': got %d, want %d",
			             cases[i].state, (int)wn_slurm_state_end(cases[i].state),
			             (int)cases[i].end);
}

static void outcome(const char *id, const char *state, int code, int sig, const char *why,
                    wn_fmt_result *res)
{
	wn_slurm_row row = {(char *)id, (char *)"", (char *)state, code, sig, (char *)why};
	memset(res, 0, sizeof(*res));
	wn_slurm_outcome(&row, res);
}

TEST(outcomes_say_how_the_job_ended)
{
	wn_fmt_result r;
	outcome("12", "COMPLETED", 0, 0, "", &r);
	CHECK(r.success && !r.cancelled && r.exit_code == 0 && r.reason == NULL);
	wn_fmt_result_release(&r);

	outcome("12", "FAILED", 3, 0, "NonZeroExitCode", &r);
	CHECK(!r.success && !r.cancelled);
	CHECK_EQ_INT(r.exit_code, 3);
	CHECK_EQ_STR(r.reason, "SLURM job 12 FAILED: exit status 3");
	wn_fmt_result_release(&r);

	outcome("12_4", "FAILED", 0, 9, "", &r);
	CHECK_EQ_INT(r.exit_code, 137);
	CHECK_EQ_STR(r.reason, "SLURM job 12_4 FAILED: killed by SIGKILL");
	wn_fmt_result_release(&r);

	outcome("9", "TIMEOUT", 0, 15, "TimeLimit", &r);
	CHECK(!r.success && !r.cancelled);
	CHECK_EQ_INT(r.exit_code, 143);
	CHECK_EQ_STR(r.reason, "SLURM job 9 TIMEOUT: killed by SIGTERM (TimeLimit)");
	wn_fmt_result_release(&r);

	outcome("9", "OUT_OF_MEMORY", 0, 0, "", &r);
	CHECK_EQ_INT(r.exit_code, -1);
	CHECK_EQ_STR(r.reason, "SLURM job 9 OUT_OF_MEMORY");
	wn_fmt_result_release(&r);

	outcome("4", "NODE_FAIL", -1, 0, "", &r);
	CHECK_EQ_STR(r.reason, "SLURM job 4 NODE_FAIL");
	wn_fmt_result_release(&r);

	outcome("4", "PREEMPTED", 0, 0, "", &r);
	CHECK(!r.success && !r.cancelled);
	CHECK_EQ_STR(r.reason, "SLURM job 4 PREEMPTED");
	wn_fmt_result_release(&r);

	outcome("10", "CANCELLED", 0, 15, "", &r);
	CHECK(!r.success && r.cancelled);
	CHECK_EQ_STR(r.reason, "SLURM job 10 CANCELLED outside WhatsNext");
	wn_fmt_result_release(&r);

	outcome("4", "FAILED", 1, 0, "BadConstraints", &r);
	CHECK_EQ_STR(r.reason, "SLURM job 4 FAILED: exit status 1 (BadConstraints)");
	wn_fmt_result_release(&r);
}

TEST(job_ids)
{
	CHECK(wn_slurm_id_ok("1"));
	CHECK(wn_slurm_id_ok("123_4"));
	CHECK(!wn_slurm_id_ok(""));
	CHECK(!wn_slurm_id_ok("_4"));
	CHECK(!wn_slurm_id_ok("12_"));
	CHECK(!wn_slurm_id_ok("12_[0-3]"));
	CHECK(!wn_slurm_id_ok("12.batch"));
	CHECK(!wn_slurm_id_ok("12;cluster"));
	CHECK(!wn_slurm_id_ok("1234567890123456789"));
}

/* ---------------------------------------------------------------- parsers */

TEST(squeue_output_is_parsed)
{
	const char *text = "10|10|CANCELLED|15|None|\n"
	                   "2|2|FAILED|768|NonZeroExitCode|\n"
	                   "7|3|COMPLETED|0|None|\n" /* raw 7, shown as 3?: malformed id */
	                   "7|3_2|COMPLETED|0|None|\n"
	                   "11|11_5|PENDING|0|JobArrayTaskLimit|\n"
	                   "12|12|PENDING|0|ReqNodeNotAvail, Reserved for maintenance|\n"
	                   "garbage\n"
	                   "13|13|running|0|None|\n"
	                   "14|14|RUNNING|x|None|\n"
	                   "|15|RUNNING|0|None|\n"
	                   "\n"
	                   "16|16|RUNNING||(null)|\r\n";
	wn_slurm_row *rows = NULL;
	size_t n = 0;
	wn_slurm_parse_squeue(text, &rows, &n);
	CHECK_EQ_INT(n, 8);
	CHECK_EQ_STR(rows[0].id, "10");
	CHECK_EQ_STR(rows[0].raw_id, "10");
	CHECK_EQ_STR(rows[0].state, "CANCELLED");
	CHECK_EQ_INT(rows[0].exit_code, 0);
	CHECK_EQ_INT(rows[0].signal, 15);
	CHECK_EQ_STR(rows[0].reason, "");
	CHECK_EQ_STR(rows[1].id, "2");
	CHECK_EQ_INT(rows[1].exit_code, 3);
	CHECK_EQ_INT(rows[1].signal, 0);
	CHECK_EQ_STR(rows[1].reason, "NonZeroExitCode");
	CHECK_EQ_STR(rows[2].id, "3");
	CHECK_EQ_STR(rows[3].id, "3_2");
	CHECK_EQ_STR(rows[3].raw_id, "7");
	CHECK_EQ_STR(rows[4].id, "11_5");
	CHECK_EQ_STR(rows[4].state, "PENDING");
	CHECK_EQ_STR(rows[4].reason, "JobArrayTaskLimit");
	CHECK_EQ_STR(rows[5].reason, "ReqNodeNotAvail, Reserved for maintenance");
	CHECK_EQ_STR(rows[6].id, "15"); /* SLURM's own id is not needed */
	CHECK_EQ_STR(rows[6].raw_id, "");
	CHECK_EQ_STR(rows[7].id, "16");
	CHECK_EQ_STR(rows[7].raw_id, "16");
	CHECK_EQ_INT(rows[7].exit_code, -1);
	CHECK_EQ_STR(rows[7].reason, "");
	wn_slurm_rows_free(rows, n);

	wn_slurm_parse_squeue("", &rows, &n);
	CHECK_EQ_INT(n, 0);
	wn_slurm_rows_free(rows, n);
	wn_slurm_parse_squeue(NULL, &rows, &n);
	CHECK_EQ_INT(n, 0);
	wn_slurm_rows_free(rows, n);
}

TEST(sacct_output_is_parsed)
{
	const char *text = "4|4|FAILED|0:1\n"
	                   "2|2|FAILED|3:0\n"
	                   "10|10|CANCELLED by 0|0:15\n"
	                   "6|3_1|COMPLETED|0:0\n"
	                   "12|12|RUNNING|0:0\n"
	                   "12|12|COMPLETED|0:0\n" /* listed twice: the last line wins */
	                   "12.batch|12.batch|COMPLETED|0:0\n"
	                   "13|13|FAILED|300:0\n"
	                   "14|14|FAILED|3\n"
	                   "15|15|FAILED|a:b\n"
	                   "sacct: error: Unknown type ArrayJobId: 3\n";
	wn_slurm_row *rows = NULL;
	size_t n = 0;
	wn_slurm_parse_sacct(text, &rows, &n);
	CHECK_EQ_INT(n, 5);
	CHECK_EQ_STR(rows[0].id, "4");
	CHECK_EQ_INT(rows[0].exit_code, 0);
	CHECK_EQ_INT(rows[0].signal, 1);
	CHECK_EQ_STR(rows[1].id, "2");
	CHECK_EQ_INT(rows[1].exit_code, 3);
	CHECK_EQ_STR(rows[2].state, "CANCELLED");
	CHECK_EQ_INT(rows[2].signal, 15);
	CHECK_EQ_STR(rows[3].id, "3_1");
	CHECK_EQ_STR(rows[3].raw_id, "6");
	CHECK_EQ_STR(rows[4].id, "12");
	CHECK_EQ_STR(rows[4].state, "COMPLETED");
	wn_slurm_rows_free(rows, n);
}

TEST_MAIN()
