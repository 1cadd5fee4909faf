/* metrics: what wnd counts about itself for Prometheus, and the text
 * exposition format (version 0.0.4) the HTTP listener serves at /metrics
 * (docs/metrics.md lists every metric).
 *
 * The engine owns one struct wn_metrics (e->metrics). Its recorders touch that
 * state only: dispatch calls wn_metrics_request for every request, lock-free
 * (counters in shards, one per group of threads, summed when read), and the
 * domain calls wn_metrics_job at every status change of a job, under the
 * engine lock. wn_metrics_render reads them, the engine's projects and
 * workers (under the engine lock) and the store. */
#ifndef WN_METRICS_H
#define WN_METRICS_H

#include "engine.h"
#include "methods.h"
#include "rules.h"
#include "strbuf.h"

#include <stdint.h>

struct wn_metrics;

/* wn_metrics_new returns an empty set of metrics, started now. */
struct wn_metrics *wn_metrics_new(void);
/* wn_metrics_free frees m; NULL is a no-op. */
void wn_metrics_free(struct wn_metrics *m);

/* wn_metrics_request counts a request dispatch answered: its method md
 * (NULL: the request named none found), the code of its reply (a request
 * answered later, a parked Fetch, counts as OK) and the time since t0
 * (wn_histo_clock). Safe from any thread without a lock. */
void wn_metrics_request(struct wn_metrics *m, const wn_method *md, const wn_reply *reply,
                        int64_t t0);

/* wn_metrics_job notes that job j of project moved from status from to status
 * to (0: created or removed): the jobs submitted and finished, the wait of a
 * claimed job since it became PENDING, the run time of a run that ended
 * COMPLETED or FAILED. Called under the engine lock. */
void wn_metrics_job(wn_engine *e, const char *project, const Job *j, int from, int to);

/* wn_metrics_forget drops the series (jobs submitted and finished, run
 * times) of task of project, or of every task of project when task is NULL:
 * the project or task was deleted, and its series leave the page. Called
 * under the engine lock. */
void wn_metrics_forget(wn_engine *e, const char *project, const char *task);

/* wn_metrics_render appends every metric of e to out in Prometheus's text
 * format, version 0.0.4 (Content-Type "text/plain; version=0.0.4"); it holds
 * the engine lock while it reads the projects and workers. */
void wn_metrics_render(wn_engine *e, wn_strbuf *out);

/* wn_metrics_label appends s to out escaped as a label value of the text
 * format wants it (backslash, double quote and newline). */
void wn_metrics_label(wn_strbuf *out, const char *s);

#endif
