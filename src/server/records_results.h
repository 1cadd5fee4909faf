/* records_results: the records of what jobs reported, r/ID (keys.h): a
 * job's result history, a ResultHistory. Part of the records layer: only
 * it reads and writes these keys; wn_records_job_del deletes them with the
 * job. */
#ifndef WN_RECORDS_RESULTS_H
#define WN_RECORDS_RESULTS_H

#include "records.h"

/* wn_records_history_get reads job id's result history, unpacked into the
 * call's allocator: WN_ENOTFOUND when it has none, WN_EINTERNAL when its
 * record is unreadable. */
int wn_records_history_get(wn_records_call *rc, uint64_t id, Whatsnext__V1__ResultHistory **out);

/* wn_records_history_put adds h's record (r/ID of h->job_id) to b. */
void wn_records_history_put(wn_batch *b, const Whatsnext__V1__ResultHistory *h);

#endif
