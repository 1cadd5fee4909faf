/* load: the start-up load, rebuilding the in-memory state (projects, tasks,
 * sweeps, workers, jobs, ready queues, leases, dependency edges) from the
 * records of the store. */
#ifndef WN_LOAD_H
#define WN_LOAD_H

#include "engine.h"

/* wn_engine_load rebuilds the in-memory state from the store; on failure
 * *errmsg gets a malloc'd message saying what to run. */
int wn_engine_load(wn_engine *e, char **errmsg);

#endif
