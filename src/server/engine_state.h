/* engine_state: struct wn_engine, which engine.c opens and closes: the
 * configuration, the lock, and the state of each module, composed (each
 * module's header declares its own part and the functions that use it).
 * Opaque outside src/server (engine.h); tests use the modules' functions. */
#ifndef WN_ENGINE_STATE_H
#define WN_ENGINE_STATE_H

#include "artifacts.h"
#include "auth.h"
#include "clock.h"
#include "deps.h"
#include "engine.h"
#include "fleet.h"
#include "lease.h"
#include "map.h"
#include "project.h"
#include "queue.h"
#include "records.h"
#include "replay.h"
#include "store.h"
#include "sweeper.h"
#include "watch.h"

#include <pthread.h>

struct dedupe;

struct wn_engine {
	wn_engine_config cfg;
	pthread_mutex_t mu; /* held by every call but those of WN_METHOD_UNLOCKED methods */
	struct clock clock;
	wn_store *store;
	wn_records *rec;      /* the records layer on store */
	struct dedupe *dd;    /* dispatch: replies by request id */
	struct projects proj; /* project.h */
	struct deps deps;     /* deps.h */
	struct fleet fleet;   /* fleet.h */
	struct queue_state q; /* queue.h: parked fetches */
	struct watch_state w; /* watch.h: parked watches, parked requests by connection */
	wn_leases *leases;    /* lease.h: the lease of each RUNNING job */
	wn_map *cancelled; /* job id -> attempt + 1 (runs cancelled while they ran: Job.stopping) */
	uint64_t next_id;  /* the next job id */
	uint64_t id_limit; /* stored in m/next_id: every id handed out is below it */
	struct replay replay;   /* replay.h */
	struct sweeper sweeper; /* sweeper.h */
	struct auth auth;       /* auth.h: tokens, the audit log */
	struct artifacts arts;  /* artifacts.h: bytes stored per project, uploads */
	/* metrics.h: what is counted for /metrics */
	struct wn_metrics *metrics;
};

#endif
