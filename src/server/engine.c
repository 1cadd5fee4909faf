/* engine: opening the engine (the store, the records layer, every module's
 * state, the start-up load, the sweeper) and closing it. A request goes
 * through dispatch.c; the periodic work is sweeper.c. */
#include "engine.h"

#include "call.h"
#include "dedupe.h"
#include "dispatch.h"
#include "envelope.h"
#include "engine_state.h"
#include "load.h"
#include "log.h"
#include "metrics.h"
#include "svc.h"

#include <stdlib.h>
#include <string.h>

#define ENGINE_DEDUPE_AGE_MS (10LL * 60 * 1000)
#define ENGINE_DEDUPE_BYTES  (32u << 20)

int wn_engine_open(const wn_engine_config *cfg, wn_engine **out, char **errmsg)
{
	wn_dispatch_init();
	wn_engine *e = wn_xcalloc(1, sizeof(*e));
	e->cfg = *cfg;
	wn_clock_init(&e->clock, cfg->clock, cfg->mono, cfg->clock_arg);
	if (e->cfg.lease_ms <= 0)
		e->cfg.lease_ms = 60000;
	if (e->cfg.worker_timeout_ms <= 0)
		e->cfg.worker_timeout_ms = 30000;
	if (e->cfg.max_msg == 0)
		e->cfg.max_msg = WN_MSG_MAX;
	if (e->cfg.max_parked == 0)
		e->cfg.max_parked = WN_PARKED_MAX;
	if (e->cfg.max_parked_per_conn == 0)
		e->cfg.max_parked_per_conn = WN_PARKED_PER_CONN;
	pthread_mutex_init(&e->mu, NULL);
	wn_sweeper_init(e);
	wn_projects_init(e);
	wn_deps_init(e);
	wn_fleet_init(e);
	wn_queue_init(e);
	wn_watch_init(e);
	e->leases = wn_leases_new();
	e->cancelled = wn_map_new_u64();
	e->dd = wn_dedupe_new(ENGINE_DEDUPE_AGE_MS, ENGINE_DEDUPE_BYTES);
	wn_replay_init(e);
	wn_artifacts_init(e);
	e->metrics = wn_metrics_new();
	/* the settings read before the data directory is created or opened: a
	 * mistake in them changes nothing there */
	int rv = wn_auth_init(e, errmsg);
	if (rv == WN_OK)
		rv = wn_store_dir_foreign(cfg->data_dir, errmsg);
	if (rv == WN_OK)
		rv = wn_store_open(cfg->data_dir, cfg->durability, cfg->relaxed_ms, &e->store,
		                   errmsg);
	if (rv == WN_OK)
		rv = wn_auth_open_audit(e, errmsg);
	if (rv == WN_OK) {
		e->rec = wn_records_new(e->store);
		rv = wn_engine_load(e, errmsg);
	}
	if (rv == WN_OK)
		wn_replay_forget(e);
	if (rv == WN_OK && !cfg->no_sweeper && !wn_sweeper_start(e)) {
		*errmsg = wn_xasprintf("cannot start the lease sweeper");
		rv = WN_EINTERNAL;
	}
	if (rv != WN_OK) {
		wn_engine_close(e);
		return rv;
	}
	*out = e;
	return WN_OK;
}

void wn_engine_warn(wn_engine *e, const char *warning)
{
	e->cfg.warning = warning;
}

void wn_engine_close(wn_engine *e)
{
	if (e == NULL)
		return;
	wn_engine_release_parked(e);
	wn_sweeper_stop(e);
	if (e->store != NULL) {
		pthread_mutex_lock(&e->mu);
		wn_fleet_flush_seen(e);
		pthread_mutex_unlock(&e->mu);
	}
	wn_store_close(e->store);
	wn_projects_free(e);
	wn_deps_free(e);
	wn_fleet_free(e);
	wn_queue_release(e);
	wn_watch_release(e);
	wn_leases_free(e->leases);
	wn_map_free(e->cancelled);
	wn_records_free(e->rec);
	wn_auth_release(e);
	wn_dedupe_free(e->dd);
	wn_replay_free(e);
	wn_artifacts_release(e);
	wn_metrics_free(e->metrics);
	wn_sweeper_release(e);
	wn_clock_release(&e->clock);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

void wn_engine_release_parked(wn_engine *e)
{
	struct call c;
	wn_call_init(&c, e, NULL);
	pthread_mutex_lock(&e->mu);
	wn_queue_waiters_release(&c);
	wn_watch_release_all(&c);
	pthread_mutex_unlock(&e->mu);
	wn_call_wait(&c);
	wn_call_finish(&c);
	wn_admin_drain(e);
}
