/* ops: the operations of a run. An operation is a kind and a few integers
 * (which project, which job by creation order, which variant of a bad
 * input...), resolved against the model when it runs, so that a run can be
 * replayed, and shortened, as a list of lines of text. */
#ifndef WN_MODEL_OPS_H
#define WN_MODEL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OP_NARGS 12

/* X(kind, name) for every kind of operation. */
#define OP_KINDS(X)                                                                                \
	X(OP_P_CREATE, "project-create")                                                           \
	X(OP_P_UPDATE, "project-update")                                                           \
	X(OP_P_DELETE, "project-delete")                                                           \
	X(OP_T_CREATE, "task-create")                                                              \
	X(OP_T_UPDATE, "task-update")                                                              \
	X(OP_T_DELETE, "task-delete")                                                              \
	X(OP_SUBMIT, "submit")                                                                     \
	X(OP_BATCH, "batch")                                                                       \
	X(OP_CANCEL, "cancel")                                                                     \
	X(OP_RETRY, "retry")                                                                       \
	X(OP_REMOVE, "remove")                                                                     \
	X(OP_PRIORITY, "priority")                                                                 \
	X(OP_FETCH, "fetch")                                                                       \
	X(OP_HEARTBEAT, "heartbeat")                                                               \
	X(OP_COMPLETE, "complete")                                                                 \
	X(OP_COMPLETE_BATCH, "complete-batch")                                                     \
	X(OP_RELEASE, "release")                                                                   \
	X(OP_CLEAR, "clear")                                                                       \
	X(OP_POP, "pop")                                                                           \
	X(OP_JOIN, "join")                                                                         \
	X(OP_LEAVE, "leave")                                                                       \
	X(OP_DRAIN, "drain")                                                                       \
	X(OP_RESUME, "resume")                                                                     \
	X(OP_WREMOVE, "worker-remove")                                                             \
	X(OP_SWEEP_UPDATE, "sweep-update")                                                         \
	X(OP_RESEND, "resend")                                                                     \
	X(OP_ADVANCE, "advance")                                                                   \
	X(OP_WALL_STEP, "wall-step")                                                               \
	X(OP_RESTART, "restart")                                                                   \
	X(OP_CHECK, "check")                                                                       \
	X(OP_TOKEN_CREATE, "token-create")                                                         \
	X(OP_TOKEN_REVOKE, "token-revoke")                                                         \
	X(OP_LOG, "log")                                                                           \
	X(OP_WAIT, "wait")                                                                         \
	X(OP_HISTORY, "history")                                                                   \
	X(OP_APUT, "artifact-put")                                                                 \
	X(OP_AGET, "artifact-get")                                                                 \
	X(OP_AS, "as")                                                                             \
	X(OP_BULK, "bulk")                                                                         \
	X(OP_UPDATE, "job-update")

#define OP_ENUM(k, n) k,
enum { OP_KINDS(OP_ENUM) OP_NKINDS };
#undef OP_ENUM

typedef struct op {
	int kind;
	int64_t a[OP_NARGS];
	uint64_t reqid; /* the request id it is sent with */
	/* what its last run answered (not part of the text form): -1 not
	 * run or no single answer, else the reply's code */
	int code;
} op;

/* op_name returns the name of kind ("submit"). */
const char *op_name(int kind);

/* op_format writes o as one line of text (no newline) into buf. */
void op_format(const op *o, char *buf, size_t len);

/* op_parse reads one line written by op_format; false if it is not one. */
bool op_parse(const char *line, op *o);

#endif
