/* wnd: the WhatsNext server. */
#include "arena.h"
#include "auth.h"
#include "check.h"
#include "engine.h"
#include "envelope.h"
#include "err.h"
#include "fault.h"
#include "http.h"
#include "kit.h"
#include "listen.h"
#include "log.h"
#include "net.h"
#include "netguard.h"
#include "opts.h"
#include "srvconf.h"
#include "store.h"
#include "testclock.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <nng/nng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WND_MAX_LISTEN 16
#define WND_MAX_SET    32

/* Settings given on the command line, applied over the config file. */
struct wnd_opts {
	const char *config;
	const char *test_clock; /* --test-clock FILE */
	const char *listen[WND_MAX_LISTEN];
	size_t nlisten;
	const char *opts[WND_MAX_SET]; /* as written: "--lease-ms" */
	const char *keys[WND_MAX_SET];
	const char *vals[WND_MAX_SET];
	size_t nset;
	bool check, repair; /* --check, --repair */
};

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: wnd [options]\n"
	       "\n"
	       "Runs the WhatsNext server in the foreground until SIGTERM, SIGINT or SIGHUP.\n"
	       "\n"
	       "options (each spelled in full; each overrides the same setting of --config):\n"
	       "  --config FILE          read settings from a YAML file (see config/wnd.yaml);\n"
	       "                         one file: a second --config is refused\n"
	       "  --data DIR             data directory (default ./wn-data)\n"
	       "  --listen URL           address to serve, repeatable: tcp://HOST:PORT,\n"
	       "                         tls+tcp://HOST:PORT or ipc:///path\n"
	       "                         (default " WN_DEFAULT_URL ")\n"
	       "  --durability MODE      sync (default): every acknowledged change is fsynced;\n"
	       "                         relaxed: changes are acknowledged before their fsync,\n"
	       "                         one fsync at most every --relaxed-ms covering them all\n"
	       "  --relaxed-ms N         relaxed: time from one fsync to the next (default 100)\n"
	       "  --lease-ms N           job lease length; a lease not heartbeated for this long\n"
	       "                         expires (default 60000)\n"
	       "  --worker-timeout-ms N  a worker that joined and sends no heartbeat for this\n"
	       "                         long is LOST; its jobs go back at once (default 30000)\n"
	       "  --retention-ms N       delete finished jobs this long after they end, and\n"
	       "                         give their disk space back (default 0: keep them)\n"
	       "  --threads N            event loops serving requests (default 2)\n"
	       "  --admin-token-file FILE  the bootstrap admin token: FILE holds its secret and\n"
	       "                         may be read by its owner only (docs/server.md, Tokens)\n"
	       "  --audit-log FILE       audit log of admin operations (default DATA/audit.log)\n"
	       "  --tls-cert FILE        certificate chain (PEM) of tls+tcp:// and https:// "
	       "listeners\n"
	       "  --tls-key FILE         its private key (PEM)\n"
	       "  --tls-client-ca FILE   CA (PEM) that client certificates must chain to\n"
	       "  --http ADDR            also serve HTTP: the JSON API, the dashboard, /metrics\n"
	       "                         and artifacts (GET /artifacts/JOB/PATH) at HOST:PORT\n"
	       "                         or https://HOST:PORT (with --tls-cert and --tls-key);\n"
	       "                         off by default (docs/http.md)\n"
	       "  --insecure             serve a network (not loopback) address without TLS or\n"
	       "                         without tokens; refused otherwise (warned, and shown\n"
	       "                         by 'wnctl status')\n"
	       "  --no-insecure          refuse such addresses even if --config says\n"
	       "                         insecure: true\n"
	       "  --backup-dir DIR       backups (wnctl admin backup) only inside DIR\n"
	       "  --log-level LEVEL      error, warn, info (default) or debug\n"
	       "  --test-clock FILE      testing: shift the clock by the milliseconds FILE holds,\n"
	       "                         re-read at every request (docs/testing.md)\n"
	       "  -v, --verbose          same as --log-level debug\n"
	       "  -h, --help             show this help\n"
	       "  --version              show the version\n"
	       "\n"
	       "checking a data directory (--data, or data in --config) that no wnd serves:\n"
	       "  --check                verify every record and invariant, read-only; print each\n"
	       "                         finding and a summary; exit 0 clean, 1 findings,\n"
	       "                         2 when the directory cannot be checked\n"
	       "  --repair               with --check: fix what can be fixed without dropping an\n"
	       "                         acknowledged job, print what was done, check again\n"
	       "\n"
	       "environment:\n"
	       "  WN_TOKEN               deprecated: the admin token's secret, unless\n"
	       "                         --admin-token-file or the config's token is given\n"
	       "                         (use --admin-token-file instead); there\n"
	       "                         is no --token: a secret on the command line is\n"
	       "                         readable in /proc\n"
	       "  WN_ROCKSDB_LOG=DIR     keep RocksDB's own diagnostic LOG in DIR, which must\n"
	       "                         not be on the data disk (default: the data\n"
	       "                         directory, RocksDB's header lines at each open only)\n"
	       "  WN_STORE_FAULTS=SPEC   testing: make store writes or reads fail "
	       "(docs/testing.md)\n");
}

/* store_env applies the environment variables of the store: WN_STORE_FAULTS
 * (tests) and WN_ROCKSDB_LOG; 2 on a bad value. */
static int store_env(void)
{
	const char *faults = getenv("WN_STORE_FAULTS");
	if (faults != NULL) {
		char *err = NULL;
		if (wn_fault_parse(faults, &err) != WN_OK) {
			fprintf(stderr, "wnd: WN_STORE_FAULTS: %s\n", err);
			free(err);
			return 2;
		}
		wn_warn("testing: store faults injected: %s", faults);
	}
	const char *dir = getenv("WN_ROCKSDB_LOG");
	if (dir != NULL) {
		struct stat st;
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "wnd: WN_ROCKSDB_LOG: \"%s\" is not a directory\n", dir);
			return 2;
		}
		wn_store_set_info_log(dir);
	}
	return 0;
}

static int opts_set(struct wnd_opts *o, const char *opt, const char *key, const char *val)
{
	if (o->nset == WND_MAX_SET) {
		fprintf(stderr, "wnd: too many options\n");
		return 2;
	}
	o->opts[o->nset] = opt;
	o->keys[o->nset] = key;
	o->vals[o->nset++] = val;
	return 0;
}

enum {
	O_CONFIG = 256,
	O_LISTEN,
	O_VERSION,
	O_TEST_CLOCK,
	O_CHECK,
	O_REPAIR,
	O_INSECURE,
	O_NO_INSECURE,
	O_SET
};

/* Options that map one-to-one onto a setting carry its key. */
static const struct {
	const char *opt, *key, *written;
} setting_opts[] = {
    {"data", "data", "--data"},
    {"durability", "durability", "--durability"},
    {"relaxed-ms", "relaxed_ms", "--relaxed-ms"},
    {"lease-ms", "lease_ms", "--lease-ms"},
    {"worker-timeout-ms", "worker_timeout_ms", "--worker-timeout-ms"},
    {"retention-ms", "retention_ms", "--retention-ms"},
    {"threads", "threads", "--threads"},
    {"admin-token-file", "admin_token_file", "--admin-token-file"},
    {"audit-log", "audit_log", "--audit-log"},
    {"backup-dir", "backup_dir", "--backup-dir"},
    {"log-level", "log_level", "--log-level"},
    {"tls-cert", "tls_cert", "--tls-cert"},
    {"tls-key", "tls_key", "--tls-key"},
    {"tls-client-ca", "tls_client_ca", "--tls-client-ca"},
    {"http", "http", "--http"},
};

#define WND_LONGOPTS (WN_ARRAY_LEN(setting_opts) + 11)

/* args_longopts fills longopts (WND_LONGOPTS entries) with wnd's options. */
static void args_longopts(struct option *longopts)
{
	size_t n = 0;
	for (size_t i = 0; i < WN_ARRAY_LEN(setting_opts); i++)
		longopts[n++] =
		    (struct option){setting_opts[i].opt, required_argument, NULL, O_SET + (int)i};
	longopts[n++] = (struct option){"config", required_argument, NULL, O_CONFIG};
	longopts[n++] = (struct option){"listen", required_argument, NULL, O_LISTEN};
	longopts[n++] = (struct option){"test-clock", required_argument, NULL, O_TEST_CLOCK};
	longopts[n++] = (struct option){"verbose", no_argument, NULL, 'v'};
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n++] = (struct option){"version", no_argument, NULL, O_VERSION};
	longopts[n++] = (struct option){"check", no_argument, NULL, O_CHECK};
	longopts[n++] = (struct option){"repair", no_argument, NULL, O_REPAIR};
	longopts[n++] = (struct option){"insecure", no_argument, NULL, O_INSECURE};
	longopts[n++] = (struct option){"no-insecure", no_argument, NULL, O_NO_INSECURE};
	longopts[n] = (struct option){NULL, 0, NULL, 0};
}

/* args_take applies option c with its argument arg: 0 to go on, 1 to exit
 * successfully, 2 on a usage error. */
static int args_take(struct wnd_opts *o, int c, const char *arg)
{
	if (c >= O_SET && c < O_SET + (int)WN_ARRAY_LEN(setting_opts))
		return opts_set(o, setting_opts[c - O_SET].written, setting_opts[c - O_SET].key,
		                arg);
	switch (c) {
	case O_CONFIG:
		if (o->config != NULL) {
			/* the first would be dropped without a word: files are not merged */
			fprintf(stderr,
			        "wnd: --config given twice (%s, then %s): give one file; an option "
			        "overrides one of its settings\n",
			        o->config, arg);
			return 2;
		}
		o->config = arg;
		return 0;
	case O_TEST_CLOCK:
		o->test_clock = arg;
		return 0;
	case O_LISTEN:
		if (o->nlisten == WND_MAX_LISTEN) {
			fprintf(stderr, "wnd: at most %d --listen addresses\n", WND_MAX_LISTEN);
			return 2;
		}
		o->listen[o->nlisten++] = arg;
		return 0;
	case 'v':
		return opts_set(o, "-v", "log_level", "debug");
	case 'h':
		usage(stdout);
		return 1;
	case O_CHECK:
		o->check = true;
		return 0;
	case O_REPAIR:
		o->repair = true;
		return 0;
	case O_INSECURE:
		return opts_set(o, "--insecure", "insecure", "true");
	case O_NO_INSECURE:
		return opts_set(o, "--no-insecure", "insecure", "false");
	case O_VERSION:
		printf("wnd %s (protocol %d, store layout %d)\n", WN_VERSION, WN_PROTOCOL_VERSION,
		       WN_STORE_VERSION);
		return 1;
	default:
		fprintf(stderr, "wnd: try 'wnd --help'\n");
		return 2;
	}
}

/* parse_args returns 0 to run, 1 to exit successfully, 2 on a usage error. */
static int parse_args(int argc, char **argv, struct wnd_opts *o)
{
	struct option longopts[WND_LONGOPTS];
	args_longopts(longopts);
	if (wn_opts_spelled("wnd", argc, argv, "vh", longopts) != 0)
		return 2;
	/* getopt's own messages (an unknown or ambiguous option, a missing
	 * value) begin "wnd:" as every other, not with the path run */
	argv[0] = (char *)"wnd";
	int c;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		int rv = args_take(o, c, optarg);
		if (rv != 0)
			return rv;
	}
	if (o->repair && !o->check) {
		fprintf(stderr, "wnd: --repair goes with --check; try 'wnd --help'\n");
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "wnd: unexpected argument \"%s\"; try 'wnd --help'\n",
		        argv[optind]);
		return 2;
	}
	return 0;
}

/* settings builds the effective settings: defaults, file, command line. */
static int settings(const struct wnd_opts *o, wn_srvconf *c)
{
	char *err = NULL;
	wn_srvconf_defaults(c);
	if (o->config != NULL && wn_srvconf_load(c, o->config, &err) != 0)
		goto fail;
	struct stat st;
	if (o->config != NULL && c->token[0] != '\0' && stat(o->config, &st) == 0 &&
	    (st.st_mode & (S_IRWXG | S_IRWXO))) {
		err = wn_xasprintf("%s holds a token and may be read or changed by other users "
		                   "(mode %04o): run chmod 600 %s, or name the admin token with "
		                   "admin_token_file",
		                   o->config, (unsigned)(st.st_mode & 07777), o->config);
		goto fail;
	}
	for (size_t i = 0; i < o->nset; i++) {
		if (wn_srvconf_set(c, o->keys[i], o->vals[i], &err) != 0) {
			char *e2 = wn_xasprintf("%s: %s", o->opts[i], err);
			free(err);
			err = e2;
			goto fail;
		}
	}
	if (o->nlisten > 0) {
		wn_conf_strv_free(&c->listen);
		c->listen.v = wn_xcalloc(o->nlisten, sizeof(char *));
		for (size_t i = 0; i < o->nlisten; i++)
			c->listen.v[i] = wn_xstrdup(o->listen[i]);
		c->listen.n = o->nlisten;
	}
	/* deprecated: the admin token's secret, unless a file names it (a shell
	 * may hold WN_TOKEN for wnctl) */
	const char *tok = getenv("WN_TOKEN");
	if (tok != NULL && tok[0] != '\0' && c->admin_token_file[0] == '\0' &&
	    c->token[0] == '\0' && wn_srvconf_set(c, "token", tok, &err) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "wnd: %s\n", err);
	free(err);
	wn_srvconf_release(c);
	return 2;
}

/* run_check runs `wnd --check [--repair]` on the data directory: 0 clean
 * (after repair), 1 findings left, 2 when it cannot be checked. */
static int run_check(const wn_srvconf *conf, bool repair)
{
	wn_check_result res;
	char *err = NULL;
	if (wn_store_dir_check(conf->data, repair, &err) != WN_OK) {
		fprintf(stderr, "wnd: cannot check %s: %s\n", conf->data, err);
		free(err);
		return 2;
	}
	int rv = wn_check_run(conf->data, repair, stdout, &res, &err);
	fflush(stdout);
	if (rv != WN_OK) {
		fprintf(stderr, "wnd: %s\n", err ? err : wn_strerror(rv));
		free(err);
		return 2;
	}
	return res.left > 0 ? 1 : 0;
}

/* sig_name names the signals wnd takes. */
static const char *sig_name(int sig)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {{SIGTERM, "SIGTERM"},
	             {SIGINT, "SIGINT"},
	             {SIGHUP, "SIGHUP"},
	             {SIGUSR1, "SIGUSR1"},
	             {SIGUSR2, "SIGUSR2"}};
	for (size_t i = 0; i < WN_ARRAY_LEN(names); i++)
		if (names[i].sig == sig)
			return names[i].name;
	return "signal";
}

/* block_signals makes the signals wnd takes wait for sigwait in this thread
 * (and the threads it starts): SIGTERM, SIGINT and SIGHUP (the terminal of a
 * foreground wnd went away) stop it cleanly, SIGUSR1 and SIGUSR2 are logged
 * and ignored; SIGPIPE is ignored. */
static void block_signals(sigset_t *sigs)
{
	sigemptyset(sigs);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGHUP);
	sigaddset(sigs, SIGUSR1);
	sigaddset(sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* wait_for_stop waits for a signal that stops wnd and returns it; between
 * signals, twice a second, memory left by large requests goes back to the
 * system. */
static int wait_for_stop(const sigset_t *sigs)
{
	for (;;) {
		struct timespec tick = {0, 500 * 1000 * 1000};
		int sig = sigtimedwait(sigs, NULL, &tick);
		if (sig < 0)
			wn_arena_trim();
		else if (sig == SIGUSR1 || sig == SIGUSR2)
			wn_info("%s: ignored (wnd stops on SIGTERM, SIGINT or SIGHUP)",
			        sig_name(sig));
		else
			return sig;
	}
}

/* The HTTP listener, if any: parked requests are answered by their
 * listener, the SP one (net) or this one. */
static wn_http *wnd_http;

static void wnd_deliver(void *arg, void *slot, uint8_t *buf, size_t len, uint64_t seq)
{
	if (!wn_http_deliver(wnd_http, slot, buf, len, seq))
		wn_net_deliver(arg, slot, buf, len, seq);
}

static uint32_t wnd_slot_conn(void *slot)
{
	uint32_t conn;
	return wn_http_slot_conn(wnd_http, slot, &conn) ? conn : wn_net_slot_conn(slot);
}

/* backup_dir_check warns of a backup_dir inside the data directory, where
 * no backup may go. */
static void backup_dir_check(const wn_srvconf *conf)
{
	char *root = realpath(conf->backup_dir, NULL), *data = realpath(conf->data, NULL);
	size_t n = data != NULL ? strlen(data) : 0;
	if (root != NULL && data != NULL && strncmp(root, data, n) == 0 &&
	    (root[n] == '\0' || root[n] == '/'))
		wn_warn("backup_dir %s is inside the data directory %s, where no backup may go: "
		        "every wnctl admin backup is refused",
		        conf->backup_dir, conf->data);
	free(root);
	free(data);
}

/* engine_config fills cfg from the settings; with --test-clock, *tclock gets
 * the test clock the engine reads. */
static void engine_config(const wn_srvconf *conf, const struct wnd_opts *o, wn_engine_config *cfg,
                          wn_testclock **tclock)
{
	*cfg = (wn_engine_config){
	    .data_dir = conf->data,
	    .durability = strcmp(conf->durability, "relaxed") == 0 ? WN_DURABILITY_RELAXED
	                                                           : WN_DURABILITY_SYNC,
	    .relaxed_ms = (int)conf->relaxed_ms,
	    .lease_ms = conf->lease_ms,
	    .worker_timeout_ms = conf->worker_timeout_ms,
	    .retention_ms = conf->retention_ms,
	    .backup_dir = conf->backup_dir,
	    .token = conf->token,
	    .admin_token_file = conf->admin_token_file,
	    .audit_log = conf->audit_log,
	    .max_msg = WN_MSG_MAX,
	    .max_parked = (size_t)conf->max_parked,
	    .max_parked_per_conn = (size_t)conf->max_parked_per_conn,
	    .output_max = (uint64_t)conf->output_max,
	    .artifact_max_file_mb = (uint64_t)conf->artifact_max_file_mb,
	    .artifact_max_project_mb = (uint64_t)conf->artifact_max_project_mb,
	    .deliver = wnd_deliver,
	    .slot_conn = wnd_slot_conn,
	};
	*tclock = NULL;
	if (o->test_clock != NULL) {
		*tclock = wn_testclock_new(o->test_clock);
		cfg->clock = wn_testclock_wall;
		cfg->mono = wn_testclock_mono;
		cfg->clock_arg = *tclock;
		cfg->tick_per_request = true;
		wn_warn("test clock: time is shifted by the milliseconds in %s", o->test_clock);
	}
	struct stat st;
	if (conf->backup_dir[0] != '\0' && stat(conf->backup_dir, &st) != 0)
		wn_warn("backup_dir %s: %s: every wnctl admin backup is refused until it exists",
		        conf->backup_dir, strerror(errno));
	else if (conf->backup_dir[0] != '\0' && !S_ISDIR(st.st_mode))
		wn_warn("backup_dir %s is not a directory: every wnctl admin backup is refused",
		        conf->backup_dir);
	else if (conf->backup_dir[0] != '\0')
		backup_dir_check(conf);
}

/* secure_check refuses, unless the settings say insecure, a listener that
 * other machines can reach without TLS or without tokens (tokens: whether
 * the server checks them). 0 to go on, with *warning set (malloc'd) when
 * insecure lets such a listener through; -1 with *err when refused. */
static int secure_check(const wn_srvconf *conf, bool tokens, char **warning, char **err)
{
	for (size_t i = 0; i <= conf->listen.n; i++) {
		bool http = i == conf->listen.n;
		const char *url = http ? conf->http : conf->listen.v[i];
		bool tls = false;
		if (!(http ? wn_http_exposed(url, &tls) : wn_listener_exposed(url, &tls)) ||
		    (tls && tokens))
			continue;
		const char *what = !tls && !tokens ? "without TLS and without tokens"
		                   : !tls          ? "without TLS"
		                                   : "without tokens";
		if (conf->insecure) {
			*warning = wn_xasprintf("insecure: %s serves the network %s", url, what);
			return 0;
		}
		*err = wn_xasprintf(
		    "refusing to serve %s %s: anyone who reaches it could read %sand change every "
		    "job (serve %s with tls_cert and tls_key, and set tokens; or pass "
		    "--insecure to serve it anyway)",
		    url, what, tls ? "" : "the traffic ", http ? "https://" : "tls+tcp://");
		return -1;
	}
	return 0;
}

/* tls_key_check refuses a tls_key that other users may read or change, when
 * a listener (tls+tcp:// or https://) uses it. */
static int tls_key_check(const wn_srvconf *conf, char **err)
{
	bool used = strncmp(conf->http, "https://", 8) == 0;
	for (size_t i = 0; i < conf->listen.n; i++)
		used = used || strncmp(conf->listen.v[i], "tls+", 4) == 0;
	if (!used || conf->tls_key[0] == '\0')
		return WN_OK;
	return wn_key_file_check(conf->tls_key, "tls_key", err);
}

/* tls_open makes the TLS configuration of the tls+tcp listeners and of an
 * https HTTP listener (*out NULL when there are none), before anything is
 * made: settings that cannot work stop wnd with nothing created. */
static int tls_open(const wn_srvconf *conf, wn_tls **out, char **err)
{
	*out = NULL;
	bool any = false, https = strncmp(conf->http, "https://", 8) == 0;
	for (size_t i = 0; i < conf->listen.n; i++)
		any = any || strncmp(conf->listen.v[i], "tls+", 4) == 0;
	if (!any && !https) {
		if (conf->tls_cert[0] != '\0')
			wn_warn("tls_cert is set but no listener is tls+tcp:// or https://: TLS "
			        "unused");
		return WN_OK;
	}
	if (https && (conf->tls_cert[0] == '\0' || conf->tls_key[0] == '\0')) {
		*err = wn_xasprintf("cannot serve http on %s: https needs tls_cert and tls_key",
		                    conf->http);
		return WN_EINVAL;
	}
	wn_tls_settings ts = {.cert = conf->tls_cert,
	                      .key = conf->tls_key,
	                      .client_ca = conf->tls_client_ca,
	                      .require_client_cert = conf->tls_require_client_cert};
	return wn_tls_new(&ts, out, err);
}

/* net_start starts the SP listeners' event loops with the settings' limits. */
static int net_start(const wn_srvconf *conf, wn_net *net, wn_engine *e, wn_tls *tls)
{
	wn_net_on_thread_start(net, wn_store_thread_init);
	wn_net_use_tls(net, tls);
	wn_net_set_limits(net, &(wn_netlimits){
	                           .max_connections = (size_t)conf->max_connections,
	                           .handshake_timeout_ms = conf->handshake_timeout_ms,
	                           .idle_timeout_ms = conf->idle_timeout_ms,
	                           .max_unauth_request = (size_t)conf->max_unauth_request,
	                           .max_unauth_bytes = (size_t)conf->max_unauth_bytes,
	                       });
	return wn_net_serve(net, e, (int)conf->threads);
}

/* http_start serves the http setting's address into wnd_http (https with
 * tls, from tls_open). */
static int http_start(const wn_srvconf *conf, wn_engine *e, wn_tls *tls, char **err)
{
	wn_http_settings hs = {
	    .addr = conf->http,
	    .origins = (const char *const *)conf->http_cors_origins.v,
	    .norigins = conf->http_cors_origins.n,
	    .tls = tls,
	};
	return wn_http_start(e, &hs, &wnd_http, err);
}

/* serve_banner logs what wnd serves, once it does; nofile: the descriptor
 * limit raised from [0] (0: not raised) to [1]. */
static void serve_banner(const wn_srvconf *conf, wn_net *net, wn_engine *e, const char *warning,
                         const uint64_t nofile[2])
{
	for (size_t i = 0; i < conf->listen.n; i++)
		wn_info("listening on %s", conf->listen.v[i]);
	if (wnd_http != NULL)
		wn_info("serving http on %s/", wn_http_url(wnd_http));
	if (warning != NULL)
		wn_warn("%s; anyone who reaches it can read and change every job", warning);
	if (nofile[0] != 0)
		wn_info("descriptor limit raised from %llu to %llu (ulimit -n's hard limit)",
		        (unsigned long long)nofile[0], (unsigned long long)nofile[1]);
	wn_info("serving at most %zu connections (max_connections)",
	        wn_net_limits(net)->max_connections);
	wn_info("serving data in %s, durability %s, lease %lld ms, %lld event loops%s", conf->data,
	        conf->durability, (long long)conf->lease_ms, (long long)conf->threads,
	        wn_auth_enabled(e) ? ", tokens required" : ", no tokens: every caller is admin");
}

/* listen_check tries every address wnd is to serve, all held at once,
 * before anything is made: one in use stops wnd with nothing created, and so
 * do two of its own that take one socket or port (the second would fail only
 * once the data directory is open), said as such. */
static int listen_check(const wn_srvconf *conf, char **err)
{
	wn_listener *held = wn_xcalloc(conf->listen.n + 1, sizeof(*held));
	size_t n = 0;
	int rv = WN_OK;
	while (n < conf->listen.n && rv == WN_OK)
		if ((rv = wn_listener_open(&held[n], conf->listen.v[n], err)) == WN_OK)
			n++;
	bool http = rv == WN_OK && conf->http[0] != '\0';
	if (http)
		rv = wn_http_check(conf->http, err);
	for (size_t i = 0; i < n; i++)
		wn_listener_close(&held[i]);
	free(held);
	if (rv == WN_OK || (n == 0 && !http))
		return rv;
	/* free on its own: an address given before takes it */
	char *alone = NULL;
	const char *url = http ? conf->http : conf->listen.v[n];
	if ((http ? wn_http_check(url, &alone) : wn_listener_check(url, &alone)) != WN_OK) {
		free(alone);
		return rv;
	}
	free(*err);
	*err = wn_xasprintf("cannot %s %s: %s listen address takes the same %s; give each "
	                    "address once",
	                    http ? "serve http on" : "listen on", url, http ? "a" : "another",
	                    strncmp(url, "ipc://", 6) == 0 ? "socket" : "port");
	return WN_EINVAL;
}

/* serve runs the server until a signal stops it: 0 when it stopped cleanly,
 * 1 when it could not start. */
static int serve(const wn_srvconf *conf, const struct wnd_opts *o)
{
	sigset_t sigs;
	block_signals(&sigs);
	char *err = NULL;
	wn_net *net = NULL;
	wn_engine *e = NULL;
	wn_engine_config cfg;
	wn_testclock *tclock = NULL;
	wn_tls *tls = NULL;
	char *warning = NULL;
	engine_config(conf, o, &cfg, &tclock);
	int status = 1;
	uint64_t nofile[2] = {0, 0}; /* from, to; both stay 0 when not raised */
	wn_netguard_raise_nofile(&nofile[0], &nofile[1]);
	if (wn_netguard_nofile_check(&err) != WN_OK)
		goto fail;
	/* refused before anything is created when the server cannot have tokens
	 * (no admin token set, no data directory yet to hold token records);
	 * checked again once the engine has loaded them */
	bool may_have_tokens = conf->token[0] != '\0' || conf->admin_token_file[0] != '\0' ||
	                       access(conf->data, F_OK) == 0;
	if (listen_check(conf, &err) != WN_OK)
		goto fail;
	if (secure_check(conf, may_have_tokens, &warning, &err) != 0 ||
	    tls_key_check(conf, &err) != WN_OK || tls_open(conf, &tls, &err) != WN_OK ||
	    wn_engine_open(&cfg, &e, &err) != WN_OK)
		goto fail;
	free(warning);
	warning = NULL;
	if (secure_check(conf, wn_auth_enabled(e), &warning, &err) != 0)
		goto fail_engine;
	wn_engine_warn(e, warning);
	wn_fault_serving(); /* the start's walks are over */
	if (wn_net_open((const char *const *)conf->listen.v, conf->listen.n, WN_MSG_MAX, &net,
	                &err) != WN_OK)
		goto fail_engine;
	/* HTTP first: once the SP listeners answer, so does HTTP */
	if (conf->http[0] != '\0' && http_start(conf, e, tls, &err) != WN_OK)
		goto fail_http;
	if (net_start(conf, net, e, tls) != WN_OK) {
		err = wn_xasprintf("cannot start the event loops");
		goto fail_http;
	}
	serve_banner(conf, net, e, warning, nofile);
	int sig = wait_for_stop(&sigs);
	wn_info("%s: finishing requests in flight", sig_name(sig));
	wn_engine_release_parked(e);
	wn_http_stop(wnd_http);
	wn_net_stop(net);
	status = 0;
fail_http:
	wn_http_stop(wnd_http);
	wn_net_stop(net);
	wn_net_close(net);
fail_engine:
	wn_engine_close(e);
	wn_http_free(wnd_http);
	wnd_http = NULL;
fail:
	if (err != NULL) {
		fprintf(stderr, "wnd: %s\n", err);
		free(err);
	}
	if (status == 0)
		wn_info("stopped cleanly");
	wn_tls_free(tls);
	free(warning);
	wn_testclock_free(tclock);
	/* nng frees a stopped HTTP server's last parts on a thread of its own;
	 * wait for them, so that nothing is left behind at exit (what a leak
	 * checker would report); every thread that used nng has ended */
	nng_fini();
	return status;
}

int main(int argc, char **argv)
{
	/* What wnd creates is its owner's only: the data directory and every
	 * file RocksDB makes in it (with modes of its own choosing), backups, ipc
	 * sockets, logs. */
	umask(077);
	struct wnd_opts o;
	memset(&o, 0, sizeof(o));
	int rv = parse_args(argc, argv, &o);
	if (rv != 0)
		return rv == 1 ? 0 : 2;
	wn_log_set_prefix("wnd");
	wn_srvconf conf;
	if (settings(&o, &conf) != 0)
		return 2;
	wn_log_set_level(wn_log_parse_level(conf.log_level));
	if (store_env() != 0)
		rv = 2;
	else if (o.check)
		rv = run_check(&conf, o.repair);
	else
		rv = serve(&conf, &o);
	wn_srvconf_release(&conf);
	return rv;
}
