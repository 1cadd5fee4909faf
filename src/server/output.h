/* output: a job's live output as the server keeps it (docs/server.md, "Live
 * output"). A worker ships the new bytes of each running job's output with
 * its heartbeats and the rest with its completion (JobProgress
 * output_offset/output); the server keeps them by offset, up to a bound per
 * job (the oldest go first), those of the latest attempt only. A resend of
 * bytes it has is a no-op; bytes that never came are a gap a reader sees.
 * JobService.Log reads them (svc_log.c). In the domain layer: it stores
 * through records_output. */
#ifndef WN_OUTPUT_H
#define WN_OUTPUT_H

#include "call.h"

#include <stdbool.h>
#include <stdint.h>

/* Bytes of output one JobProgress may carry. */
#define WN_OUTPUT_PROGRESS_MAX (1u << 20)
/* Bytes of live output kept per job unless the server's output_max_bytes
 * says otherwise. */
#define WN_OUTPUT_MAX_DEFAULT (8u << 20)
/* Bytes one Log reply may carry (LogRequest.max_bytes), and its default. */
#define WN_OUTPUT_READ_MAX     (4u << 20)
#define WN_OUTPUT_READ_DEFAULT (1u << 20)

/* wn_output_check validates the output of progress pg, changing nothing:
 * WN_EINVAL with the call's message when it is more than a progress may
 * carry or its offsets overflow. */
int wn_output_check(struct call *c, const Whatsnext__V1__JobProgress *pg);

/* wn_output_apply adds the output of pg, of job j's current attempt (a lease
 * the caller checked), to b: the bytes not kept yet, the oldest dropped past
 * the bound; the output of an earlier attempt goes first. With pg NULL or no
 * bytes it only drops an earlier attempt's output (a completion does that; a
 * heartbeat calls it only with bytes), and in a first attempt it does
 * nothing at all. */
int wn_output_apply(struct call *c, wn_batch *b, const Job *j,
                    const Whatsnext__V1__JobProgress *pg);

/* wn_output_read fills r (data, offset, next_offset, attempt, start, end)
 * with up to max bytes of job j's output from offset, counted in attempt (0:
 * the attempt kept; another than the one kept: from the first byte kept),
 * the data in the call's arena; the store's error if it cannot be read. */
int wn_output_read(struct call *c, const Job *j, uint64_t offset, uint32_t attempt, size_t max,
                   Whatsnext__V1__LogResponse *r);

/* wn_output_ended tells whether job j will get no more output: it ended
 * (COMPLETED, FAILED, CANCELLED, BLOCKED) and no worker still runs it. */
bool wn_output_ended(struct call *c, const Job *j);

#endif
