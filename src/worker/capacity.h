/* capacity: what a worker offers (cores, GPU devices, memory, labels) and
 * which GPU devices each of its running jobs holds. worker.yaml's `resources`
 * say it; what they leave out is detected from the machine: cores from the
 * CPUs the worker may run on, memory from /proc/meminfo, GPUs from
 * `nvidia-smi --query-gpu=index --format=csv,noheader` when that program
 * exists (none otherwise). See docs/resources.md. */
#ifndef WN_CAPACITY_H
#define WN_CAPACITY_H

#include "conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* In wn_wresources: "detect it from the machine". */
#define WN_CAPACITY_DETECT (-1)

/* The `resources` mapping of worker.yaml. */
typedef struct wn_wresources {
	int64_t cpu;          /* cores, or WN_CAPACITY_DETECT */
	int64_t gpus;         /* devices: the length of gpu_ids, or WN_CAPACITY_DETECT */
	wn_conf_strv gpu_ids; /* device ids, as CUDA_VISIBLE_DEVICES names them */
	int64_t memory_mb;    /* or WN_CAPACITY_DETECT */
	wn_conf_strmap labels;
} wn_wresources;

/* wn_capacity_conf_load reads the `resources` mapping node (NULL: every value
 * detected) into *out: `cpu` (a count or auto), `gpus` (a list of device ids,
 * a count N for ids 0..N-1, or auto), `memory` (MB, or with a suffix M, G or
 * T; or auto), `memory_mb` (the same in MB) and `labels` (a mapping). On
 * failure *errmsg gets a positioned message; release *out either way. */
int wn_capacity_conf_load(const wn_conf_doc *doc, const wn_conf_node *node, wn_wresources *out,
                          char **errmsg);

/* wn_capacity_conf_release frees what wn_capacity_conf_load stored in r. */
void wn_capacity_conf_release(wn_wresources *r);

/* wn_capacity_parse_gpus reads nvidia-smi's answer (one device index per
 * line, blanks ignored) into out; WN_EINVAL on a line that is no index. */
int wn_capacity_parse_gpus(const char *text, wn_conf_strv *out);

/* wn_capacity_detect_cpu returns the number of CPUs the worker may run on. */
uint32_t wn_capacity_detect_cpu(void);

/* wn_capacity_detect_memory_mb returns MemTotal of the meminfo file at path
 * (NULL: /proc/meminfo) in MB, or the physical memory when it cannot be read. */
uint64_t wn_capacity_detect_memory_mb(const char *path);

/* wn_capacity_detect_gpus runs program (NULL: "nvidia-smi", looked up in
 * PATH) with --query-gpu=index --format=csv,noheader and stores the device
 * ids it prints in out. A program that does not exist means no GPU (WN_OK,
 * nothing stored); one that fails or prints something else is WN_EIO with
 * *why saying so (malloc'd). */
int wn_capacity_detect_gpus(const char *program, wn_conf_strv *out, char **why);

/* What a worker offers, resolved, and the job holding each GPU device. */
typedef struct wn_capacity {
	uint32_t cpu;
	uint64_t memory_mb;
	size_t ngpus;
	char **gpus;      /* device ids, in the order offered */
	uint64_t *holder; /* the job holding gpus[i], 0 if free */
	size_t nlabels;
	char **label_keys, **label_vals;
} wn_capacity;

/* wn_capacity_init resolves conf into c, detecting what it leaves out
 * (nvidia_smi: the program to ask, NULL for "nvidia-smi"). A failed GPU
 * detection offers none and leaves a malloc'd message in *note (else NULL). */
void wn_capacity_init(wn_capacity *c, const wn_wresources *conf, const char *nvidia_smi,
                      char **note);

/* wn_capacity_release frees what c holds. */
void wn_capacity_release(wn_capacity *c);

/* wn_capacity_describe returns a malloc'd one-line summary for the log:
 * "8 cpu, 2 gpu (0,1), 16000 MB, labels site=lab". */
char *wn_capacity_describe(const wn_capacity *c);

/* wn_capacity_take gives job n free GPU devices, the first free ones in the
 * order offered, and returns them as a malloc'd comma-separated list ("" for
 * n = 0); NULL when fewer than n are free, and then nothing is taken. */
char *wn_capacity_take(wn_capacity *c, uint64_t job, uint32_t n);

/* wn_capacity_give_back frees the devices job holds. */
void wn_capacity_give_back(wn_capacity *c, uint64_t job);

/* wn_capacity_free_gpus returns how many devices no job holds. */
size_t wn_capacity_free_gpus(const wn_capacity *c);

#endif
