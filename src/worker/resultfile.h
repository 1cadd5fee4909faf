/* resultfile: what a job reports in the file its run names in $WN_RESULTS
 * (docs/results.md). The file holds reports, one after the other: JSON
 * objects ({"step": 10, "loss": 0.3}, on one line or several) or key=value
 * lines (loss=0.3), each object or line one report; blank lines and lines
 * starting with '#' are skipped. A job may append reports while it runs:
 * the worker reads what was appended since its last read, sends the numbers
 * of each new report as ResultPoints and the latest value of every key with
 * each heartbeat, and the final values with the completion.
 *
 * Values are numbers (finite) or texts (valid UTF-8, no control
 * characters); true and false are the texts "true" and "false". A file
 * rewritten from its start (a script that writes its results again at each
 * epoch) is read again from its start, and only the keys it then holds are
 * the run's values and count toward the limit of keys. */
#ifndef WN_RESULTFILE_H
#define WN_RESULTFILE_H

#include "envelope.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keys and values follow resultrules.h (WN_RESULT_KEYS_MAX keys, ...). */
#define WN_RESULTFILE_MAX         (4u << 20) /* bytes of a results file */
#define WN_RESULTFILE_PENDING_MAX 1024       /* points kept until the server has them */

/* The reports of one run (opaque; shared by the job's runner and the
 * heartbeat thread, reference-counted). */
typedef struct wn_resultfile wn_resultfile;

/* wn_resultfile_path_beside returns the results file of a run whose log (or
 * output) file is path: its name with ".results" for a last ".log" or
 * ".out", else with ".results" added (malloc'd). */
char *wn_resultfile_path_beside(const char *path);

/* wn_resultfile_new starts reading the reports of the file at path (which need
 * not exist yet); one reference. */
wn_resultfile *wn_resultfile_new(const char *path);

/* wn_resultfile_ref adds a reference to r and returns it. */
wn_resultfile *wn_resultfile_ref(wn_resultfile *r);

/* wn_resultfile_unref drops a reference; the last frees r. NULL is a no-op. */
void wn_resultfile_unref(wn_resultfile *r);

/* wn_resultfile_path returns the file r reads. */
const char *wn_resultfile_path(const wn_resultfile *r);

/* wn_resultfile_feed parses data (len bytes: the next bytes of the file) with
 * what is left of earlier calls; final says no more will come, so a report
 * cut short is an error. Returns WN_EINVAL with *errmsg ("line 3: ...",
 * malloc'd) at the first bad report, which stays r's error: what came before
 * it is kept, nothing after it is read. */
int wn_resultfile_feed(wn_resultfile *r, const char *data, size_t len, bool final, char **errmsg);

/* wn_resultfile_read reads what was appended to r's file since the last read
 * and parses it (final: the run is over). A missing file reports nothing.
 * Returns WN_EINVAL with *reason naming the file, the line and what is wrong
 * (malloc'd), for this read or any before. */
int wn_resultfile_read(wn_resultfile *r, bool final, char **reason);

/* wn_resultfile_fill reads what was appended (as wn_resultfile_read) and puts
 * into pg the points not yet acknowledged by the server and, when they
 * changed since the server last had them or final is set, the latest value
 * of every key. pg's arrays are malloc'd: wn_resultfile_done frees them.
 * Returns what wn_resultfile_read returns; pg is filled either way. */
int wn_resultfile_fill(wn_resultfile *r, Whatsnext__V1__JobProgress *pg, bool final, char **reason);

/* wn_resultfile_done is told whether the server took pg (filled by
 * wn_resultfile_fill): the points and values it took are not sent again.
 * Frees pg's arrays. */
void wn_resultfile_done(wn_resultfile *r, Whatsnext__V1__JobProgress *pg, bool ok);

/* wn_resultfile_count gives the number of reports read and of keys the file
 * as it now stands holds. */
void wn_resultfile_count(wn_resultfile *r, uint64_t *reports, size_t *keys);

#endif
