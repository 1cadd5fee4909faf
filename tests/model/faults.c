/* faults: the store faults of a run (wnmodel --faults). Each start of wnd
 * may get read and scan faults (WN_STORE_FAULTS), drawn into the restart
 * operation that makes it; what wnd promises for a read that fails
 * (docs/server.md, "Reads that fail") is what the driver holds it to. */
#include "driver.h"

#include "methods.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool driver_unavailable(const driver *d, int code)
{
	return code == 14 && d->srv.faults != NULL;
}

void faults_set(driver *d, const op *o, bool on)
{
	free(d->srv.faults);
	d->srv.faults = NULL;
	d->m->faults = false;
	if (!on)
		return;
	char buf[160] = "";
	size_t n = 0;
	static const char *const what[] = {"read", "scan"};
	for (int k = 0; k < 2; k++)
		if (o->a[1 + 2 * k] > 0)
			n += (size_t)snprintf(
			    buf + n, sizeof(buf) - n, "%s%s:after=%lld:count=%lld:error=%s",
			    n ? "," : "", what[k], (long long)o->a[2 + 2 * k],
			    (long long)o->a[1 + 2 * k], (o->a[5] >> k) & 1 ? "EIO" : "ENOSPC");
	if (n > 0) {
		d->srv.faults = wn_xstrdup(buf);
		d->m->faults = true;
		d->fault_starts++;
		if (d->verbose)
			fprintf(stderr, "    WN_STORE_FAULTS=%s\n", buf);
	}
}

int faults_start(driver *d, const op *o)
{
	if (o->a[1] == 0 && o->a[3] == 0)
		return 0;
	char *err = NULL;
	int rv = 0;
	if (server_stop(&d->srv, false, &err) != 0)
		rv = driver_fail(d, "stopping wnd: %s", err);
	else if (server_check(&d->srv, &err) != 0)
		rv = driver_fail(d, "after SIGTERM: %s", err);
	driver_catch_up(d);
	faults_set(d, o, true);
	if (rv == 0 && server_start(&d->srv, d->offset, &err) != 0)
		rv = driver_fail(d, "restarting wnd after SIGTERM: %s", err);
	free(err);
	d->restarts_term++;
	if (rv == 0) {
		d->epoch++;
		model_restart(d->m, false);
	}
	return rv;
}

uint64_t *faults_live(const driver *d, bool leased, size_t *n)
{
	*n = 0;
	if (d->srv.faults == NULL)
		return NULL;
	uint64_t *v = wn_xcalloc(d->m->njobs + 1, sizeof(*v));
	for (size_t i = 0; i < d->m->njobs; i++)
		if (d->m->jobs[i]->live && (!leased || d->m->jobs[i]->leased))
			v[(*n)++] = d->m->jobs[i]->id;
	return v;
}

/* still_there: whether wnd still has job id (or cannot say); with j, whether
 * it still shows the lease that j's model ended (the job RUNNING or stopping
 * as before, or it cannot say). */
static bool still_there(driver *d, uint64_t id, const model_job *j)
{
	Whatsnext__V1__GetJobRequest g = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	g.id = id;
	ProtobufCMessage *out = NULL;
	char *msg = NULL;
	int code = wn_rpc_call(d->srv.rpc, WN_PATH_JOB_GET, &g.base,
	                       &whatsnext__v1__job__descriptor, &out, &msg, 0, 0);
	free(msg);
	const Whatsnext__V1__Job *got = (const void *)out;
	bool there = code != 5; /* NOT_FOUND */
	if (j != NULL && code == 0 && got != NULL)
		there = got->attempt == j->attempt &&
		        (((int)got->status == ST_RUNNING && j->status != ST_RUNNING) ||
		         (got->stopping && !model_job_stopping(j)));
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return there;
}

int faults_retention(driver *d, const uint64_t *live, size_t n)
{
	for (int round = 0; round < DRIVER_FAULT_TRIES; round++) {
		bool left = false;
		for (size_t i = 0; i < n && !left; i++) {
			const model_job *j = wn_map_get_u64(d->m->byid, live[i]);
			left = j != NULL && !j->live && still_there(d, live[i], NULL);
		}
		if (!left)
			return 0;
		/* the next pass, a minute on, goes on where that one ended */
		d->retention_late++;
		driver_catch_up(d);
		driver_clock_to(d, model_safe_time(d->m, d->m->now + 61000));
		if (driver_poke(d) != 0)
			return -1;
	}
	return 0; /* the comparisons that follow tell */
}

int faults_leases(driver *d, const uint64_t *leased, size_t n)
{
	for (int round = 0; round < DRIVER_FAULT_TRIES; round++) {
		bool left = false;
		for (size_t i = 0; i < n && !left; i++) {
			const model_job *j = wn_map_get_u64(d->m->byid, leased[i]);
			left = j != NULL && j->live && !j->leased && still_there(d, leased[i], j);
		}
		if (!left)
			return 0;
		/* its job could not be read: the lease is looked at a second on */
		d->leases_late++;
		driver_catch_up(d);
		driver_clock_to(d, model_safe_time(d->m, d->m->now + 1100));
		if (driver_poke(d) != 0)
			return -1;
	}
	return 0; /* the comparisons that follow tell */
}
