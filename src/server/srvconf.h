/* srvconf: wnd's settings, from defaults, a YAML file (config/wnd.yaml
 * documents every key) and the command line, in that order of precedence. */
#ifndef WN_SRVCONF_H
#define WN_SRVCONF_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"

typedef struct wn_srvconf {
	char *data;                /* data directory */
	wn_conf_strv listen;       /* addresses to serve */
	char *durability;          /* "sync" or "relaxed" */
	int64_t relaxed_ms;        /* relaxed mode: time from one sync to the next */
	int64_t lease_ms;          /* lease length */
	int64_t worker_timeout_ms; /* a joined worker silent this long is LOST */
	int64_t retention_ms;   /* finished jobs are deleted this long after they end; 0 = kept */
	int64_t threads;        /* serving threads */
	char *token;            /* deprecated: the bootstrap admin token's secret, "" for none */
	char *admin_token_file; /* a file holding the bootstrap admin token's secret */
	char *audit_log;        /* the audit log; "": DATA/audit.log */
	char *backup_dir;       /* backups only inside it, "" for anywhere */
	char *log_level;        /* error, warn, info, debug */
	int64_t max_parked;     /* fetches waiting for a job at once */
	int64_t max_parked_per_conn;     /* ... on one connection */
	int64_t output_max;              /* bytes of live output kept per job */
	int64_t artifact_max_file_mb;    /* largest artifact stored */
	int64_t artifact_max_project_mb; /* artifact bytes stored per project */
	char *tls_cert;                  /* tls+tcp: the server's certificate (PEM) */
	char *tls_key;                   /* tls+tcp: its private key (PEM) */
	char *tls_client_ca;             /* CA of client certificates, "" for none */
	bool tls_require_client_cert;    /* refuse clients without a valid certificate */
	bool insecure;                   /* serve a network address without TLS or tokens */
	int64_t max_connections;         /* 0: sized from RLIMIT_NOFILE */
	int64_t handshake_timeout_ms;
	int64_t idle_timeout_ms;
	int64_t max_unauth_request;     /* bytes of a request before one authenticated */
	int64_t max_unauth_bytes;       /* ... of all such connections together */
	char *http;                     /* the HTTP listener's address, "" for none */
	wn_conf_strv http_cors_origins; /* origins allowed to call the HTTP API */
} wn_srvconf;

/* wn_srvconf_defaults fills c with the built-in defaults. */
void wn_srvconf_defaults(wn_srvconf *c);

/* wn_srvconf_load reads path over the values in c; on failure *err gets a
 * malloc'd "path:line:col: what" message and c keeps its defaults. */
int wn_srvconf_load(wn_srvconf *c, const char *path, char **err);

/* wn_srvconf_set applies one setting by key name from the command line
 * (e.g. "lease_ms", "5000"), checked as the file's would be. */
int wn_srvconf_set(wn_srvconf *c, const char *key, const char *value, char **err);

/* wn_srvconf_release frees what c holds. */
void wn_srvconf_release(wn_srvconf *c);

#endif
