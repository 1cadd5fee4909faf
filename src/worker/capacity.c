#include "capacity.h"

#include "envelope.h"
#include "err.h"
#include "kit.h"
#include "proc_stray.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CAPACITY_CPU_MAX     65536
#define CAPACITY_MEMORY_MAX  (INT64_C(1) << 40) /* MB */
#define CAPACITY_SMI_WAIT_MS 10000
#define CAPACITY_SMI_OUT_MAX 65536
#define CAPACITY_DEVICE_MAX  WN_NAME_MAX

/* ---------------------------------------------------------------- worker.yaml */

/* The mapping as written: cpu, gpus and memory may say "auto", so they are
 * read by hand. */
typedef struct capacity_raw {
	const wn_conf_node *cpu, *gpus, *memory, *memory_mb;
	wn_conf_strmap labels;
} capacity_raw;

#define RAW(field) offsetof(capacity_raw, field)

static const wn_conf_key capacity_keys[] = {
    {"cpu", WN_CONF_T_NODE, RAW(cpu), NULL, 0, 0, 0, NULL,
     "cores offered (a count, or auto: the CPUs the worker may use)"},
    {"gpus", WN_CONF_T_NODE, RAW(gpus), NULL, 0, 0, 0, NULL,
     "GPU device ids (a list), a count N for ids 0..N-1, or auto: nvidia-smi's, none "
     "without it"},
    {"memory", WN_CONF_T_NODE, RAW(memory), NULL, 0, 0, 0, NULL,
     "memory offered: MB, or with a suffix M, G or T (16G); auto: the machine's"},
    {"memory_mb", WN_CONF_T_NODE, RAW(memory_mb), NULL, 0, 0, 0, NULL,
     "memory offered in MB (instead of memory)"},
    {"labels", WN_CONF_T_STRMAP, RAW(labels), NULL, 0, 0, 0, NULL,
     "labels a task may require, name: value (site: cluster-a)"},
};

/* capacity_scalar checks that node is a plain value for key. */
static int capacity_scalar(const wn_conf_doc *doc, const wn_conf_node *node, const char *key,
                           const char *expected, char **errmsg)
{
	if (node->kind == WN_CONF_SCALAR && strlen(node->str) == node->len)
		return WN_OK;
	*errmsg = wn_conf_error(doc, node, "expected %s for '%s', got %s", expected, key,
	                        node->kind == WN_CONF_SCALAR ? "a string holding a NUL byte"
	                                                     : wn_conf_kind_name(node->kind));
	return WN_EINVAL;
}

static bool capacity_auto(const wn_conf_node *node)
{
	return node == NULL || wn_conf_is_null(node) ||
	       (node->kind == WN_CONF_SCALAR && strcasecmp(node->str, "auto") == 0);
}

/* capacity_count reads a whole number in [0, max], or auto, for key. */
static int capacity_count(const wn_conf_doc *doc, const wn_conf_node *node, const char *key,
                          int64_t max, int64_t *out, char **errmsg)
{
	if (capacity_auto(node)) {
		*out = WN_CAPACITY_DETECT;
		return WN_OK;
	}
	if (capacity_scalar(doc, node, key, "a number or auto", errmsg) != WN_OK)
		return WN_EINVAL;
	if (wn_parse_i64(node->str, 0, max, out) != WN_OK) {
		*errmsg = wn_conf_error(
		    doc, node, "'%s' must be a whole number from 0 to %lld, or auto, not '%s'", key,
		    (long long)max, node->str);
		return WN_EINVAL;
	}
	return WN_OK;
}

/* capacity_device_check returns why id cannot be a device id, or NULL. */
static const char *capacity_device_check(const char *id)
{
	if (id[0] == '\0')
		return "it is empty";
	if (strlen(id) > CAPACITY_DEVICE_MAX)
		return "it is longer than 128 bytes";
	for (const char *p = id; *p; p++)
		if (*p == ',' || isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return "it holds a comma, a blank or a control character";
	/* CUDA reads "01" as device 1: two spellings would be two devices here */
	if (id[0] == '0' && id[1] != '\0' && strspn(id, "0123456789") == strlen(id))
		return "a device number has no leading zero (CUDA reads 01 as 1)";
	return NULL;
}

static int capacity_gpus(const wn_conf_doc *doc, const wn_conf_node *node, wn_wresources *r,
                         char **errmsg)
{
	if (capacity_auto(node)) {
		r->gpus = WN_CAPACITY_DETECT;
		return WN_OK;
	}
	if (node->kind == WN_CONF_SCALAR) {
		int64_t n = 0;
		if (wn_parse_i64(node->str, 0, WN_JOIN_GPUS_MAX, &n) != WN_OK) {
			*errmsg =
			    wn_conf_error(doc, node,
			                  "expected a list of device ids, a count (0 to %d) or "
			                  "auto for 'gpus', not '%s'",
			                  WN_JOIN_GPUS_MAX, node->str);
			return WN_EINVAL;
		}
		r->gpu_ids.v = wn_xcalloc((size_t)n + 1, sizeof(char *));
		for (int64_t i = 0; i < n; i++)
			r->gpu_ids.v[r->gpu_ids.n++] = wn_xasprintf("%lld", (long long)i);
		r->gpus = n;
		return WN_OK;
	}
	if (node->kind != WN_CONF_SEQ) {
		*errmsg =
		    wn_conf_error(doc, node,
		                  "expected a list of device ids, a count or auto for 'gpus', "
		                  "got a mapping");
		return WN_EINVAL;
	}
	if (node->n > WN_JOIN_GPUS_MAX) {
		*errmsg =
		    wn_conf_error(doc, node, "at most %d devices in 'gpus'", WN_JOIN_GPUS_MAX);
		return WN_EINVAL;
	}
	r->gpu_ids.v = wn_xcalloc(node->n + 1, sizeof(char *));
	for (size_t i = 0; i < node->n; i++) {
		const wn_conf_node *it = node->items[i];
		if (wn_conf_is_null(it) ||
		    capacity_scalar(doc, it, "gpus", "a device id", errmsg) != WN_OK) {
			if (*errmsg == NULL)
				*errmsg = wn_conf_error(doc, it,
				                        "expected a device id in 'gpus', got "
				                        "null");
			return WN_EINVAL;
		}
		const char *why = capacity_device_check(it->str);
		if (why != NULL) {
			*errmsg = wn_conf_error(doc, it, "invalid device id '%s' in 'gpus': %s",
			                        it->str, why);
			return WN_EINVAL;
		}
		for (size_t k = 0; k < r->gpu_ids.n; k++)
			if (strcmp(r->gpu_ids.v[k], it->str) == 0) {
				*errmsg = wn_conf_error(
				    doc, it, "device '%s' is listed twice in 'gpus'", it->str);
				return WN_EINVAL;
			}
		r->gpu_ids.v[r->gpu_ids.n++] = wn_xstrdup(it->str);
	}
	r->gpus = (int64_t)r->gpu_ids.n;
	return WN_OK;
}

static int capacity_memory(const wn_conf_doc *doc, const capacity_raw *raw, wn_wresources *r,
                           char **errmsg)
{
	if (raw->memory != NULL && raw->memory_mb != NULL) {
		*errmsg =
		    wn_conf_error(doc, raw->memory_mb, "give 'memory' or 'memory_mb', not both");
		return WN_EINVAL;
	}
	if (raw->memory_mb != NULL)
		return capacity_count(doc, raw->memory_mb, "memory_mb", CAPACITY_MEMORY_MAX,
		                      &r->memory_mb, errmsg);
	if (capacity_auto(raw->memory)) {
		r->memory_mb = WN_CAPACITY_DETECT;
		return WN_OK;
	}
	if (capacity_scalar(doc, raw->memory, "memory", "a size or auto", errmsg) != WN_OK)
		return WN_EINVAL;
	uint64_t mb = 0;
	if (wn_size_parse(raw->memory->str, &mb) != WN_OK || mb > (uint64_t)CAPACITY_MEMORY_MAX) {
		*errmsg = wn_conf_error(doc, raw->memory,
		                        "invalid 'memory' '%s': must be a size in MB, or with a "
		                        "suffix M, G or T (16G), or auto",
		                        raw->memory->str);
		return WN_EINVAL;
	}
	r->memory_mb = (int64_t)mb;
	return WN_OK;
}

int wn_capacity_conf_load(const wn_conf_doc *doc, const wn_conf_node *node, wn_wresources *out,
                          char **errmsg)
{
	*errmsg = NULL;
	memset(out, 0, sizeof(*out));
	out->cpu = out->gpus = out->memory_mb = WN_CAPACITY_DETECT;
	capacity_raw raw;
	memset(&raw, 0, sizeof(raw));
	int rc = wn_conf_apply(doc, node, capacity_keys, WN_ARRAY_LEN(capacity_keys), &raw, errmsg);
	if (rc != WN_OK)
		goto done;
	rc = capacity_count(doc, raw.cpu, "cpu", CAPACITY_CPU_MAX, &out->cpu, errmsg);
	if (rc == WN_OK)
		rc = capacity_gpus(doc, raw.gpus, out, errmsg);
	if (rc == WN_OK)
		rc = capacity_memory(doc, &raw, out, errmsg);
	if (rc != WN_OK)
		goto done;
	const wn_conf_node *ln = wn_conf_get(node, "labels");
	for (size_t i = 0; i < raw.labels.n; i++) {
		const char *why = wn_name_check(raw.labels.keys[i]);
		if (why != NULL) {
			*errmsg =
			    wn_conf_error(doc, ln->items[2 * i], "invalid label name '%s': %s",
			                  raw.labels.keys[i], why);
			rc = WN_EINVAL;
			goto done;
		}
		why = wn_label_value_check(raw.labels.vals[i]); /* the server refuses the Join */
		if (why != NULL) {
			*errmsg = wn_conf_error(doc, ln->items[2 * i + 1], "label %s: the value %s",
			                        raw.labels.keys[i], why);
			rc = WN_EINVAL;
			goto done;
		}
	}
	if (raw.labels.n > WN_JOIN_LABELS_MAX) {
		*errmsg = wn_conf_error(doc, ln, "%zu labels: a worker has at most %d",
		                        raw.labels.n, WN_JOIN_LABELS_MAX);
		rc = WN_EINVAL;
		goto done;
	}
	out->labels = raw.labels;
	raw.labels = (wn_conf_strmap){0};
done:
	wn_conf_release(capacity_keys, WN_ARRAY_LEN(capacity_keys), &raw);
	return rc;
}

void wn_capacity_conf_release(wn_wresources *r)
{
	wn_conf_strv_free(&r->gpu_ids);
	wn_conf_strmap_free(&r->labels);
}

/* ---------------------------------------------------------------- detection */

int wn_capacity_parse_gpus(const char *text, wn_conf_strv *out)
{
	wn_conf_strv ids = {0};
	const char *p = text;
	int rc = WN_OK;
	while (*p != '\0') {
		size_t len = strcspn(p, "\n");
		const char *b = p, *e = p + len;
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (e > b) {
			bool digits = e - b <= 9;
			for (const char *q = b; q < e && digits; q++)
				digits = *q >= '0' && *q <= '9';
			if (!digits) {
				rc = WN_EINVAL;
				break;
			}
			ids.v = wn_xrealloc(ids.v, (ids.n + 1) * sizeof(char *));
			ids.v[ids.n++] = wn_xasprintf("%.*s", (int)(e - b), b);
		}
		p += len + (p[len] == '\n');
	}
	if (rc != WN_OK) {
		wn_conf_strv_free(&ids);
		return rc;
	}
	*out = ids;
	return WN_OK;
}

uint32_t wn_capacity_detect_cpu(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (uint32_t)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (uint32_t)n : 1;
}

uint64_t wn_capacity_detect_memory_mb(const char *path)
{
	FILE *f = fopen(path ? path : "/proc/meminfo", "re");
	if (f != NULL) {
		char line[256];
		unsigned long long kb = 0;
		bool found = false;
		while (!found && fgets(line, sizeof(line), f) != NULL)
			found = sscanf(line, "MemTotal: %llu kB", &kb) == 1;
		fclose(f);
		if (found)
			return kb / 1024;
	}
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size / (1024 * 1024) : 0;
}

/* capacity_read_all reads fd until EOF or deadline (monotonic ms) into a
 * malloc'd string; NULL when the deadline passed. */
static char *capacity_read_all(int fd, int64_t deadline)
{
	size_t len = 0;
	char *buf = wn_xmalloc(CAPACITY_SMI_OUT_MAX + 1);
	for (;;) {
		int64_t left = deadline - wn_mono_ms();
		if (left <= 0) {
			free(buf);
			return NULL;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		char tmp[4096];
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n;
		if (take > CAPACITY_SMI_OUT_MAX - len)
			take = CAPACITY_SMI_OUT_MAX - len;
		memcpy(buf + len, tmp, take);
		len += take;
	}
	buf[len] = '\0';
	return buf;
}

int wn_capacity_detect_gpus(const char *program, wn_conf_strv *out, char **why)
{
	*why = NULL;
	const char *prog = program ? program : "nvidia-smi";
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		*why = wn_xasprintf("cannot run %s: %s", prog, strerror(errno));
		return WN_EIO;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t none, dfl;
	sigemptyset(&none);
	sigfillset(&dfl);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char *argv[] = {(char *)prog, (char *)"--query-gpu=index", (char *)"--format=csv,noheader",
	                NULL};
	pid_t pid;
	wn_proc_stray_starting(); /* ours to reap, not an orphan's */
	int err = posix_spawnp(&pid, prog, &fa, &at, argv, environ);
	wn_proc_stray_started(err == 0 ? pid : 0);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pfd[1]);
	if (err != 0) {
		close(pfd[0]);
		if (err == ENOENT)
			return WN_OK; /* no such program: no GPU */
		*why = wn_xasprintf("cannot run %s: %s", prog, strerror(err));
		return WN_EIO;
	}
	char *text = capacity_read_all(pfd[0], wn_mono_ms() + CAPACITY_SMI_WAIT_MS);
	close(pfd[0]);
	if (text == NULL)
		kill(pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	wn_proc_stray_gone(pid);
	int rc = WN_OK;
	if (text == NULL) {
		*why = wn_xasprintf("%s did not answer within %d s", prog,
		                    CAPACITY_SMI_WAIT_MS / 1000);
		rc = WN_EIO;
	} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		*why = WIFEXITED(st)
		           ? wn_xasprintf("%s failed with exit status %d", prog, WEXITSTATUS(st))
		           : wn_xasprintf("%s was killed by signal %d", prog, WTERMSIG(st));
		rc = WN_EIO;
	} else if (wn_capacity_parse_gpus(text, out) != WN_OK) {
		*why = wn_xasprintf("%s printed something else than device indexes", prog);
		rc = WN_EIO;
	}
	free(text);
	return rc;
}

/* ---------------------------------------------------------------- resolved */

void wn_capacity_init(wn_capacity *c, const wn_wresources *conf, const char *nvidia_smi,
                      char **note)
{
	*note = NULL;
	memset(c, 0, sizeof(*c));
	c->cpu = conf->cpu >= 0 ? (uint32_t)conf->cpu : wn_capacity_detect_cpu();
	c->memory_mb =
	    conf->memory_mb >= 0 ? (uint64_t)conf->memory_mb : wn_capacity_detect_memory_mb(NULL);
	wn_conf_strv ids = {0};
	if (conf->gpus >= 0) {
		for (size_t i = 0; i < conf->gpu_ids.n; i++) {
			ids.v = wn_xrealloc(ids.v, (ids.n + 1) * sizeof(char *));
			ids.v[ids.n++] = wn_xstrdup(conf->gpu_ids.v[i]);
		}
	} else if (wn_capacity_detect_gpus(nvidia_smi, &ids, note) != WN_OK) {
		wn_conf_strv_free(&ids);
	}
	c->ngpus = ids.n;
	c->gpus = ids.v ? ids.v : wn_xcalloc(1, sizeof(char *));
	c->holder = wn_xcalloc(ids.n + 1, sizeof(uint64_t));
	c->nlabels = conf->labels.n;
	c->label_keys = wn_xcalloc(c->nlabels + 1, sizeof(char *));
	c->label_vals = wn_xcalloc(c->nlabels + 1, sizeof(char *));
	for (size_t i = 0; i < c->nlabels; i++) {
		c->label_keys[i] = wn_xstrdup(conf->labels.keys[i]);
		c->label_vals[i] = wn_xstrdup(conf->labels.vals[i]);
	}
}

void wn_capacity_release(wn_capacity *c)
{
	for (size_t i = 0; i < c->ngpus; i++)
		free(c->gpus[i]);
	for (size_t i = 0; i < c->nlabels; i++) {
		free(c->label_keys[i]);
		free(c->label_vals[i]);
	}
	free(c->gpus);
	free(c->holder);
	free(c->label_keys);
	free(c->label_vals);
	memset(c, 0, sizeof(*c));
}

/* capacity_append appends text to the malloc'd string *s. */
static void capacity_append(char **s, const char *text)
{
	char *more = wn_xasprintf("%s%s", *s, text);
	free(*s);
	*s = more;
}

char *wn_capacity_describe(const wn_capacity *c)
{
	char *s = wn_xasprintf("%u cpu, ", (unsigned)c->cpu);
	if (c->ngpus == 0) {
		capacity_append(&s, "no gpu");
	} else {
		char *head = wn_xasprintf("%zu gpu (", c->ngpus);
		capacity_append(&s, head);
		free(head);
		for (size_t i = 0; i < c->ngpus; i++) {
			capacity_append(&s, c->gpus[i]);
			capacity_append(&s, i + 1 < c->ngpus ? "," : ")");
		}
	}
	char *mem = wn_xasprintf(", %llu MB, ", (unsigned long long)c->memory_mb);
	capacity_append(&s, mem);
	free(mem);
	capacity_append(&s, c->nlabels ? "labels " : "no labels");
	for (size_t i = 0; i < c->nlabels; i++) {
		char *kv =
		    wn_xasprintf("%s%s=%s", i ? "," : "", c->label_keys[i], c->label_vals[i]);
		capacity_append(&s, kv);
		free(kv);
	}
	return s;
}

size_t wn_capacity_free_gpus(const wn_capacity *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->ngpus; i++)
		n += c->holder[i] == 0;
	return n;
}

char *wn_capacity_take(wn_capacity *c, uint64_t job, uint32_t n)
{
	if (wn_capacity_free_gpus(c) < n)
		return NULL;
	char *list = wn_xstrdup("");
	uint32_t got = 0;
	for (size_t i = 0; i < c->ngpus && got < n; i++) {
		if (c->holder[i] != 0)
			continue;
		c->holder[i] = job;
		capacity_append(&list, got ? "," : "");
		capacity_append(&list, c->gpus[i]);
		got++;
	}
	return list;
}

void wn_capacity_give_back(wn_capacity *c, uint64_t job)
{
	for (size_t i = 0; i < c->ngpus; i++)
		if (c->holder[i] == job)
			c->holder[i] = 0;
}
