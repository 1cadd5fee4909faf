/* metrics: the Prometheus exposition of wnd's state and counters (GET
 * /metrics of the HTTP listener; docs/metrics.md). */
#ifndef WN_METRICS_H
#define WN_METRICS_H

#include "engine.h"
#include "strbuf.h"

/* wn_metrics_render appends the text exposition format (0.0.4) to out. */
void wn_metrics_render(wn_engine *e, wn_strbuf *out);

#endif
