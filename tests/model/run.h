/* run: one run of a list of operations on a fresh server, and shortening a
 * failing list (delta debugging). */
#ifndef WN_MODEL_RUN_H
#define WN_MODEL_RUN_H

#include "driver.h"

/* A list of operations. */
typedef struct oplist {
	op *v;
	size_t n, cap;
} oplist;

/* oplist_add appends o. */
void oplist_add(oplist *l, const op *o);

/* run_result: how a run ended. */
typedef struct run_result {
	bool failed;
	size_t at;    /* the operation that failed (n: the final restarts) */
	char *why;    /* malloc'd */
	char sig[96]; /* what failed, without ids: failures compare by it */
} run_result;

/* run_list runs the operations of l on a new wnd in dir, then (finish) the
 * final restarts; res tells how it ended. Returns -1 if wnd could not be
 * started. keep, if given, gets the driver, still open. */
int run_list(const char *wnd, const char *dir, oplist *l, bool verbose, bool finish,
             run_result *res, driver *keep);

/* run_signature fills res->sig from the failing operation and message. */
void run_signature(run_result *res, const op *o);

/* run_shrink shortens l (which fails as res says) to fewer operations that
 * fail the same way, within seconds; work directories go under base. */
void run_shrink(const char *wnd, const char *base, oplist *l, const run_result *res, int seconds);

/* run_rmtree removes directory dir and everything in it. */
void run_rmtree(const char *dir);

/* oplist_write writes l to path, one operation a line. */
int oplist_write(const oplist *l, const char *path);
/* oplist_read reads a list written by oplist_write. */
int oplist_read(oplist *l, const char *path, char **err);

#endif
