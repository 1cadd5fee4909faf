/* Unit tests of what a worker offers (capacity): worker.yaml's resources,
 * detection from the machine, and the GPU devices given to each job. */
#include "capacity.h"
#include "err.h"
#include "strbuf.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHECK_HAS(hay, needle)                                                                     \
	do {                                                                                       \
		const char *hay_ = (hay);                                                          \
		if (hay_ == NULL || strstr(hay_, (needle)) == NULL)                                \
			wn_test_fail(__FILE__, __LINE__, "'%s' does not contain '%s'",             \
			             wn_test_str(hay_), (needle));                                 \
	} while (0)

/* load parses text and reads its `resources` into r; returns the error
 * message (malloc'd) or NULL. */
static char *load(const char *text, wn_wresources *r)
{
	wn_conf_doc *doc = NULL;
	char *err = NULL;
	CHECK_OK(wn_conf_load_string("worker.yaml", text, strlen(text), &doc, &err));
	int rc = wn_capacity_conf_load(doc, wn_conf_get(wn_conf_root(doc), "resources"), r, &err);
	wn_conf_free(doc);
	if (rc == WN_OK) {
		CHECK(err == NULL);
		return NULL;
	}
	CHECK(err != NULL);
	return err;
}

/* load_error returns the message loading text fails with (malloc'd). */
static char *load_error(const char *text)
{
	wn_wresources r;
	char *err = load(text, &r);
	wn_capacity_conf_release(&r);
	if (err == NULL)
		wn_test_fail(__FILE__, __LINE__, "'%s' loaded without an error", text);
	return err;
}

/* write_file creates path with text and the given mode. */
static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
	CHECK(chmod(path, mode) == 0);
}

TEST(resources_given_are_kept)
{
	wn_wresources r;
	CHECK(load("resources: {cpu: 16, gpus: [\"0\", \"3\"], memory: 16G,\n"
	           "            labels: {site: cluster-a, gpu_model: a100}}\n",
	           &r) == NULL);
	CHECK_EQ_INT(r.cpu, 16);
	CHECK_EQ_INT(r.gpus, 2);
	CHECK_EQ_STR(r.gpu_ids.v[0], "0");
	CHECK_EQ_STR(r.gpu_ids.v[1], "3");
	CHECK_EQ_INT(r.memory_mb, 16384);
	CHECK_EQ_STR(wn_conf_strmap_get(&r.labels, "site"), "cluster-a");
	CHECK_EQ_STR(wn_conf_strmap_get(&r.labels, "gpu_model"), "a100");
	wn_capacity_conf_release(&r);
}

TEST(what_is_left_out_is_detected)
{
	wn_wresources r;
	CHECK(load("resources: {labels: {zone: eu}}\n", &r) == NULL);
	CHECK_EQ_INT(r.cpu, WN_CAPACITY_DETECT);
	CHECK_EQ_INT(r.gpus, WN_CAPACITY_DETECT);
	CHECK_EQ_INT(r.memory_mb, WN_CAPACITY_DETECT);
	wn_capacity_conf_release(&r);
	CHECK(load("slots: 2\n", &r) == NULL);
	CHECK_EQ_INT(r.cpu, WN_CAPACITY_DETECT);
	CHECK_EQ_INT(r.gpus, WN_CAPACITY_DETECT);
	CHECK_EQ_INT(r.labels.n, 0);
	wn_capacity_conf_release(&r);
	CHECK(load("resources: {cpu: auto, gpus: auto, memory: AUTO}\n", &r) == NULL);
	CHECK_EQ_INT(r.cpu, WN_CAPACITY_DETECT);
	CHECK_EQ_INT(r.gpus, WN_CAPACITY_DETECT);
	CHECK_EQ_INT(r.memory_mb, WN_CAPACITY_DETECT);
	wn_capacity_conf_release(&r);
}

TEST(gpus_as_a_count_or_an_empty_list)
{
	wn_wresources r;
	CHECK(load("resources: {gpus: 3}\n", &r) == NULL);
	CHECK_EQ_INT(r.gpus, 3);
	CHECK_EQ_STR(r.gpu_ids.v[2], "2");
	wn_capacity_conf_release(&r);
	CHECK(load("resources: {gpus: []}\n", &r) == NULL);
	CHECK_EQ_INT(r.gpus, 0);
	wn_capacity_conf_release(&r);
	CHECK(load("resources: {gpus: 0, cpu: 0, memory: 0}\n", &r) == NULL);
	CHECK_EQ_INT(r.gpus, 0);
	CHECK_EQ_INT(r.cpu, 0);
	CHECK_EQ_INT(r.memory_mb, 0);
	wn_capacity_conf_release(&r);
	CHECK(load("resources: {gpus: [GPU-8f6c1a2e, MIG-1/0/1]}\n", &r) == NULL);
	CHECK_EQ_STR(r.gpu_ids.v[1], "MIG-1/0/1");
	wn_capacity_conf_release(&r);
}

TEST(memory_sizes)
{
	static const struct {
		const char *text;
		uint64_t mb;
	} ok[] = {
	    {"512", 512},    {"512M", 512},    {"1.5G", 1536},  {"16g", 16384},
	    {"16GB", 16384}, {"16GiB", 16384}, {"2T", 2097152}, {"0", 0},
	};
	wn_wresources r;
	char text[128];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "resources: {memory: '%s'}\n", ok[i].text);
		CHECK(load(text, &r) == NULL);
		CHECK_EQ_INT(r.memory_mb, ok[i].mb);
		wn_capacity_conf_release(&r);
	}
	/* the same sizes as wnctl reads (wn_size_parse): no exponents, no hex */
	static const char *const bad[] = {"lots", "-1",  "16X",  "G",   "1e400",
	                                  "16 G", "1e3", "0x10", "+512"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "resources: {memory: '%s'}\n", bad[i]);
		char *err = load_error(text);
		CHECK_HAS(err, "invalid 'memory'");
		free(err);
	}
	CHECK(load("resources: {memory_mb: 64000}\n", &r) == NULL);
	CHECK_EQ_INT(r.memory_mb, 64000);
	wn_capacity_conf_release(&r);
}

TEST(mistakes_are_reported_with_their_position)
{
	wn_wresources r;
	char *err = load_error("resources:\n  gpus: [\"0\", \"0\"]\n");
	CHECK_HAS(err, "worker.yaml:2:");
	CHECK_HAS(err, "device '0' is listed twice in 'gpus'");
	free(err);
	err = load_error("resources: {gpus: [\"0,1\"]}\n");
	CHECK_HAS(err, "invalid device id '0,1'");
	free(err);
	/* "01" and "1" would be two devices here and one to CUDA */
	err = load_error("resources: {gpus: [\"1\", \"01\"]}\n");
	CHECK_HAS(err, "invalid device id '01' in 'gpus': a device number has no leading zero");
	free(err);
	CHECK(load("resources: {gpus: [\"0\", \"10\", \"GPU-0a1b\"]}\n", &r) == NULL);
	CHECK_EQ_INT(r.gpus, 3);
	wn_capacity_conf_release(&r);
	err = load_error("resources: {gpus: lots}\n");
	CHECK_HAS(err, "expected a list of device ids, a count (0 to 1024) or auto for 'gpus'");
	free(err);
	err = load_error("resources: {gpus: {a: 1}}\n");
	CHECK_HAS(err, "got a mapping");
	free(err);
	err = load_error("resources: {cpu: many}\n");
	CHECK_HAS(err, "'cpu' must be a whole number from 0 to 65536, or auto, not 'many'");
	free(err);
	err = load_error("resources: {memory: 16X}\n");
	CHECK_HAS(err, "invalid 'memory' '16X'");
	free(err);
	err = load_error("resources: {memory: 16G, memory_mb: 100}\n");
	CHECK_HAS(err, "give 'memory' or 'memory_mb', not both");
	free(err);
	err = load_error("resources: {labels: {\"bad name\": x}}\n");
	CHECK_HAS(err, "invalid label name 'bad name'");
	free(err);
	/* a value the server would refuse when the worker joins */
	char text[512];
	snprintf(text, sizeof(text), "resources: {labels: {site: %0129d}}\n", 0);
	err = load_error(text);
	CHECK_HAS(err, "worker.yaml:1:28: label site: the value is longer than 128 bytes");
	free(err);
	snprintf(text, sizeof(text), "resources: {labels: {site: %0128d}}\n", 0);
	CHECK(load(text, &r) == NULL);
	wn_capacity_conf_release(&r);
	err = load_error("resources: {labels: {site: \"eu\\twest\"}}\n");
	CHECK_HAS(err, "worker.yaml:1:28: label site: the value holds a control character");
	free(err);
	wn_strbuf many = WN_STRBUF_INIT;
	wn_strbuf_addf(&many, "resources:\n  labels:\n");
	for (int i = 0; i < 257; i++)
		wn_strbuf_addf(&many, "    l%d: v\n", i);
	err = load_error(wn_strbuf_str(&many));
	CHECK_HAS(err, "257 labels: a worker has at most 256");
	free(err);
	wn_strbuf_free(&many);
	err = load_error("resources: {gpu: 1}\n");
	CHECK_HAS(err, "unknown key 'gpu' (did you mean 'gpus'?)");
	free(err);
	err = load_error("resources: [cpu]\n");
	CHECK_HAS(err, "expected a mapping");
	free(err);
}

TEST(nvidia_smi_answers_are_read)
{
	wn_conf_strv ids = {0};
	CHECK_OK(wn_capacity_parse_gpus("0\n1\n", &ids));
	CHECK_EQ_INT(ids.n, 2);
	CHECK_EQ_STR(ids.v[1], "1");
	wn_conf_strv_free(&ids);
	CHECK_OK(wn_capacity_parse_gpus(" 2 \r\n\n3", &ids));
	CHECK_EQ_INT(ids.n, 2);
	CHECK_EQ_STR(ids.v[0], "2");
	CHECK_EQ_STR(ids.v[1], "3");
	wn_conf_strv_free(&ids);
	CHECK_OK(wn_capacity_parse_gpus("", &ids));
	CHECK_EQ_INT(ids.n, 0);
	CHECK_EQ_INT(wn_capacity_parse_gpus("No devices were found\n", &ids), WN_EINVAL);
	CHECK_EQ_INT(ids.n, 0);
}

TEST(gpus_are_detected_with_nvidia_smi)
{
	char prog[256], args[256], failing[256], missing[256];
	snprintf(prog, sizeof(prog), "%s/nvidia-smi", wn_test_tmpdir());
	snprintf(args, sizeof(args), "%s/args", wn_test_tmpdir());
	char *script = NULL;
	CHECK(asprintf(&script, "#!/bin/sh\necho \"$@\" > %s\nprintf '0\\n1\\n'\n", args) > 0);
	write_file(prog, script, 0755);
	free(script);
	wn_conf_strv ids = {0};
	char *why = NULL;
	CHECK_OK(wn_capacity_detect_gpus(prog, &ids, &why));
	CHECK(why == NULL);
	CHECK_EQ_INT(ids.n, 2);
	CHECK_EQ_STR(ids.v[0], "0");
	wn_conf_strv_free(&ids);
	FILE *f = fopen(args, "r");
	CHECK(f != NULL);
	char line[256] = "";
	CHECK(fgets(line, sizeof(line), f) != NULL);
	fclose(f);
	CHECK_EQ_STR(line, "--query-gpu=index --format=csv,noheader\n");

	/* the same through wn_capacity_init, when worker.yaml says nothing */
	wn_wresources conf = {.cpu = 4, .gpus = WN_CAPACITY_DETECT, .memory_mb = 1000};
	wn_capacity cap;
	wn_capacity_init(&cap, &conf, prog, &why);
	CHECK(why == NULL);
	CHECK_EQ_INT(cap.ngpus, 2);
	CHECK_EQ_INT(cap.cpu, 4);
	wn_capacity_release(&cap);

	/* no such program: no GPU, and nothing to complain about */
	snprintf(missing, sizeof(missing), "%s/no-such-dir/nvidia-smi", wn_test_tmpdir());
	CHECK_OK(wn_capacity_detect_gpus(missing, &ids, &why));
	CHECK(why == NULL);
	CHECK_EQ_INT(ids.n, 0);

	/* a failing one: no GPU, and the reason */
	snprintf(failing, sizeof(failing), "%s/broken-smi", wn_test_tmpdir());
	write_file(failing, "#!/bin/sh\necho 'No devices were found'\nexit 6\n", 0755);
	CHECK_EQ_INT(wn_capacity_detect_gpus(failing, &ids, &why), WN_EIO);
	CHECK_HAS(why, "failed with exit status 6");
	CHECK_EQ_INT(ids.n, 0);
	free(why);
	wn_capacity_init(&cap, &conf, failing, &why);
	CHECK_HAS(why, "exit status 6");
	CHECK_EQ_INT(cap.ngpus, 0);
	free(why);
	wn_capacity_release(&cap);
}

TEST(cores_and_memory_are_detected)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/meminfo", wn_test_tmpdir());
	write_file(path, "MemTotal:       16318460 kB\nMemFree:         1000 kB\n", 0644);
	CHECK_EQ_INT(wn_capacity_detect_memory_mb(path), 15935); /* kB / 1024, rounded down */
	CHECK(wn_capacity_detect_memory_mb(NULL) > 0);
	CHECK(wn_capacity_detect_cpu() >= 1);
	wn_wresources conf = {
	    .cpu = WN_CAPACITY_DETECT, .gpus = 0, .memory_mb = WN_CAPACITY_DETECT};
	wn_capacity cap;
	char *why = NULL;
	wn_capacity_init(&cap, &conf, NULL, &why);
	CHECK(why == NULL);
	CHECK_EQ_INT(cap.cpu, wn_capacity_detect_cpu());
	CHECK(cap.memory_mb > 0);
	CHECK_EQ_INT(cap.ngpus, 0);
	wn_capacity_release(&cap);
}

/* capacity_of gives cap the device ids ids (n of them) and a label. */
static void capacity_of(wn_capacity *cap, const char *const *ids, size_t n)
{
	wn_wresources conf = {.cpu = 8, .gpus = (int64_t)n, .memory_mb = 32000};
	conf.gpu_ids.v = (char **)ids;
	conf.gpu_ids.n = n;
	char *keys[] = {(char *)"site"}, *vals[] = {(char *)"lab"};
	conf.labels = (wn_conf_strmap){keys, vals, 1};
	char *why = NULL;
	wn_capacity_init(cap, &conf, NULL, &why);
	CHECK(why == NULL);
}

TEST(jobs_get_the_lowest_free_devices_and_never_share_one)
{
	static const char *const ids[] = {"0", "1", "2", "3"};
	wn_capacity cap;
	capacity_of(&cap, ids, 4);
	char *a = wn_capacity_take(&cap, 1, 1);
	CHECK_EQ_STR(a, "0");
	char *b = wn_capacity_take(&cap, 2, 2);
	CHECK_EQ_STR(b, "1,2");
	CHECK_EQ_INT(wn_capacity_free_gpus(&cap), 1);
	/* two asked, one free: nothing is taken */
	CHECK(wn_capacity_take(&cap, 3, 2) == NULL);
	CHECK_EQ_INT(wn_capacity_free_gpus(&cap), 1);
	wn_capacity_give_back(&cap, 1);
	char *c = wn_capacity_take(&cap, 3, 2);
	CHECK_EQ_STR(c, "0,3");
	/* a job that needs none gets an empty list, even when all are taken */
	char *d = wn_capacity_take(&cap, 4, 0);
	CHECK_EQ_STR(d, "");
	CHECK_EQ_INT(wn_capacity_free_gpus(&cap), 0);
	wn_capacity_give_back(&cap, 2);
	wn_capacity_give_back(&cap, 99); /* holds nothing: no change */
	CHECK_EQ_INT(wn_capacity_free_gpus(&cap), 2);
	char *e = wn_capacity_take(&cap, 5, 2);
	CHECK_EQ_STR(e, "1,2");
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
	wn_capacity_release(&cap);
}

TEST(device_ids_are_given_in_the_order_offered)
{
	static const char *const ids[] = {"GPU-b", "GPU-a"};
	wn_capacity cap;
	capacity_of(&cap, ids, 2);
	char *a = wn_capacity_take(&cap, 7, 2);
	CHECK_EQ_STR(a, "GPU-b,GPU-a");
	free(a);
	wn_capacity_release(&cap);
}

TEST(a_worker_without_gpus_runs_no_gpu_job)
{
	wn_capacity cap;
	capacity_of(&cap, NULL, 0);
	CHECK(wn_capacity_take(&cap, 1, 1) == NULL);
	char *none = wn_capacity_take(&cap, 1, 0);
	CHECK_EQ_STR(none, "");
	free(none);
	wn_capacity_release(&cap);
}

TEST(the_offer_is_described_in_one_line)
{
	static const char *const ids[] = {"0", "1"};
	wn_capacity cap;
	capacity_of(&cap, ids, 2);
	char *s = wn_capacity_describe(&cap);
	CHECK_EQ_STR(s, "8 cpu, 2 gpu (0,1), 32000 MB, labels site=lab");
	free(s);
	wn_capacity_release(&cap);
	wn_wresources conf = {.cpu = 1, .gpus = 0, .memory_mb = 512};
	char *why = NULL;
	wn_capacity_init(&cap, &conf, NULL, &why);
	s = wn_capacity_describe(&cap);
	CHECK_EQ_STR(s, "1 cpu, no gpu, 512 MB, no labels");
	free(s);
	wn_capacity_release(&cap);
}

TEST_MAIN()
