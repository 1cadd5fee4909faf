/* results: what jobs report while they run and when they end
 * (docs/results.md): the latest value of each key in Job.results, and a
 * bounded history of the numbers of each key in the record r/ID
 * (records_results.h), both of the job's latest attempt. A domain module:
 * QueueService's Heartbeat and Complete hand it the JobProgress a worker
 * sent, JobService/History reads the history. */
#ifndef WN_RESULTS_H
#define WN_RESULTS_H

#include "call.h"

#include <stdbool.h>

#define WN_PROGRESS_POINTS_MAX 4096 /* points in one JobProgress */
#define WN_HISTORY_POINTS      512  /* points kept per key; more thin the series */

/* wn_results_check validates the results and points of pg, a JobProgress a
 * worker sent, before anything changes: WN_EINVAL with the call's message
 * naming the job and what is wrong. */
int wn_results_check(struct call *c, const Whatsnext__V1__JobProgress *pg);

/* wn_results_apply keeps what pg (checked) reports of j, a job whose lease
 * the sender holds at pg's attempt: its results become j's latest values
 * (final: j's results, even none), its points join j's history (r/ID in b).
 * Unless final, j is added to b when its values changed; a final caller
 * writes j itself. */
int wn_results_apply(struct call *c, wn_batch *b, Job *j, const Whatsnext__V1__JobProgress *pg,
                     bool final);

/* wn_results_fresh forgets j's results: a new attempt starts. */
void wn_results_fresh(Job *j);

/* wn_results_history gives the history of j's latest attempt, of the nkeys
 * keys named (none: every key), allocated from the call's arena. */
int wn_results_history(struct call *c, const Job *j, char *const *keys, size_t nkeys,
                       Whatsnext__V1__ResultHistory **out);

#endif
