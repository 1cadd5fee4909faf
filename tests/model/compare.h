/* compare: a server's answer against the model, field by field, and the
 * whole state (a snapshot) against the model. */
#ifndef WN_MODEL_COMPARE_H
#define WN_MODEL_COMPARE_H

#include "model.h"
#include "snapshot.h"

/* What of a Job message to check besides the stored fields. */
enum {
	CJ_RECORD = 0,   /* the job as stored */
	CJ_DEPS = 1,     /* dependencies carry their status now */
	CJ_WAITING = 2,  /* a PENDING job says why it waits */
	CJ_POSITION = 4, /* and its place in the queue (Get) */
	CJ_LEASE = 8,    /* a RUNNING job's lease expiry is the live one */
	CJ_BRIEF = 16,   /* only id, status and attempt are filled */
	CJ_OUT = 32,     /* a job out of line says why (queue show's waiting jobs) */
};

/* compare_job checks job g (from where) against model job j. */
int compare_job(model *m, const model_job *j, const Whatsnext__V1__Job *g, int what,
                const char *where);
/* compare_worker checks worker g against model worker w. */
int compare_worker(model *m, const model_worker *w, const Whatsnext__V1__Worker *g,
                   const char *where);
/* compare_sweep checks sweep g against model sweep s. */
int compare_sweep(model *m, const model_sweep *s, const Whatsnext__V1__Sweep *g, const char *where);
/* compare_project and compare_task check one project or task. */
int compare_project(model *m, const model_project *p, const Whatsnext__V1__Project *g,
                    const char *where);
int compare_task(model *m, const model_task *t, const Whatsnext__V1__Task *g, const char *where);

/* compare_snapshot checks every answer of snapshot s against the model. */
int compare_snapshot(model *m, const snapshot *s);

#endif
