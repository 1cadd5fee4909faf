/* wnd: the WhatsNext server. */
#include "engine.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "store.h"
#include "util.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WN_VERSION
#define WN_VERSION "0.1.0"
#endif

#define WND_MAX_LISTEN 16

struct wnd_opts {
	const char *config;
	const char *data;
	const char *listen[WND_MAX_LISTEN];
	size_t nlisten;
	int durability;
	int relaxed_ms;
	int64_t lease_ms;
	int threads;
	const char *token;
	int log_level;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: wnd [options]\n"
	        "\n"
	        "Runs the WhatsNext server in the foreground until SIGTERM or SIGINT.\n"
	        "\n"
	        "options:\n"
	        "  --config FILE          read settings from a YAML file (see config/wnd.yaml);\n"
	        "                         options on the command line win\n"
	        "  --data DIR             data directory (default ./wn-data)\n"
	        "  --listen URL           address to serve, repeatable: tcp://HOST:PORT or\n"
	        "                         ipc:///path (default " WN_DEFAULT_URL ")\n"
	        "  --durability MODE      sync (default): every acknowledged change is fsynced;\n"
	        "                         relaxed: fsync at most every --relaxed-ms\n"
	        "  --relaxed-ms N         longest time between syncs in relaxed mode (default 100)\n"
	        "  --lease-ms N           job lease length; a lease not heartbeated for this long\n"
	        "                         expires (default 60000)\n"
	        "  --threads N            request-serving threads (default 8)\n"
	        "  --token T              require this token on every request (or WN_TOKEN)\n"
	        "  --log-level LEVEL      error, warn, info (default) or debug\n"
	        "  -v, --verbose          same as --log-level debug\n"
	        "  -h, --help             show this help\n"
	        "  --version              show the version\n");
}

static int parse_int(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	if (wn_parse_i64(s, lo, hi, out) != WN_OK) {
		fprintf(stderr, "wnd: %s: expected a whole number from %lld to %lld, got \"%s\"\n",
		        opt, (long long)lo, (long long)hi, s);
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct wnd_opts *o)
{
	enum { O_CONFIG = 256, O_DATA, O_LISTEN, O_DUR, O_RELAXED, O_LEASE, O_THREADS, O_TOKEN,
	       O_LOG, O_VERSION };
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, O_CONFIG},
	    {"data", required_argument, NULL, O_DATA},
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"durability", required_argument, NULL, O_DUR},
	    {"relaxed-ms", required_argument, NULL, O_RELAXED},
	    {"lease-ms", required_argument, NULL, O_LEASE},
	    {"threads", required_argument, NULL, O_THREADS},
	    {"token", required_argument, NULL, O_TOKEN},
	    {"log-level", required_argument, NULL, O_LOG},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, O_VERSION},
	    {NULL, 0, NULL, 0},
	};
	int c;
	int64_t v;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_CONFIG:
			o->config = optarg;
			break;
		case O_DATA:
			o->data = optarg;
			break;
		case O_LISTEN:
			if (o->nlisten == WND_MAX_LISTEN) {
				fprintf(stderr, "wnd: at most %d --listen addresses\n", WND_MAX_LISTEN);
				return 2;
			}
			o->listen[o->nlisten++] = optarg;
			break;
		case O_DUR:
			if (strcmp(optarg, "sync") == 0) {
				o->durability = WN_DURABILITY_SYNC;
			} else if (strcmp(optarg, "relaxed") == 0) {
				o->durability = WN_DURABILITY_RELAXED;
			} else {
				fprintf(stderr, "wnd: --durability: expected sync or relaxed, got \"%s\"\n",
				        optarg);
				return 2;
			}
			break;
		case O_RELAXED:
			if (parse_int("--relaxed-ms", optarg, 1, 60000, &v))
				return 2;
			o->relaxed_ms = (int)v;
			break;
		case O_LEASE:
			if (parse_int("--lease-ms", optarg, 100, 7LL * 24 * 3600 * 1000, &v))
				return 2;
			o->lease_ms = v;
			break;
		case O_THREADS:
			if (parse_int("--threads", optarg, 1, 256, &v))
				return 2;
			o->threads = (int)v;
			break;
		case O_TOKEN:
			o->token = optarg;
			break;
		case O_LOG:
			o->log_level = wn_log_parse_level(optarg);
			if (o->log_level < 0) {
				fprintf(stderr, "wnd: --log-level: expected error, warn, info or debug, "
				                "got \"%s\"\n",
				        optarg);
				return 2;
			}
			break;
		case 'v':
			o->log_level = WN_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case O_VERSION:
			printf("wnd %s (protocol %d, store layout %d)\n", WN_VERSION, WN_PROTOCOL_VERSION,
			       WN_STORE_VERSION);
			return 1;
		default:
			fprintf(stderr, "wnd: try 'wnd --help'\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wnd: unexpected argument \"%s\"; try 'wnd --help'\n", argv[optind]);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct wnd_opts o = {0};
	o.durability = -1;
	o.log_level = -1;
	int rv = parse_args(argc, argv, &o);
	if (rv != 0)
		return rv == 1 ? 0 : 2;
	wn_log_set_prefix("wnd");
	if (o.config != NULL) {
		fprintf(stderr, "wnd: --config is not supported by this build\n");
		return 2;
	}
	if (o.data == NULL)
		o.data = "wn-data";
	if (o.nlisten == 0)
		o.listen[o.nlisten++] = WN_DEFAULT_URL;
	if (o.durability < 0)
		o.durability = WN_DURABILITY_SYNC;
	if (o.relaxed_ms == 0)
		o.relaxed_ms = 100;
	if (o.lease_ms == 0)
		o.lease_ms = 60000;
	if (o.threads == 0)
		o.threads = 8;
	if (o.token == NULL)
		o.token = getenv("WN_TOKEN");
	if (o.log_level >= 0)
		wn_log_set_level(o.log_level);

	/* signals are taken by sigwait in this thread only */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	char *err = NULL;
	wn_net *net = NULL;
	wn_engine *e = NULL;
	wn_engine_config cfg = {
	    .data_dir = o.data,
	    .durability = o.durability,
	    .relaxed_ms = o.relaxed_ms,
	    .lease_ms = o.lease_ms,
	    .token = o.token,
	    .max_msg = WN_MSG_MAX,
	    .deliver = wn_net_deliver,
	};
	rv = wn_engine_open(&cfg, &e, &err);
	if (rv != WN_OK) {
		fprintf(stderr, "wnd: %s\n", err);
		free(err);
		return 1;
	}
	rv = wn_net_open(o.listen, o.nlisten, WN_MSG_MAX, &net, &err);
	if (rv != WN_OK) {
		fprintf(stderr, "wnd: %s\n", err);
		free(err);
		wn_engine_close(e);
		return 1;
	}
	rv = wn_net_serve(net, e, o.threads);
	if (rv != WN_OK) {
		wn_net_close(net);
		wn_engine_close(e);
		return 1;
	}
	for (size_t i = 0; i < o.nlisten; i++)
		wn_info("listening on %s", o.listen[i]);
	wn_info("serving data in %s, durability %s, lease %lld ms, %d threads", o.data,
	        o.durability == WN_DURABILITY_SYNC ? "sync" : "relaxed", (long long)o.lease_ms,
	        o.threads);

	int sig = 0;
	sigwait(&sigs, &sig);
	wn_info("%s: finishing requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	wn_engine_release_parked(e);
	wn_net_stop(net);
	wn_engine_close(e);
	wn_net_close(net);
	wn_info("stopped cleanly");
	return 0;
}
