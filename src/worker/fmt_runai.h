/* fmt_runai: the `runai` formatter. Each job attempt becomes a RUNAI
 * training workload with a name of its own ("wn-sweep-12-1"): the worker
 * submits it with the image, project, GPU, CPU and memory requests,
 * environment and the job's command and arguments (no shell), then follows
 * it with `describe` until it ends, and deletes it to cancel it, once it
 * runs past the task's timeout, or when describe answers without its status
 * for status_timeout_ms (runai_follow.c). The current
 * CLI (`runai training submit|describe|delete|logs`) is the default;
 * `cli: legacy` speaks the older `runai submit`, `runai describe job`,
 * `runai delete job`, `runai logs`.
 *
 * End states: Succeeded or Completed succeed; Failed fails; a workload that
 * is Deleted, Stopped or gone (deleted outside WhatsNext) cancels the job.
 * The workload name is the run's external id; a restarted worker follows
 * the workload again from it. Before an attempt after the first is
 * submitted, the workloads of the earlier attempts are described
 * (runai_find.c): one the server never learnt of that still runs or
 * succeeded is followed instead. docs/formatters.md describes every
 * option. */
#ifndef WN_FMT_RUNAI_H
#define WN_FMT_RUNAI_H

#include "fmt.h"

/* The runai formatter's operations. */
extern const wn_fmt_ops wn_fmt_runai_ops;

#endif
