/* fixture: the engine of a unit test. It opens a real engine (RocksDB on
 * disk) on a data directory in the case's own directory, with a clock the
 * test moves, calls its methods the way the network layer does, restarts it
 * on the same directory and closes it. Public headers only: what a test sees
 * is what a client would see.
 *
 *   wn_engine *e = wn_fixture_open();
 *   wn_fixture_project(e, "p");
 *   wn_fixture_task(e, "p", "t", 0, 0);
 *   uint64_t id = wn_fixture_submit(e, "p", "t", 0);
 *   wn_fixture_now += 1000;                      (time passes)
 *   e = wn_fixture_restart(e);                   (same directory, same settings)
 *   CHECK_EQ_INT(wn_fixture_job_status(e, id), WHATSNEXT__V1__JOB_STATUS__JOB_PENDING);
 *   wn_fixture_close(e);
 *
 * The helpers check as they go (test.h): a call that must succeed and does
 * not fails the case there. Linked into every unit test binary. */
#ifndef WN_TEST_FIXTURE_H
#define WN_TEST_FIXTURE_H

#include "engine.h"
#include "envelope.h"
#include "store.h"
#include "whatsnext.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* M("JobService", "Submit") is the method path "/whatsnext.v1.JobService/Submit". */
#define M(svc, m) "/whatsnext.v1." svc "/" m

/* The test clock of the engines opened with wn_fixture_config's clocks: the
 * monotonic clock reads wn_fixture_now (ms), the wall clock wn_fixture_now +
 * wn_fixture_wall_step. A test moves them; they keep their values from case
 * to case (time only goes forward). */
extern int64_t wn_fixture_now;
extern int64_t wn_fixture_wall_step;

/* The token secret the calls of the fixture carry (NULL: none). */
extern const char *wn_fixture_token;

/* wn_fixture_config returns the settings a fixture engine starts from: data
 * directory "data" (in the case's directory), sync durability, 60 s leases,
 * no sweeper thread (a test calls wn_engine_tick), the test clock. */
wn_engine_config wn_fixture_config(void);

/* wn_fixture_try_open opens an engine with cfg and returns WN_OK, or the
 * error with *errmsg (malloc'd, may be NULL); cfg is copied (its data_dir
 * too) and kept for wn_fixture_restart. */
int wn_fixture_try_open(const wn_engine_config *cfg, wn_engine **out, char **errmsg);

/* wn_fixture_open_with opens an engine with cfg; the case fails if it cannot. */
wn_engine *wn_fixture_open_with(const wn_engine_config *cfg);

/* wn_fixture_open opens an engine with wn_fixture_config(). */
wn_engine *wn_fixture_open(void);

/* wn_fixture_restart closes e and opens its data directory again with the
 * settings it was opened with (what a restart of wnd does). */
wn_engine *wn_fixture_restart(wn_engine *e);

/* wn_fixture_close closes e (NULL is a no-op). */
void wn_fixture_close(wn_engine *e);

/* wn_fixture_raw hands the bytes of a request to e and returns the reply's
 * code; on return *out (if out) is the whole Response (free it with
 * whatsnext__v1__response__free_unpacked), and wn_fixture_msg its message. */
int wn_fixture_raw(wn_engine *e, const uint8_t *buf, size_t len, Whatsnext__V1__Response **out);

/* wn_fixture_call_id sends in to method under request id and returns the
 * reply's code; on OK, *out (if out and od are given) is the output,
 * unpacked as od; otherwise *out is NULL. */
int wn_fixture_call_id(wn_engine *e, const char *method, const ProtobufCMessage *in, uint64_t id,
                       const ProtobufCMessageDescriptor *od, void **out);

/* wn_fixture_call is wn_fixture_call_id with a fresh request id. */
int wn_fixture_call(wn_engine *e, const char *method, const ProtobufCMessage *in,
                    const ProtobufCMessageDescriptor *od, void **out);

/* wn_fixture_msg returns the message of the last reply. */
const char *wn_fixture_msg(void);

/* wn_fixture_project creates project name, expecting OK. */
void wn_fixture_project(wn_engine *e, const char *name);

/* wn_fixture_task creates task name of project with max_attempts and
 * retries (0: the defaults), expecting OK. */
void wn_fixture_task(wn_engine *e, const char *project, const char *name, uint32_t max_attempts,
                     uint32_t retries);

/* wn_fixture_submit submits a job of project/task at priority prio,
 * expecting OK, and returns its id. */
uint64_t wn_fixture_submit(wn_engine *e, const char *project, const char *task, int32_t prio);

/* wn_fixture_fetch claims a job of project for worker, expecting OK; returns
 * its id (0: none) with its attempt in *att (if att). */
uint64_t wn_fixture_fetch(wn_engine *e, const char *project, const char *worker, uint32_t *att);

/* wn_fixture_complete reports the end of job id's attempt as worker w1:
 * exit code 0 on success, else 7, output "done\n"; returns the reply's code. */
int wn_fixture_complete(wn_engine *e, uint64_t id, uint32_t attempt, bool success);

/* wn_fixture_job returns job id (JobService/Get), expecting OK; free it with
 * whatsnext__v1__job__free_unpacked. */
Whatsnext__V1__Job *wn_fixture_job(wn_engine *e, uint64_t id);

/* wn_fixture_job_status returns the status of job id. */
int wn_fixture_job_status(wn_engine *e, uint64_t id);

/* wn_fixture_log_len returns how many bytes of output job id keeps (of any
 * attempt), expecting OK. */
size_t wn_fixture_log_len(wn_engine *e, uint64_t id);

/* call is wn_fixture_call, the short name the tests use. */
static inline int call(wn_engine *e, const char *method, const ProtobufCMessage *in,
                       const ProtobufCMessageDescriptor *od, void **out)
{
	return wn_fixture_call(e, method, in, od, out);
}

/* call_id is wn_fixture_call_id, the short name the tests use. */
static inline int call_id(wn_engine *e, const char *method, const ProtobufCMessage *in, uint64_t id,
                          const ProtobufCMessageDescriptor *od, void **out)
{
	return wn_fixture_call_id(e, method, in, id, od, out);
}

#endif
