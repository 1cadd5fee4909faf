/* wnfetch: join wnd's fleet as workers and time fetches. Used by the fleet
 * benchmark (bench/fleet.sh).
 *
 *   wnfetch URL (--worker NAME --project P)... [--label K=V]... [--cpu N]
 *           [--gpus N] [--memory MB] [--count N] [--warmup N]
 *
 * Each --worker/--project pair is a lane: a worker NAME that joins offering
 * what the options say and fetches from project P. The lanes take turns, one
 * fetch of one job each (wait_ms 0), so that every lane sees the same load on
 * the machine; each fetch is timed from send to reply, --count per lane after
 * --warmup untimed ones. Then the workers leave. One line per lane:
 *   project=P fetches=N jobs=N p50_us=N p99_us=N mean_us=N
 * Exit: 0 done, 1 a call failed, 2 usage. */
#include "envelope.h"
#include "err.h"
#include "methods.h"
#include "rpc.h"
#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FETCH_LANES 8

/* One worker fetching from one project. */
typedef struct fetch_lane {
	const char *worker, *project;
	int64_t *lat; /* ns */
	int64_t jobs, sum;
} fetch_lane;

static void fetch_usage(void)
{
	fprintf(stderr,
	        "usage: wnfetch URL (--worker NAME --project P)... [--label K=V]... [--cpu N]\n"
	        "               [--gpus N] [--memory MB] [--count N] [--warmup N]\n");
	exit(2);
}

static int64_t fetch_number(const char *opt, const char *s)
{
	int64_t v = 0;
	if (s == NULL || wn_parse_i64(s, 0, INT32_MAX, &v) != WN_OK) {
		fprintf(stderr, "wnfetch: %s: expected a non-negative number\n", opt);
		exit(2);
	}
	return v;
}

static int64_t fetch_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fetch_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void fetch_fail(const char *what, int rc, char *errmsg)
{
	fprintf(stderr, "wnfetch: %s: %s\n", what, errmsg ? errmsg : wn_strerror(rc));
	free(errmsg);
	exit(1);
}

/* What the command line asks for: the lanes and the offer of each worker. */
typedef struct fetch_opts {
	const char *url;
	fetch_lane lanes[FETCH_LANES];
	size_t nworkers, nprojects, nlabels;
	int64_t count, warmup, cpu, ngpus, memory;
	Whatsnext__V1__Capacity__LabelsEntry *labels, **lp;
} fetch_opts;

/* fetch_label adds label K=V to o. */
static void fetch_label(fetch_opts *o, const char *v)
{
	char *kv = wn_xstrdup(v), *eq = strchr(kv, '=');
	if (eq == NULL || eq == kv)
		fetch_usage();
	*eq = '\0';
	Whatsnext__V1__Capacity__LabelsEntry *l = &o->labels[o->nlabels];
	whatsnext__v1__capacity__labels_entry__init(l);
	l->key = kv;
	l->value = eq + 1;
	o->lp[o->nlabels++] = l;
}

/* fetch_option takes option opt with value v into *o; false if unknown. */
static bool fetch_option(fetch_opts *o, const char *opt, const char *v)
{
	if (strcmp(opt, "--worker") == 0 && o->nworkers < FETCH_LANES)
		o->lanes[o->nworkers++].worker = v;
	else if (strcmp(opt, "--project") == 0 && o->nprojects < FETCH_LANES)
		o->lanes[o->nprojects++].project = v;
	else if (strcmp(opt, "--label") == 0)
		fetch_label(o, v);
	else if (strcmp(opt, "--cpu") == 0)
		o->cpu = fetch_number(opt, v);
	else if (strcmp(opt, "--gpus") == 0)
		o->ngpus = fetch_number(opt, v);
	else if (strcmp(opt, "--memory") == 0)
		o->memory = fetch_number(opt, v);
	else if (strcmp(opt, "--count") == 0)
		o->count = fetch_number(opt, v);
	else if (strcmp(opt, "--warmup") == 0)
		o->warmup = fetch_number(opt, v);
	else
		return false;
	return true;
}

static void fetch_parse(int argc, char **argv, fetch_opts *o)
{
	if (argc < 2 || argv[1][0] == '-')
		fetch_usage();
	memset(o, 0, sizeof(*o));
	o->url = argv[1];
	o->count = 1000;
	o->warmup = 100;
	o->labels = wn_xcalloc((size_t)argc, sizeof(*o->labels));
	o->lp = wn_xcalloc((size_t)argc, sizeof(*o->lp));
	for (int i = 2; i < argc; i += 2)
		if (i + 1 >= argc || !fetch_option(o, argv[i], argv[i + 1]))
			fetch_usage();
	if (o->nworkers == 0 || o->nworkers != o->nprojects || o->count == 0)
		fetch_usage();
}

/* fetch_join has each lane's worker join, offering what o says. */
static void fetch_join(wn_rpc *rpc, fetch_opts *o)
{
	char **gpus = wn_xcalloc((size_t)o->ngpus + 1, sizeof(char *));
	for (int64_t i = 0; i < o->ngpus; i++)
		gpus[i] = wn_xasprintf("%lld", (long long)i);
	Whatsnext__V1__Capacity cap = WHATSNEXT__V1__CAPACITY__INIT;
	cap.cpu = (uint32_t)o->cpu;
	cap.n_gpus = (size_t)o->ngpus;
	cap.gpus = gpus;
	cap.memory_mb = (uint64_t)o->memory;
	cap.n_labels = o->nlabels;
	cap.labels = o->lp;
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	for (size_t l = 0; l < o->nworkers; l++) {
		Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
		w.name = (char *)o->lanes[l].worker;
		w.host = (char *)"wnfetch";
		w.version = (char *)WN_VERSION;
		w.capacity = &cap;
		w.n_projects = 1;
		w.projects = (char **)&o->lanes[l].project;
		w.slots = 1;
		Whatsnext__V1__JoinRequest join = WHATSNEXT__V1__JOIN_REQUEST__INIT;
		join.worker = &w;
		int rc = wn_rpc_invoke(rpc, WN_MID_WORKER_JOIN, &join.base, &out, &errmsg, 0, 0);
		if (rc != WN_OK)
			fetch_fail("join", rc, errmsg);
		protobuf_c_message_free_unpacked(out, NULL);
		o->lanes[l].lat = wn_xcalloc((size_t)o->count, sizeof(int64_t));
	}
	for (int64_t i = 0; i < o->ngpus; i++)
		free(gpus[i]);
	free(gpus);
}

/* fetch_lane_once makes one timed fetch of lane ln; round i < 0 is warmup. */
static void fetch_lane_once(wn_rpc *rpc, fetch_lane *ln, int64_t i)
{
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	Whatsnext__V1__FetchRequest req = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	req.project = (char *)ln->project;
	req.worker = (char *)ln->worker;
	int64_t t0 = fetch_now_ns();
	int rc = wn_rpc_invoke(rpc, WN_MID_QUEUE_FETCH, &req.base, &out, &errmsg, 0, 0);
	int64_t t1 = fetch_now_ns();
	if (rc != WN_OK)
		fetch_fail("fetch", rc, errmsg);
	const Whatsnext__V1__FetchResponse *r = (const Whatsnext__V1__FetchResponse *)out;
	if (i >= 0) {
		ln->lat[i] = t1 - t0;
		ln->sum += t1 - t0;
		ln->jobs += r->job != NULL;
	}
	protobuf_c_message_free_unpacked(out, NULL);
}

/* fetch_report prints lane ln's line, then its worker leaves. */
static void fetch_report(wn_rpc *rpc, fetch_lane *ln, int64_t count)
{
	int64_t p99 = (count * 99) / 100 < count ? (count * 99) / 100 : count - 1;
	qsort(ln->lat, (size_t)count, sizeof(int64_t), fetch_cmp);
	printf("project=%s fetches=%lld jobs=%lld p50_us=%lld p99_us=%lld mean_us=%lld\n",
	       ln->project, (long long)count, (long long)ln->jobs,
	       (long long)(ln->lat[count / 2] / 1000), (long long)(ln->lat[p99] / 1000),
	       (long long)(ln->sum / count / 1000));
	Whatsnext__V1__WorkerNameRequest leave = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	leave.name = (char *)ln->worker;
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	int rc = wn_rpc_invoke(rpc, WN_MID_WORKER_LEAVE, &leave.base, &out, &errmsg, 0, 0);
	if (rc != WN_OK)
		fetch_fail("leave", rc, errmsg);
	protobuf_c_message_free_unpacked(out, NULL);
	free(ln->lat);
}

int main(int argc, char **argv)
{
	fetch_opts o;
	fetch_parse(argc, argv, &o);
	wn_rpc *rpc = NULL;
	char *errmsg = NULL;
	int rc = wn_rpc_open(o.url, getenv("WN_TOKEN"), WN_RPC_BACKGROUND, &rpc, &errmsg);
	if (rc != WN_OK)
		fetch_fail(o.url, rc, errmsg);
	fetch_join(rpc, &o);
	for (int64_t i = -o.warmup; i < o.count; i++)
		for (size_t l = 0; l < o.nworkers; l++)
			fetch_lane_once(rpc, &o.lanes[l], i);
	for (size_t l = 0; l < o.nworkers; l++)
		fetch_report(rpc, &o.lanes[l], o.count);
	for (size_t i = 0; i < o.nlabels; i++)
		free(o.labels[i].key);
	free(o.labels);
	free(o.lp);
	wn_rpc_close(rpc);
	return 0;
}
