/* status: the names of job statuses, one source for every program: the
 * .proto's JobStatus enum with the JOB_ prefix of its values dropped. Messages
 * and logs of wnd spell them in upper case ("job 5 is RUNNING"); wnctl's tables
 * and JSON in lower case ("running"), the rule it applies to every enum. */
#ifndef WN_STATUS_H
#define WN_STATUS_H

/* wn_status_name returns the static upper-case name of job status status
 * ("PENDING", "UNSPECIFIED" for 0), "UNKNOWN" for a number the .proto lacks. */
const char *wn_status_name(int status);

#endif
