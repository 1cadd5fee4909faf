/* envelope: the Request/Response wrapper every message on the wire travels in. */
#ifndef WN_ENVELOPE_H
#define WN_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "whatsnext.pb-c.h"

/* Release of the programs (wnd, wnworker, wnctl). */
#define WN_VERSION "0.1.0"

/* Wire version. Bump when a message or method is removed or renumbered, or a
 * field changes meaning; adding fields, messages or methods keeps it. */
#define WN_PROTOCOL_VERSION 1

/* Largest message either side accepts (NNG_OPT_RECVMAXSZ), bytes. */
#define WN_MSG_MAX (16u * 1024u * 1024u)

/* Largest reply a client accepts, bytes: a job as large as a request can
 * make it, plus what the server adds to it (worker, times, reason, output
 * tail), plus the envelope. Replies that hold many jobs stay well below. */
#define WN_REPLY_MAX (WN_MSG_MAX + (1u << 20))

/* Limits of a request that wnd refuses past, and clients check before they
 * send one (docs/protocol.md): the jobs of a SubmitBatch, the ids or jobs a
 * Bulk selects and the results of a CompleteBatch; the projects or statuses
 * of a job filter; the bytes of a job filter's name glob. */
#define WN_BATCH_MAX       100000
#define WN_FILTER_LIST_MAX 1000
#define WN_GLOB_MAX        1024

/* Limits of a worker's Join that wnd refuses past, and wnworker checks in
 * its configuration: its labels, gpus, projects and tasks. */
#define WN_JOIN_LABELS_MAX   256
#define WN_JOIN_GPUS_MAX     1024
#define WN_JOIN_PROJECTS_MAX 1024
#define WN_JOIN_TASKS_MAX    1024

/* Default server address. */
#define WN_DEFAULT_URL "tcp://127.0.0.1:7640"

/* wn_method_path writes "/whatsnext.v1.<Service>/<Method>" for method index i of
 * service svc into buf (size n) and returns buf. */
char *wn_method_path(const ProtobufCServiceDescriptor *svc, unsigned i, char *buf, size_t n);

/* wn_message_pack serializes msg into a new buffer; *len gets its size. */
uint8_t *wn_message_pack(const ProtobufCMessage *msg, size_t *len);

#endif
