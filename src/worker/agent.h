/* agent: the worker's life. It joins the server's fleet (name, host,
 * version, what it offers, projects, slots, an instance id of its own; again
 * after an outage; waiting while another process holds its name) and takes
 * back what it held before a restart; fetches jobs of all its projects at
 * once (a long poll: the server answers as soon as a job is ready), runs each
 * through its task's formatter in one of its slots with the GPU devices it
 * needs, heartbeats (its leases, and itself while idle), stops a job the
 * server says was cancelled or lost, drains when the server asks, reports
 * every result, retrying with backoff while the server is unreachable, and
 * leaves the fleet when it stops. It keeps no queue state: everything it
 * needs after a restart comes from the server. */
#ifndef WN_AGENT_H
#define WN_AGENT_H

#include "wconfig.h"

#include <stdbool.h>

typedef struct wn_agent wn_agent;

typedef struct wn_agent_opts {
	bool once;            /* run one job, then exit */
	bool exit_when_empty; /* exit when no job is ready and none runs */
} wn_agent_opts;

/* wn_agent_new prepares an agent for cfg (which must outlive it) and opens
 * its connection (in the background: the server need not be up yet); on
 * failure *errmsg gets a malloc'd message. */
int wn_agent_new(const wn_wconfig *cfg, const wn_agent_opts *opts, wn_agent **out, char **errmsg);

/* wn_agent_run serves jobs until the agent is stopped (or, with once or
 * exit_when_empty, has nothing left to do) and every job it holds has been
 * reported or handed back; returns 0. */
int wn_agent_run(wn_agent *a);

/* wn_agent_stop asks the agent to stop; it may be called from any thread,
 * again to escalate: first, no new jobs and wait for running ones; second,
 * stop running jobs (SIGTERM, SIGKILL after kill_grace_s) and hand their
 * leases back; third, kill them at once. */
void wn_agent_stop(wn_agent *a);

/* wn_agent_tick gives up the calls to the server that hold the worker's
 * stop up (docs/worker.md, "Signals"); call it a few times a second from
 * any thread. */
void wn_agent_tick(wn_agent *a);

/* wn_agent_name returns the name the agent identifies itself with. */
const char *wn_agent_name(const wn_agent *a);

/* wn_agent_free closes the connection and frees the agent; NULL is a no-op. */
void wn_agent_free(wn_agent *a);

#endif
