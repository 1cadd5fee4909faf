/* agent_dev: what keeps a job from starting: a cancel or stop that came
 * first, and GPU devices a run of an earlier worker process still holds
 * (devlock.h). */
#include "agent_impl.h"
#include "devlock.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>

agent_cause wn_agent_stopped_early(wn_agent *a, const agent_job *j)
{
	agent_cause cause = AGENT_CAUSE_NONE;
	pthread_mutex_lock(&a->mu);
	if (j->lost)
		cause = AGENT_CAUSE_LOST;
	else if (j->cancelled)
		cause = AGENT_CAUSE_CANCEL;
	else if (a->stop >= AGENT_FORCE)
		cause = AGENT_CAUSE_STOP;
	pthread_mutex_unlock(&a->mu);
	return cause;
}

typedef struct dev_wait {
	wn_agent *a;
	const agent_job *j;
} dev_wait;

/* dev_stop: a job that waits for its devices has not started: a worker
 * that drains (a first signal, wnctl worker drain; not the end of --once)
 * hands it back rather than start it once they are free. */
static bool dev_stop(void *arg)
{
	dev_wait *w = arg;
	if (wn_agent_stopped_early(w->a, w->j) != AGENT_CAUSE_NONE)
		return true;
	pthread_mutex_lock(&w->a->mu);
	bool drain = (w->a->signalled && w->a->stop >= AGENT_DRAIN) || w->a->draining;
	pthread_mutex_unlock(&w->a->mu);
	return drain;
}

static void dev_waiting(void *arg, const char *what)
{
	dev_wait *w = arg;
	wn_warn("job %llu: waiting for %s", (unsigned long long)w->j->id, what);
}

int wn_agent_devices_take(wn_agent *a, const agent_job *j, const char *gpus, wn_devlock **out,
                          char **reason)
{
	dev_wait dw = {a, j};
	wn_devlock_wait w = {.stop = dev_stop, .waiting = dev_waiting, .arg = &dw};
	return wn_devlock_take(a->cfg->lock_dir, gpus, &w, out, reason);
}

void wn_agent_devices_record(const agent_job *j, struct wn_devlock *dev, pid_t pgid, uint64_t mark)
{
	char *why = NULL;
	if (wn_devlock_record(dev, pgid, mark, &why) == WN_OK)
		return;
	wn_warn("job %llu: %s: if this worker dies, a worker started meanwhile does not wait "
	        "for the run",
	        (unsigned long long)j->id, why);
	free(why);
}
