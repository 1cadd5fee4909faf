/* outship: the live output of one run, shipped to the server while the job
 * runs (docs/worker.md, "Live output"). The run writes its output to a file
 * (a cli job's log, a SLURM job's output file); the heartbeat thread takes
 * the bytes the server has not acknowledged yet into each heartbeat's
 * JobProgress, and the job's runner ships the rest before or with the
 * completion. A call that fails leaves the bytes unacknowledged: the next one
 * sends them again from the same offset (the server ignores what it has).
 * Shared by the heartbeat thread and the runner (reference counted, locked
 * inside). */
#ifndef WN_OUTSHIP_H
#define WN_OUTSHIP_H

#include "whatsnext.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of one job's output per heartbeat. */
#define WN_OUTSHIP_JOB_MAX (256u << 10)
/* Bytes of output per call (every job of a heartbeat; one completion): the
 * server's limit per JobProgress. */
#define WN_OUTSHIP_CALL_MAX (1u << 20)
/* Output further behind the end of the file than this is skipped (the server
 * keeps no more than its bound, 8 MiB by default): a gap the reader sees. */
#define WN_OUTSHIP_WINDOW (8u << 20)

/* How wn_outship_fill reads. */
enum {
	WN_OUTSHIP_FINAL = 1, /* the runner ships the rest: heartbeats take no more */
	WN_OUTSHIP_TAIL = 2,  /* more than max left: the last max bytes (the end complete) */
};

typedef struct wn_outship wn_outship;

/* wn_outship_new starts shipping the output file at path (which may not
 * exist yet), from its first byte; one reference. */
wn_outship *wn_outship_new(const char *path);
/* wn_outship_ref adds a reference to o and returns it. */
wn_outship *wn_outship_ref(wn_outship *o);
/* wn_outship_unref drops a reference; the last frees o. NULL is a no-op. */
void wn_outship_unref(wn_outship *o);

/* wn_outship_fill puts up to max bytes of output the server has not
 * acknowledged into pg (output_offset, output: malloc'd until
 * wn_outship_done) and returns how many. Nothing while another call carries
 * some (one at a time), nor for a heartbeat once the runner ships the rest
 * (flags WN_OUTSHIP_FINAL, which waits for the call on its way). Every fill
 * that put bytes is followed by wn_outship_done. */
size_t wn_outship_fill(wn_outship *o, Whatsnext__V1__JobProgress *pg, size_t max, int flags);
/* wn_outship_done tells o whether the server took the bytes pg carried
 * (ok), else they go again, and frees them. */
void wn_outship_done(wn_outship *o, Whatsnext__V1__JobProgress *pg, bool ok);
/* wn_outship_behind returns how many bytes of the file the server has not
 * acknowledged (past the window: the window). */
uint64_t wn_outship_behind(wn_outship *o);

#endif
