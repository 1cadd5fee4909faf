/* Unit tests of worker.yaml loading (wconfig) and of the cli formatter's
 * handling of a job up to the command it would run. */
#include "err.h"
#include "fmt.h"
#include "strbuf.h"
#include "test.h"
#include "wconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK_HAS(hay, needle)                                                                     \
	do {                                                                                       \
		const char *hay_ = (hay);                                                          \
		if (hay_ == NULL || strstr(hay_, (needle)) == NULL)                                \
			wn_test_fail(__FILE__, __LINE__, "'%s' does not contain '%s'",             \
			             wn_test_str(hay_), (needle));                                 \
	} while (0)

static wn_wconfig *parse(const char *text)
{
	wn_wconfig *c = NULL;
	char *err = NULL;
	int rc = wn_wconfig_parse("worker.yaml", text, strlen(text), "/base", &c, &err);
	if (rc != WN_OK)
		wn_test_fail(__FILE__, __LINE__, "parse failed: %s", err);
	return c;
}

static char *parse_error(const char *text)
{
	wn_wconfig *c = NULL;
	char *err = NULL;
	int rc = wn_wconfig_parse("worker.yaml", text, strlen(text), "/base", &c, &err);
	CHECK(rc != WN_OK);
	CHECK(c == NULL);
	CHECK(err != NULL);
	return err;
}

static const char minimal[] = "projects: sweep\n"
                              "tasks:\n"
                              "  train:\n"
                              "    command: [python3, train.py, --lr, \"{lr}\"]\n";

TEST(minimal_config_gets_defaults)
{
	wn_wconfig *c = parse(minimal);
	CHECK(c->server == NULL);
	CHECK(c->name == NULL);
	CHECK_EQ_INT(c->projects.n, 1);
	CHECK_EQ_STR(c->projects.v[0], "sweep");
	CHECK_EQ_INT(c->slots, 1);
	CHECK_EQ_STR(c->log_level, "info");
	CHECK_EQ_STR(c->log_dir, "/base/wn-logs");
	CHECK_EQ_INT(c->fetch_wait_ms, 10000);
	CHECK_EQ_INT(c->heartbeat_ms, 0);
	CHECK_EQ_INT(c->kill_grace_s, 10);
	CHECK_EQ_INT(c->tail_bytes, 4096);
	CHECK_EQ_INT(c->ntasks, 1);
	CHECK_EQ_STR(c->task_names[0], "train");
	const wn_fmt *f = wn_wconfig_task(c, "train");
	CHECK(f != NULL);
	CHECK_EQ_STR(wn_fmt_name(f), "cli");
	CHECK(wn_wconfig_task(c, "eval") == NULL);
	char *err = NULL;
	CHECK_OK(wn_wconfig_check(c, &err));
	wn_wconfig_free(c);
}

TEST(full_config)
{
	wn_wconfig *c = parse("server: tcp://10.0.0.1:7640\n"
	                      "token: s3cret\n"
	                      "name: gpu-box-1\n"
	                      "projects: [sweep, nightly]\n"
	                      "slots: 4\n"
	                      "log_level: debug\n"
	                      "log_dir: /var/log/wn\n"
	                      "fetch_wait_ms: 2000\n"
	                      "heartbeat_ms: 500\n"
	                      "kill_grace_s: 3\n"
	                      "tail_bytes: 100\n"
	                      "rpc_timeout_ms: 4000\n"
	                      "resources: {cpu: 16, gpus: 2, memory_mb: 64000, labels: {zone: a}}\n"
	                      "tasks:\n"
	                      "  train:\n"
	                      "    formatter: cli\n"
	                      "    command: [python3, train.py]\n"
	                      "    workdir: runs/{project}\n"
	                      "    env: {SEED: \"{seed}\", MODE: fast}\n"
	                      "    inherit_env: false\n"
	                      "    log: \"{task}/{job.id}.log\"\n"
	                      "  eval:\n"
	                      "    command: [./eval.sh, \"{{literal}}\"]\n");
	CHECK_EQ_STR(c->server, "tcp://10.0.0.1:7640");
	CHECK_EQ_STR(c->token, "s3cret");
	CHECK_EQ_STR(c->name, "gpu-box-1");
	CHECK_EQ_INT(c->projects.n, 2);
	CHECK_EQ_INT(c->slots, 4);
	CHECK_EQ_STR(c->log_level, "debug");
	CHECK_EQ_STR(c->log_dir, "/var/log/wn");
	CHECK_EQ_INT(c->fetch_wait_ms, 2000);
	CHECK_EQ_INT(c->heartbeat_ms, 500);
	CHECK_EQ_INT(c->kill_grace_s, 3);
	CHECK_EQ_INT(c->tail_bytes, 100);
	CHECK_EQ_INT(c->rpc_timeout_ms, 4000);
	CHECK_EQ_INT(c->resources.cpu, 16);
	CHECK_EQ_INT(c->resources.gpus, 2);
	CHECK_EQ_INT(c->resources.memory_mb, 64000);
	CHECK_EQ_STR(wn_conf_strmap_get(&c->resources.labels, "zone"), "a");
	CHECK_EQ_INT(c->ntasks, 2);
	CHECK_EQ_STR(c->task_names[1], "eval");
	wn_wconfig_free(c);
}

TEST(malformed_yaml_gives_line_and_column)
{
	char *err = parse_error("projects: sweep\n"
	                        "tasks:\n"
	                        "  train:\n"
	                        "    command: [python3, train.py\n"
	                        "  eval: {}\n");
	CHECK_HAS(err, "worker.yaml:");
	CHECK_HAS(err, "flow sequence");
	free(err);
	err = parse_error("projects: sweep\n"
	                  "tasks:\n"
	                  "  train:\n"
	                  "    command: [a]\n"
	                  "     workdir: x\n");
	CHECK_HAS(err, "worker.yaml:5:");
	free(err);
}

TEST(config_errors_are_positioned)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
	    {"- a\n", "worker.yaml:1:1: expected a mapping at the top level, got a list"},
	    {"projects: p\n", "'tasks' is required"},
	    {"projects: p\ntasks: []\n", "worker.yaml:2:8: expected a mapping of task names"},
	    {"projects: p\ntasks: {}\n", "got an empty one"},
	    {"projects: p\ntasks:\n  train:\n", "worker.yaml:3:9: expected a mapping for task "
	                                        "'train', got nothing"},
	    {"projects: p\ntasks:\n  train: {}\n", "worker.yaml:3:10: 'command' is required"},
	    {"projects: p\ntasks:\n  train:\n    command: python3 train.py --lr {lr}\n",
	     "worker.yaml:4:14: expected a list for 'command'"},
	    {"projects: p\ntasks:\n  train:\n    command: []\n",
	     "worker.yaml:4:14: 'command' must not be an empty list"},
	    {"projects: p\ntasks:\n  train:\n    command: [echo, \"{lr\"]\n",
	     "worker.yaml:4:21: bad template in 'command': unclosed '{' at column 1"},
	    {"projects: p\ntasks:\n  train:\n    command: [echo]\n    workdir: \"a}\"\n",
	     "worker.yaml:5:14: bad template in 'workdir'"},
	    {"projects: p\ntasks:\n  train:\n    command: [echo]\n    env: {X: \"{\"}\n",
	     "bad template in 'X'"},
	    {"projects: p\ntasks:\n  train:\n    command: [echo]\n    env: {\"A=B\": x}\n",
	     "invalid environment variable name 'A=B'"},
	    /* the worker's own: results read from elsewhere, a device held by another run */
	    {"projects: p\ntasks:\n  train:\n    command: [echo]\n    env: {WN_RESULTS: /tmp/r}\n",
	     "worker.yaml:5:11: 'env' cannot set WN_RESULTS: the worker sets it for each run"},
	    {"projects: p\ntasks:\n  t:\n    command: [echo]\n    env: {CUDA_VISIBLE_DEVICES: "
	     "\"0\"}\n",
	     "'env' cannot set CUDA_VISIBLE_DEVICES"},
	    {"projects: p\ntasks:\n  t:\n    formatter: slurm\n    script: \"echo\"\n    env: "
	     "{WN_JOB_ID: x}\n",
	     "'env' cannot set WN_JOB_ID"},
	    {"projects: p\ntasks:\n  train:\n    command: [echo]\n    log: \"{}\"\n",
	     "bad template in 'log': empty placeholder"},
	    {"projects: p\ntasks:\n  train:\n    command: [echo]\n    formatter: pbs\n",
	     "worker.yaml:5:16: unknown formatter 'pbs' (known: cli, slurm, runai)"},
	    {"projects: p\ntasks:\n  train:\n    command: [echo]\n    comand: [x]\n",
	     "worker.yaml:5:5: unknown key 'comand' (did you mean 'command'?)"},
	    {"projects: p\ntasks:\n  bad name:\n    command: [echo]\n",
	     "worker.yaml:3:3: invalid task name 'bad name'"},
	    {"projects: [ok, \"b/d\"]\ntasks: {t: {command: [x]}}\n",
	     "worker.yaml:1:16: invalid project name 'b/d'"},
	    {"name: \"a b\"\ntasks: {t: {command: [x]}}\n", "worker.yaml:1:7: invalid worker name"},
	    {"slots: 0\ntasks: {t: {command: [x]}}\n", "worker.yaml:1:8: 'slots' must be between 1 "
	                                               "and 256, not 0"},
	    {"log_level: loud\ntasks: {t: {command: [x]}}\n", "'log_level' must be one of error, "
	                                                      "warn, info, debug"},
	    {"tail_bytes: 70000\ntasks: {t: {command: [x]}}\n", "'tail_bytes' must be between 0 "
	                                                        "and 65536"},
	    {"resources: {gpu: 1}\ntasks: {t: {command: [x]}}\n", "unknown key 'gpu' (did you mean "
	                                                          "'gpus'?)"},
	    {"slot: 2\ntasks: {t: {command: [x]}}\n",
	     "worker.yaml:1:1: unknown key 'slot' (did you "
	     "mean 'slots'?)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = parse_error(cases[i].text);
		if (err == NULL || strstr(err, cases[i].msg) == NULL)
			wn_test_fail(__FILE__, __LINE__, "for:\n%s\ngot '%s', want '%s'",
			             cases[i].text, wn_test_str(err), cases[i].msg);
		free(err);
	}
}

TEST(check_needs_a_project)
{
	wn_wconfig *c = parse("tasks: {t: {command: [x]}}\n");
	char *err = NULL;
	CHECK_EQ_INT(wn_wconfig_check(c, &err), WN_EINVAL);
	CHECK_HAS(err, "no project to serve");
	free(err);
	c->projects.v = calloc(1, sizeof(char *));
	c->projects.v[0] = strdup("bad/name");
	c->projects.n = 1;
	CHECK_EQ_INT(wn_wconfig_check(c, &err), WN_EINVAL);
	CHECK_HAS(err, "invalid project name 'bad/name'");
	free(err);
	wn_wconfig_free(c);
}

/* More projects or tasks than the server takes in a Join: the worker would
 * start, then stop when the server refused it. */
TEST(check_refuses_more_projects_or_tasks_than_a_join_takes)
{
	wn_strbuf text = WN_STRBUF_INIT;
	wn_strbuf_addf(&text, "projects: p\ntasks:\n");
	for (int i = 0; i < 1025; i++)
		wn_strbuf_addf(&text, "  t%d: {command: [x]}\n", i);
	wn_wconfig *c = parse(wn_strbuf_str(&text));
	char *err = NULL;
	CHECK_EQ_INT(wn_wconfig_check(c, &err), WN_EINVAL);
	CHECK_HAS(err, "1025 tasks: a worker serves at most 1024 projects and 1024 tasks");
	free(err);
	wn_wconfig_free(c);
	wn_strbuf_reset(&text);
	wn_strbuf_addf(&text, "projects: [");
	for (int i = 0; i < 1025; i++)
		wn_strbuf_addf(&text, "%sp%d", i ? ", " : "", i);
	wn_strbuf_addf(&text, "]\ntasks: {t: {command: [x]}}\n");
	c = parse(wn_strbuf_str(&text));
	CHECK_EQ_INT(wn_wconfig_check(c, &err), WN_EINVAL);
	CHECK_HAS(err, "1025 projects: a worker serves at most 1024 projects");
	free(err);
	wn_wconfig_free(c);
	wn_strbuf_free(&text);
}

/* A log_dir that is a file (or lies below one) would fail every job the
 * worker takes, one after the other: the worker does not start. */
TEST(check_refuses_a_log_dir_that_is_a_file)
{
	FILE *f = fopen("afile", "w");
	CHECK(f != NULL);
	fclose(f);
	char cwd[4096], text[8192];
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	snprintf(text, sizeof(text), "projects: p\nlog_dir: %s/afile\n%s", cwd, minimal + 16);
	wn_wconfig *c = parse(text);
	char *err = NULL;
	CHECK_EQ_INT(wn_wconfig_check(c, &err), WN_EINVAL);
	CHECK_HAS(err, "/afile is not a directory");
	free(err);
	wn_wconfig_free(c);
	snprintf(text, sizeof(text), "projects: p\nlog_dir: %s/afile/logs\n%s", cwd, minimal + 16);
	c = parse(text);
	CHECK_EQ_INT(wn_wconfig_check(c, &err), WN_EINVAL);
	CHECK_HAS(err, "/afile/logs cannot be made: a part of its path is a file");
	free(err);
	wn_wconfig_free(c);
	snprintf(text, sizeof(text), "projects: p\nlog_dir: %s/new/logs\n%s", cwd, minimal + 16);
	c = parse(text);
	CHECK_OK(wn_wconfig_check(c, &err)); /* made as the first job needs it */
	wn_wconfig_free(c);
}

/* A TLS file that cannot be read fails --check, as it would fail the start;
 * a server without TLS does not use them. */
TEST(check_refuses_tls_files_that_cannot_be_read)
{
	wn_wconfig *c = parse("projects: p\nserver: tls+tcp://127.0.0.1:7640\n"
	                      "tls: {ca: /nonexistent/ca.pem}\ntasks: {t: {command: [x]}}\n");
	char *err = NULL;
	CHECK_EQ_INT(wn_wconfig_check(c, &err), WN_EINVAL);
	CHECK_HAS(err, "tls ca /nonexistent/ca.pem cannot be read: No such file or directory");
	free(err);
	wn_wconfig_free(c);
	c = parse("projects: p\nserver: tcp://127.0.0.1:7640\n"
	          "tls: {ca: /nonexistent/ca.pem}\ntasks: {t: {command: [x]}}\n");
	CHECK_OK(wn_wconfig_check(c, &err));
	wn_wconfig_free(c);
}

TEST(load_reads_a_file)
{
	FILE *f = fopen("worker.yaml", "w");
	fputs(minimal, f);
	fclose(f);
	wn_wconfig *c = NULL;
	char *err = NULL;
	CHECK_OK(wn_wconfig_load("worker.yaml", &c, &err));
	CHECK_EQ_STR(c->path, "worker.yaml");
	char cwd[4096];
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_EQ_STR(c->base_dir, cwd);
	wn_wconfig_free(c);
	CHECK_EQ_INT(wn_wconfig_load("missing.yaml", &c, &err), WN_ENOTFOUND);
	CHECK_HAS(err, "cannot open missing.yaml");
	free(err);
}

TEST(key_table_is_documented)
{
	size_t n = 0;
	const wn_conf_key *keys = wn_wconfig_keys(&n);
	CHECK(n >= 10);
	for (size_t i = 0; i < n; i++) {
		CHECK(keys[i].name != NULL);
		CHECK(keys[i].help != NULL && keys[i].help[0] != '\0');
	}
}

/* ---------------------------------------------------------------- cli prepare */

static const char *const pkeys[] = {"lr", "evil"};
static const char *const pvals[] = {"0.1", "$(touch /tmp/x); rm -rf ~ `id` 'q' \"d\""};

static const wn_fmt_job job = {
    .id = 12,
    .name = "train-12",
    .project = "sweep",
    .task = "train",
    .worker = "w1",
    .server = "ipc:///tmp/x",
    .attempt = 2,
    .nparams = 2,
    .param_keys = pkeys,
    .param_vals = pvals,
};

TEST(prepare_refuses_missing_parameters_and_runs_nothing)
{
	wn_wconfig *c = parse("projects: p\n"
	                      "tasks:\n"
	                      "  train:\n"
	                      "    command: [touch, \"marker-{epochs}\", \"{lr}\", \"{seed}\"]\n");
	wn_fmt_run *run = NULL;
	char *reason = NULL;
	CHECK_EQ_INT(wn_fmt_prepare(wn_wconfig_task(c, "train"), &job, &run, &reason),
	             WN_ENOTFOUND);
	CHECK(run == NULL);
	CHECK_EQ_STR(reason, "missing parameters 'epochs', 'seed'");
	free(reason);
	CHECK(access("marker-", F_OK) != 0);
	wn_wconfig_free(c);
}

TEST(run_passes_values_byte_for_byte)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	fprintf(m,
	        "projects: p\n"
	        "log_dir: %s/logs\n"
	        "tasks:\n"
	        "  train:\n"
	        "    command: [/bin/sh, -c, 'printf \"%%s|\" \"$@\"; printf \"%%s|%%s|%%s\" "
	        "\"$WN_JOB_ID\" \"$WN_ATTEMPT\" \"$SEED\"', sh, \"{evil}\", \"--lr={lr}\", "
	        "\"{{x}}\"]\n"
	        "    env: {SEED: \"s-{job.id}\"}\n",
	        wn_test_tmpdir());
	fclose(m);
	wn_wconfig *c = NULL;
	char *err = NULL;
	CHECK_OK(wn_wconfig_parse("worker.yaml", text, len, wn_test_tmpdir(), &c, &err));
	free(text);
	wn_fmt_run *run = NULL;
	char *reason = NULL;
	CHECK_OK(wn_fmt_prepare(wn_wconfig_task(c, "train"), &job, &run, &reason));
	CHECK_OK(wn_fmt_start(run, -1, &reason));
	CHECK_EQ_INT(wn_fmt_wait(run, -1, -1), 1);
	wn_fmt_result res;
	wn_fmt_collect(run, &res);
	CHECK(res.success);
	CHECK_EQ_INT(res.exit_code, 0);
	CHECK_EQ_STR(res.output_tail,
	             "$(touch /tmp/x); rm -rf ~ `id` 'q' \"d\"|--lr=0.1|{x}|12|2|s-12");
	wn_fmt_result_release(&res);
	wn_fmt_run_free(run);
	char path[512];
	snprintf(path, sizeof(path), "%s/logs/sweep/train/12.2.log", wn_test_tmpdir());
	CHECK_EQ_INT(access(path, F_OK), 0);
	wn_wconfig_free(c);
}

TEST(start_failure_names_the_cause)
{
	wn_wconfig *c = parse("projects: p\n"
	                      "log_dir: logs\n"
	                      "tasks:\n"
	                      "  a: {command: [no-such-program-wn, x]}\n"
	                      "  b: {command: [./not-executable]}\n"
	                      "  d: {command: [/bin/true], workdir: /no/such/dir}\n");
	FILE *f = fopen("not-executable", "w");
	fputs("#!/bin/sh\n", f);
	fclose(f);
	static const struct {
		const char *task;
		const char *reason;
	} cases[] = {
	    {"a", "cannot start no-such-program-wn: not found in PATH"},
	    {"b", "cannot start ./not-executable: not executable"},
	    {"d", "cannot change to directory /no/such/dir"},
	};
	for (size_t i = 0; i < 3; i++) {
		wn_fmt_run *run = NULL;
		char *reason = NULL;
		CHECK_OK(wn_fmt_prepare(wn_wconfig_task(c, cases[i].task), &job, &run, &reason));
		CHECK(wn_fmt_start(run, -1, &reason) != WN_OK);
		CHECK_HAS(reason, cases[i].reason);
		free(reason);
		wn_fmt_run_free(run);
	}
	wn_wconfig_free(c);
}

TEST_MAIN()
