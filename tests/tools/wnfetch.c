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

int main(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-')
		fetch_usage();
	const char *url = argv[1];
	fetch_lane lanes[FETCH_LANES];
	memset(lanes, 0, sizeof(lanes));
	size_t nworkers = 0, nprojects = 0;
	int64_t count = 1000, warmup = 100, cpu = 0, ngpus = 0, memory = 0;
	size_t nlabels = 0;
	Whatsnext__V1__Capacity__LabelsEntry *labels = wn_xcalloc((size_t)argc, sizeof(*labels));
	Whatsnext__V1__Capacity__LabelsEntry **lp = wn_xcalloc((size_t)argc, sizeof(*lp));
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			fetch_usage();
		i++;
		if (strcmp(o, "--worker") == 0 && nworkers < FETCH_LANES) {
			lanes[nworkers++].worker = v;
		} else if (strcmp(o, "--project") == 0 && nprojects < FETCH_LANES) {
			lanes[nprojects++].project = v;
		} else if (strcmp(o, "--label") == 0) {
			char *kv = wn_xstrdup(v), *eq = strchr(kv, '=');
			if (eq == NULL || eq == kv)
				fetch_usage();
			*eq = '\0';
			whatsnext__v1__capacity__labels_entry__init(&labels[nlabels]);
			labels[nlabels].key = kv;
			labels[nlabels].value = eq + 1;
			lp[nlabels] = &labels[nlabels];
			nlabels++;
		} else if (strcmp(o, "--cpu") == 0) {
			cpu = fetch_number(o, v);
		} else if (strcmp(o, "--gpus") == 0) {
			ngpus = fetch_number(o, v);
		} else if (strcmp(o, "--memory") == 0) {
			memory = fetch_number(o, v);
		} else if (strcmp(o, "--count") == 0) {
			count = fetch_number(o, v);
		} else if (strcmp(o, "--warmup") == 0) {
			warmup = fetch_number(o, v);
		} else {
			fetch_usage();
		}
	}
	if (nworkers == 0 || nworkers != nprojects || count == 0)
		fetch_usage();

	wn_rpc *rpc = NULL;
	char *errmsg = NULL;
	int rc = wn_rpc_open(url, getenv("WN_TOKEN"), WN_RPC_BACKGROUND, &rpc, &errmsg);
	if (rc != WN_OK)
		fetch_fail(url, rc, errmsg);

	char **gpus = wn_xcalloc((size_t)ngpus + 1, sizeof(char *));
	for (int64_t i = 0; i < ngpus; i++)
		gpus[i] = wn_xasprintf("%lld", (long long)i);
	Whatsnext__V1__Capacity cap = WHATSNEXT__V1__CAPACITY__INIT;
	cap.cpu = (uint32_t)cpu;
	cap.n_gpus = (size_t)ngpus;
	cap.gpus = gpus;
	cap.memory_mb = (uint64_t)memory;
	cap.n_labels = nlabels;
	cap.labels = lp;
	ProtobufCMessage *out = NULL;
	for (size_t l = 0; l < nworkers; l++) {
		Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
		w.name = (char *)lanes[l].worker;
		w.host = (char *)"wnfetch";
		w.version = (char *)WN_VERSION;
		w.capacity = &cap;
		w.n_projects = 1;
		w.projects = (char **)&lanes[l].project;
		w.slots = 1;
		Whatsnext__V1__JoinRequest join = WHATSNEXT__V1__JOIN_REQUEST__INIT;
		join.worker = &w;
		rc = wn_rpc_call(rpc, WN_PATH_WORKER_JOIN, &join.base,
		                 &whatsnext__v1__join_response__descriptor, &out, &errmsg, 0, 0);
		if (rc != WN_OK)
			fetch_fail("join", rc, errmsg);
		protobuf_c_message_free_unpacked(out, NULL);
		lanes[l].lat = wn_xcalloc((size_t)count, sizeof(int64_t));
	}

	for (int64_t i = -warmup; i < count; i++) {
		for (size_t l = 0; l < nworkers; l++) {
			fetch_lane *ln = &lanes[l];
			Whatsnext__V1__FetchRequest req = WHATSNEXT__V1__FETCH_REQUEST__INIT;
			req.project = (char *)ln->project;
			req.worker = (char *)ln->worker;
			int64_t t0 = fetch_now_ns();
			rc = wn_rpc_call(rpc, WN_PATH_QUEUE_FETCH, &req.base,
			                 &whatsnext__v1__fetch_response__descriptor, &out, &errmsg,
			                 0, 0);
			int64_t t1 = fetch_now_ns();
			if (rc != WN_OK)
				fetch_fail("fetch", rc, errmsg);
			const Whatsnext__V1__FetchResponse *r =
			    (const Whatsnext__V1__FetchResponse *)out;
			if (i >= 0) {
				ln->lat[i] = t1 - t0;
				ln->sum += t1 - t0;
				ln->jobs += r->job != NULL;
			}
			protobuf_c_message_free_unpacked(out, NULL);
		}
	}

	int64_t p99 = (count * 99) / 100 < count ? (count * 99) / 100 : count - 1;
	for (size_t l = 0; l < nworkers; l++) {
		fetch_lane *ln = &lanes[l];
		qsort(ln->lat, (size_t)count, sizeof(int64_t), fetch_cmp);
		printf("project=%s fetches=%lld jobs=%lld p50_us=%lld p99_us=%lld mean_us=%lld\n",
		       ln->project, (long long)count, (long long)ln->jobs,
		       (long long)(ln->lat[count / 2] / 1000), (long long)(ln->lat[p99] / 1000),
		       (long long)(ln->sum / count / 1000));
		Whatsnext__V1__WorkerNameRequest leave = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
		leave.name = (char *)ln->worker;
		rc = wn_rpc_call(rpc, WN_PATH_WORKER_LEAVE, &leave.base,
		                 &whatsnext__v1__worker__descriptor, &out, &errmsg, 0, 0);
		if (rc != WN_OK)
			fetch_fail("leave", rc, errmsg);
		protobuf_c_message_free_unpacked(out, NULL);
		free(ln->lat);
	}

	for (size_t i = 0; i < nlabels; i++)
		free(labels[i].key);
	for (int64_t i = 0; i < ngpus; i++)
		free(gpus[i]);
	free(gpus);
	free(labels);
	free(lp);
	wn_rpc_close(rpc);
	return 0;
}
