/* server: one wnd process of a run: started on a private ipc:// address and
 * data directory, stopped by SIGTERM or SIGKILL, checked offline with
 * `wnd --check`, and driven by a test clock file. */
#ifndef WN_MODEL_SERVER_H
#define WN_MODEL_SERVER_H

#include "rpc.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct server {
	char *wnd;        /* the wnd binary */
	char *dir;        /* the run's directory: data/, wnd.sock, clock, wnd.log */
	char *data;       /* dir/data */
	char *url;        /* ipc://dir/wnd.sock */
	char *clock;      /* dir/clock */
	char *log;        /* dir/wnd.log */
	pid_t pid;        /* 0: not running */
	bool test_clock;  /* wnd has --test-clock */
	bool check;       /* wnd has --check */
	bool tokens;      /* wnd has --admin-token-file: started with dir/admin.token */
	char *admin;      /* dir/admin.token, which holds the admin secret */
	bool has_http;    /* wnd has --http: started with an HTTP listener */
	char *http;       /* its address, "http://127.0.0.1:PORT", while it runs */
	wn_rpc *rpc;      /* open while it runs */
	int64_t wall_off; /* the wall clock's own offset in the clock file */
	char *faults;     /* WN_STORE_FAULTS of the next start and the one running
	                   * (NULL: none), malloc'd */
} server;

/* The bootstrap admin token's secret of a run's wnd. */
#define SERVER_ADMIN_SECRET "wnmodel-admin-secret-0123456789"

/* server_init prepares s for wnd binary wnd in a fresh directory dir (which
 * it creates) and learns which options that wnd has. */
int server_init(server *s, const char *wnd, const char *dir, char **err);

/* server_release stops a server still running (SIGKILL) and frees s. */
void server_release(server *s);

/* server_start starts wnd (its clock shifted by offset ms, with s->faults
 * in WN_STORE_FAULTS when set) and waits until it answers. */
int server_start(server *s, int64_t offset, char **err);

/* server_stop stops wnd: SIGTERM, which must end it with status 0, or
 * SIGKILL (kill9). */
int server_stop(server *s, bool kill9, char **err);

/* server_check runs `wnd --check` on the stopped data directory; it must
 * exit 0. A no-op when wnd has no --check. */
int server_check(server *s, char **err);

/* server_clock shifts wnd's clocks (the test clock) by offset ms from the
 * machine's, and its wall clock by s->wall_off more; a no-op for a wnd
 * without --test-clock. */
void server_clock(server *s, int64_t offset);

#endif
