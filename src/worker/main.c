/* wnworker: the worker agent. Parses the command line and worker.yaml, then
 * hands over to the agent; a dedicated thread turns signals into stop requests. */
#include "agent.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "opts.h"
#include "proc_guard.h"
#include "proc_stray.h"
#include "util.h"
#include "wconfig.h"

#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char worker_usage[] =
    "usage: wnworker [--config FILE] [--server URL] [--project NAME]... [--name NAME]\n"
    "                [--once | --exit-when-empty] [-v] [--check]\n"
    "\n"
    "Takes jobs from a WhatsNext server, runs them as worker.yaml says, and reports\n"
    "their results. Runs in the foreground until stopped. Long options are taken\n"
    "by their whole names only.\n"
    "\n"
    "  -c, --config FILE      worker configuration (default ./worker.yaml)\n"
    "  -s, --server URL       server address (default: $WN_SERVER, then the\n"
    "                         config's 'server', then " WN_DEFAULT_URL ")\n"
    "  -p, --project NAME     serve this project (repeat for several; replaces\n"
    "                         the config's 'projects')\n"
    "  -n, --name NAME        the worker's name (default: the config's, or <host>-<pid>;\n"
    "                         <host> with a slurm or runai task)\n"
    "      --once             run one job, then exit\n"
    "      --exit-when-empty  exit when no job is ready and none is running\n"
    "      --check            check the configuration and exit\n"
    "  -v, --verbose          log more (repeat for debug)\n"
    "  -h, --help             show this help\n"
    "  -V, --version          show the version\n"
    "\n"
    "Signals: SIGTERM, SIGINT or SIGHUP stops fetching and waits for running jobs;\n"
    "a second one stops them (SIGTERM, then SIGKILL after kill_grace_s) and hands\n"
    "their leases back; a third kills them at once. See docs/worker.md.\n";

/* The signal thread's state. */
typedef struct worker_signals {
	wn_agent *agent;
	sigset_t set;
	atomic_bool quit;
} worker_signals;

static void *worker_signal_main(void *arg)
{
	worker_signals *s = arg;
	struct timespec tick = {0, 200 * 1000 * 1000};
	bool orphans = false; /* a child exited since the last reaping */
	int64_t reaped_at = 0;
	while (!atomic_load(&s->quit)) {
		siginfo_t si;
		int sig = sigtimedwait(&s->set, &si, &tick);
		wn_agent_tick(s->agent);
		orphans = orphans || sig == SIGCHLD;
		/* orphans of commands are handed to the worker: reaped within a second */
		if (orphans && wn_mono_ms() - reaped_at >= 1000) {
			orphans = wn_proc_stray_reap() > 0;
			reaped_at = wn_mono_ms();
		}
		if (sig <= 0 || sig == SIGCHLD)
			continue;
		wn_info("received SIG%s", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		wn_agent_stop(s->agent);
	}
	return NULL;
}

static void worker_replace(char **field, const char *value)
{
	free(*field);
	*field = wn_xstrdup(value);
}

/* What the command line says. */
typedef struct worker_args {
	const char *config, *server, *name;
	wn_conf_strv projects;
	wn_agent_opts opts;
	bool check;
	int verbose;
} worker_args;

/* worker_args_parse reads the command line into a; returns -1 to go on, or
 * the exit status (--help, --version, a usage error). */
static int worker_args_parse(int argc, char **argv, worker_args *a)
{
	enum { OPT_ONCE = 256, OPT_EXIT_WHEN_EMPTY, OPT_CHECK };
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"server", required_argument, NULL, 's'},
	    {"project", required_argument, NULL, 'p'},
	    {"name", required_argument, NULL, 'n'},
	    {"once", no_argument, NULL, OPT_ONCE},
	    {"exit-when-empty", no_argument, NULL, OPT_EXIT_WHEN_EMPTY},
	    {"check", no_argument, NULL, OPT_CHECK},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	if (wn_opts_spelled("wnworker", argc, argv, "c:s:p:n:vhV", longopts) != 0)
		return 2;
	int c;
	while ((c = getopt_long(argc, argv, "c:s:p:n:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 's':
			a->server = optarg;
			break;
		case 'p':
			a->projects.v =
			    wn_xrealloc(a->projects.v, (a->projects.n + 1) * sizeof(char *));
			a->projects.v[a->projects.n++] = wn_xstrdup(optarg);
			break;
		case 'n':
			a->name = optarg;
			break;
		case OPT_ONCE:
			a->opts.once = true;
			break;
		case OPT_EXIT_WHEN_EMPTY:
			a->opts.exit_when_empty = true;
			break;
		case OPT_CHECK:
			a->check = true;
			break;
		case 'v':
			a->verbose++;
			break;
		case 'h':
			fputs(worker_usage, stdout);
			return 0;
		case 'V':
			printf("wnworker %s (protocol %d)\n", WN_VERSION, WN_PROTOCOL_VERSION);
			return 0;
		default:
			fputs("try 'wnworker --help'\n", stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wnworker: unexpected argument '%s' (try 'wnworker --help')\n",
		        argv[optind]);
		return 2;
	}
	return -1;
}

/* worker_config loads the configuration a names, with the command line's
 * settings over its own, and checks it; returns -1 to go on (*out set), or
 * the exit status. */
static int worker_config(worker_args *a, wn_wconfig **out)
{
	if (a->config == NULL) {
		if (access("worker.yaml", F_OK) != 0) {
			fprintf(stderr,
			        "wnworker: no configuration: pass --config FILE (an annotated "
			        "example is config/worker.yaml)\n");
			return 2;
		}
		a->config = "worker.yaml";
	}
	wn_wconfig *cfg = NULL;
	char *err = NULL;
	if (wn_wconfig_load(a->config, &cfg, &err) != WN_OK) {
		fprintf(stderr, "wnworker: %s\n", err);
		free(err);
		return 2;
	}
	/* the address: --server, else WN_SERVER, else the file's server: */
	const char *env = getenv("WN_SERVER");
	if (a->server != NULL)
		worker_replace(&cfg->server, a->server);
	else if (env != NULL && env[0] != '\0')
		worker_replace(&cfg->server, env);
	if (a->name != NULL)
		worker_replace(&cfg->name, a->name);
	if (a->projects.n > 0) {
		wn_conf_strv_free(&cfg->projects);
		cfg->projects = a->projects;
		a->projects = (wn_conf_strv){0};
	}
	if (wn_wconfig_check(cfg, &err) != WN_OK) {
		fprintf(stderr, "wnworker: %s\n", err);
		free(err);
		wn_wconfig_free(cfg);
		return 2;
	}
	/* the token: the file's, else WN_TOKEN, which leaves the environment
	 * every run inherits (a run printing it would show it to readers) */
	const char *tok = getenv("WN_TOKEN");
	if (cfg->token == NULL && tok != NULL && tok[0] != '\0')
		cfg->token = wn_xstrdup(tok);
	unsetenv("WN_TOKEN");
	*out = cfg;
	return -1;
}

/* worker_serve runs the agent for cfg until it stops; returns the exit
 * status. */
static int worker_serve(const wn_wconfig *cfg, const wn_agent_opts *opts)
{
	/* Signals go to the signal thread only; commands get them reset. */
	worker_signals sigs = {0};
	sigemptyset(&sigs.set);
	sigaddset(&sigs.set, SIGTERM);
	sigaddset(&sigs.set, SIGINT);
	sigaddset(&sigs.set, SIGHUP);
	sigaddset(&sigs.set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &sigs.set, NULL);
	wn_proc_stray_adopt(); /* what commands leave behind is handed to the worker */
	signal(SIGPIPE, SIG_IGN);

	wn_agent *agent = NULL;
	char *err = NULL;
	if (wn_agent_new(cfg, opts, &agent, &err) != WN_OK) {
		fprintf(stderr, "wnworker: %s\n", err);
		free(err);
		return 1;
	}
	sigs.agent = agent;
	pthread_t sig_thread;
	int rv = pthread_create(&sig_thread, NULL, worker_signal_main, &sigs);
	if (rv != 0) {
		fprintf(stderr, "wnworker: cannot start the signal thread: %s\n", strerror(rv));
		wn_agent_free(agent);
		return 1;
	}
	int rc = wn_agent_run(agent);
	atomic_store(&sigs.quit, true);
	pthread_join(sig_thread, NULL);
	wn_agent_free(agent);
	return rc == WN_OK ? 0 : 1;
}

/* worker_programs checks that the programs of every task's runs are there
 * (not on PATH: python4, sbatch on a machine without SLURM); false and a
 * message for each missing one (an error with --check, else a warning). */
static bool worker_programs(const char *config, const wn_wconfig *cfg, bool check)
{
	bool ok = true;
	for (size_t i = 0; i < cfg->ntasks; i++) {
		char *why = NULL;
		if (wn_fmt_programs_check(cfg->task_fmts[i], &why) == WN_OK)
			continue;
		if (check)
			fprintf(stderr, "wnworker: %s: task %s: %s\n", config, cfg->task_names[i],
			        why);
		else
			wn_warn("task %s: %s: its jobs will fail", cfg->task_names[i], why);
		free(why);
		ok = false;
	}
	return ok;
}

int main(int argc, char **argv)
{
	wn_log_set_prefix("wnworker");
	/* Started with a standard descriptor closed, the first file opened would
	 * take its place: fill the gaps. */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			return 1;
	worker_args a = {0};
	wn_wconfig *cfg = NULL;
	int status = worker_args_parse(argc, argv, &a);
	if (status < 0)
		status = worker_config(&a, &cfg);
	wn_conf_strv_free(&a.projects);
	if (status >= 0)
		return status;
	if (a.check && !worker_programs(a.config, cfg, true)) {
		wn_wconfig_free(cfg);
		return 2;
	}
	if (a.check) {
		printf("%s: ok (%zu task%s, %zu project%s, %lld slot%s)\n", a.config, cfg->ntasks,
		       cfg->ntasks == 1 ? "" : "s", cfg->projects.n,
		       cfg->projects.n == 1 ? "" : "s", (long long)cfg->slots,
		       cfg->slots == 1 ? "" : "s");
		wn_wconfig_free(cfg);
		return 0;
	}
	int level = wn_log_parse_level(cfg->log_level) + a.verbose;
	wn_log_set_level(level > WN_LOG_DEBUG ? WN_LOG_DEBUG : level);
	worker_programs(a.config, cfg, false);
	wn_proc_guard_start(NULL); /* while the worker is small; a command start retries */
	status = worker_serve(cfg, &a.opts);
	wn_wconfig_free(cfg);
	return status;
}
