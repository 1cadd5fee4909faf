/* wnfetch: join wnd's fleet as a worker and time fetches. Used by the fleet
 * benchmark (bench/fleet.sh).
 *
 *   wnfetch URL --worker NAME --project P [--label K=V]... [--cpu N]
 *           [--gpus N] [--memory MB] [--count N] [--warmup N]
 *
 * It joins as NAME offering what the options say, then sends --count fetches
 * of one job each (wait_ms 0) to project P, each timed from send to reply,
 * after --warmup untimed ones, and leaves. It prints one line:
 *   fetches=N jobs=N p50_us=N p99_us=N mean_us=N
 * Exit: 0 done, 1 a call failed, 2 usage. */
#include "envelope.h"
#include "err.h"
#include "rpc.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FETCH_M_JOIN  "/whatsnext.v1.WorkerService/Join"
#define FETCH_M_LEAVE "/whatsnext.v1.WorkerService/Leave"
#define FETCH_M_FETCH "/whatsnext.v1.QueueService/Fetch"

static void fetch_usage(void)
{
	fprintf(stderr, "usage: wnfetch URL --worker NAME --project P [--label K=V]... [--cpu N]\n"
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
	const char *url = argv[1], *worker = NULL, *project = NULL;
	int64_t count = 1000, warmup = 100, cpu = 0, ngpus = 0, memory = 0;
	size_t nlabels = 0;
	Whatsnext__V1__Capacity__LabelsEntry *labels = wn_xcalloc((size_t)argc, sizeof(*labels));
	Whatsnext__V1__Capacity__LabelsEntry **lp = wn_xcalloc((size_t)argc, sizeof(*lp));
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			fetch_usage();
		i++;
		if (strcmp(o, "--worker") == 0) {
			worker = v;
		} else if (strcmp(o, "--project") == 0) {
			project = v;
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
	if (worker == NULL || project == NULL || count == 0)
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
	Whatsnext__V1__Worker w = WHATSNEXT__V1__WORKER__INIT;
	w.name = (char *)worker;
	w.host = (char *)"wnfetch";
	w.version = (char *)WN_VERSION;
	w.capacity = &cap;
	w.n_projects = 1;
	w.projects = (char **)&project;
	w.slots = 1;
	Whatsnext__V1__JoinRequest join = WHATSNEXT__V1__JOIN_REQUEST__INIT;
	join.worker = &w;
	ProtobufCMessage *out = NULL;
	rc = wn_rpc_call(rpc, FETCH_M_JOIN, &join.base, &whatsnext__v1__join_response__descriptor,
	                 &out, &errmsg, 0, 0);
	if (rc != WN_OK)
		fetch_fail("join", rc, errmsg);
	protobuf_c_message_free_unpacked(out, NULL);

	Whatsnext__V1__FetchRequest req = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	req.project = (char *)project;
	req.worker = (char *)worker;
	int64_t *lat = wn_xcalloc((size_t)count, sizeof(*lat));
	int64_t jobs = 0, sum = 0;
	for (int64_t i = -warmup; i < count; i++) {
		int64_t t0 = fetch_now_ns();
		rc = wn_rpc_call(rpc, FETCH_M_FETCH, &req.base,
		                 &whatsnext__v1__fetch_response__descriptor, &out, &errmsg, 0, 0);
		int64_t t1 = fetch_now_ns();
		if (rc != WN_OK)
			fetch_fail("fetch", rc, errmsg);
		const Whatsnext__V1__FetchResponse *r = (const Whatsnext__V1__FetchResponse *)out;
		if (i >= 0) {
			lat[i] = t1 - t0;
			sum += t1 - t0;
			jobs += r->job != NULL;
		}
		protobuf_c_message_free_unpacked(out, NULL);
	}
	qsort(lat, (size_t)count, sizeof(*lat), fetch_cmp);
	printf("fetches=%lld jobs=%lld p50_us=%lld p99_us=%lld mean_us=%lld\n", (long long)count,
	       (long long)jobs, (long long)(lat[count / 2] / 1000),
	       (long long)(lat[(count * 99) / 100 < count ? (count * 99) / 100 : count - 1] / 1000),
	       (long long)(sum / count / 1000));

	Whatsnext__V1__WorkerNameRequest leave = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
	leave.name = (char *)worker;
	rc = wn_rpc_call(rpc, FETCH_M_LEAVE, &leave.base, &whatsnext__v1__worker__descriptor, &out,
	                 &errmsg, 0, 0);
	if (rc != WN_OK)
		fetch_fail("leave", rc, errmsg);
	protobuf_c_message_free_unpacked(out, NULL);

	for (size_t i = 0; i < nlabels; i++)
		free(labels[i].key);
	for (int64_t i = 0; i < ngpus; i++)
		free(gpus[i]);
	free(gpus);
	free(labels);
	free(lp);
	free(lat);
	wn_rpc_close(rpc);
	return 0;
}
