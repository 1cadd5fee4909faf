/* metrics: the Prometheus exposition (metrics.h). */
#include "metrics.h"

#include "envelope.h"

void wn_metrics_render(wn_engine *e, wn_strbuf *out)
{
	(void)e;
	wn_strbuf_adds(out, "# HELP whatsnext_build_info The version of wnd serving.\n"
	                    "# TYPE whatsnext_build_info gauge\n");
	wn_strbuf_addf(out, "whatsnext_build_info{version=\"%s\"} 1\n", WN_VERSION);
}
