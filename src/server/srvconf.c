#include "srvconf.h"

#include "envelope.h"
#include "err.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const durability_choices[] = {"sync", "relaxed", NULL};
static const char *const level_choices[] = {"error", "warn", "info", "debug", NULL};

#define OFF(f) offsetof(wn_srvconf, f)

/* The key table: parsing, defaults and bounds of every wnd setting. */
static const wn_conf_key srvconf_keys[] = {
    {"data", WN_CONF_T_STR, OFF(data), "wn-data", 0, 0, WN_CONF_NONEMPTY, NULL,
     "data directory (RocksDB)"},
    {"listen", WN_CONF_T_STRLIST, OFF(listen), WN_DEFAULT_URL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "addresses to serve: tcp://HOST:PORT or ipc:///path"},
    {"durability", WN_CONF_T_STR, OFF(durability), "sync", 0, 0, 0, durability_choices,
     "sync: fsync every change before its reply; relaxed: one fsync at most every relaxed_ms"},
    {"relaxed_ms", WN_CONF_T_INT, OFF(relaxed_ms), "100", 1, 60000, 0, NULL,
     "relaxed mode: time from one fsync to the next"},
    {"lease_ms", WN_CONF_T_INT, OFF(lease_ms), "60000", 100, 7LL * 24 * 3600 * 1000, 0, NULL,
     "job lease length"},
    {"worker_timeout_ms", WN_CONF_T_INT, OFF(worker_timeout_ms), "30000", 100,
     7LL * 24 * 3600 * 1000, 0, NULL, "a joined worker silent this long is LOST"},
    {"retention_ms", WN_CONF_T_INT, OFF(retention_ms), "0", 0, INT64_MAX / 2, 0, NULL,
     "finished jobs are deleted this long after they end; 0 keeps them"},
    {"threads", WN_CONF_T_INT, OFF(threads), "2", 1, 64, 0, NULL, "event loops"},
    {"token", WN_CONF_T_STR, OFF(token), "", 0, 0, 0, NULL,
     "deprecated: the admin token's secret (use admin_token_file)"},
    {"admin_token_file", WN_CONF_T_STR, OFF(admin_token_file), "", 0, 0, 0, NULL,
     "file holding the bootstrap admin token's secret (mode 0600)"},
    {"audit_log", WN_CONF_T_STR, OFF(audit_log), "", 0, 0, 0, NULL,
     "audit log of admin operations; empty: DATA/audit.log"},
    {"backup_dir", WN_CONF_T_STR, OFF(backup_dir), "", 0, 0, 0, NULL,
     "backups only inside this directory; empty: anywhere"},
    {"log_level", WN_CONF_T_STR, OFF(log_level), "info", 0, 0, 0, level_choices,
     "most verbose level logged"},
    {"max_parked_fetches", WN_CONF_T_INT, OFF(max_parked), "10000", 1, 1000000, 0, NULL,
     "requests waiting at once (fetches waiting for a job, waits); more are refused"},
    {"max_parked_per_connection", WN_CONF_T_INT, OFF(max_parked_per_conn), "16", 1, 100000, 0, NULL,
     "requests waiting on one connection (fetches, waits); more are refused"},
    {"output_max_bytes", WN_CONF_T_INT, OFF(output_max), "8388608", 65536, 1LL << 32, 0, NULL,
     "live output kept per job; the oldest goes first"},
    {"artifact_max_file_mb", WN_CONF_T_INT, OFF(artifact_max_file_mb), "256", 1, 1LL << 30, 0, NULL,
     "largest artifact whose content is stored, in MiB"},
    {"artifact_max_project_mb", WN_CONF_T_INT, OFF(artifact_max_project_mb), "10240", 1, 1LL << 40,
     0, NULL, "artifact content stored per project, in MiB; uploads past it are refused"},
    {"tls_cert", WN_CONF_T_STR, OFF(tls_cert), "", 0, 0, 0, NULL,
     "tls+tcp listeners: the server's certificate chain (PEM)"},
    {"tls_key", WN_CONF_T_STR, OFF(tls_key), "", 0, 0, 0, NULL,
     "tls+tcp listeners: the certificate's private key (PEM)"},
    {"tls_client_ca", WN_CONF_T_STR, OFF(tls_client_ca), "", 0, 0, 0, NULL,
     "CA (PEM) that client certificates must chain to; a bad one is refused"},
    {"tls_require_client_cert", WN_CONF_T_BOOL, OFF(tls_require_client_cert), "false", 0, 0, 0,
     NULL, "refuse tls+tcp clients without a certificate from tls_client_ca"},
    {"insecure", WN_CONF_T_BOOL, OFF(insecure), "false", 0, 0, 0, NULL,
     "serve a non-loopback address without TLS or without tokens (warned)"},
    {"max_connections", WN_CONF_T_INT, OFF(max_connections), "0", 0, 1000000, 0, NULL,
     "connections served at once; 0: sized from the descriptor limit (ulimit -n)"},
    {"handshake_timeout_ms", WN_CONF_T_INT, OFF(handshake_timeout_ms), "10000", 100, 600000, 0,
     NULL, "a connection's handshake (TLS and SP) must come within this time"},
    {"idle_timeout_ms", WN_CONF_T_INT, OFF(idle_timeout_ms), "300000", 1000, 7LL * 24 * 3600 * 1000,
     0, NULL, "a connection with no request in flight or waiting is closed after this long"},
    {"max_unauthenticated_request", WN_CONF_T_INT, OFF(max_unauth_request), "1048576", 65536,
     64LL << 20, 0, NULL, "largest request before one of the connection's was authenticated"},
    {"http", WN_CONF_T_STR, OFF(http), "", 0, 0, 0, NULL,
     "HTTP listener (JSON API, dashboard, /metrics): HOST:PORT or https://HOST:PORT; empty: none"},
    {"http_cors_origins", WN_CONF_T_STRLIST, OFF(http_cors_origins), NULL, 0, 0, 0, NULL,
     "origins (https://host:port) whose pages may call the HTTP API besides its own; * any"},
    {"max_unauthenticated_bytes", WN_CONF_T_INT, OFF(max_unauth_bytes), "67108864", 1048576,
     1LL << 40, 0, NULL, "bytes all connections not yet authenticated may make wnd hold"},
};

void wn_srvconf_defaults(wn_srvconf *c)
{
	memset(c, 0, sizeof(*c));
	char *err = NULL;
	/* the defaults are text in the table: applying no mapping fills them */
	if (wn_conf_apply(NULL, NULL, srvconf_keys, WN_ARRAY_LEN(srvconf_keys), c, &err) != 0) {
		fprintf(stderr, "built-in defaults are invalid: %s\n", err);
		abort();
	}
}

/* srvconf_no_null refuses a key written without a value (`data:`), which
 * YAML reads as null and the key table as "the default": a value left out
 * by mistake, or by a template that had none to put there, would otherwise
 * serve ./wn-data or listen on the default address without a word. */
static int srvconf_no_null(const wn_conf_doc *doc, const wn_conf_node *root, char **err)
{
	for (size_t i = 0; i < root->n; i++) {
		const wn_conf_node *kn = root->items[2 * i], *vn = root->items[2 * i + 1];
		if (!wn_conf_is_null(vn))
			continue;
		const wn_conf_key *k = NULL;
		for (size_t j = 0; j < WN_ARRAY_LEN(srvconf_keys); j++)
			if (strcmp(srvconf_keys[j].name, kn->str) == 0)
				k = &srvconf_keys[j];
		if (k == NULL)
			continue; /* an unknown key: wn_conf_apply says so */
		const char *def = k->def;
		if (def == NULL || def[0] == '\0')
			*err = wn_conf_error(doc, vn,
			                     "'%s' has no value: give it one, or leave the "
			                     "key out for its default",
			                     kn->str);
		else
			*err = wn_conf_error(doc, vn,
			                     "'%s' has no value: give it one, or leave the "
			                     "key out for its default (%s)",
			                     kn->str, def);
		return WN_EINVAL;
	}
	return WN_OK;
}

int wn_srvconf_load(wn_srvconf *c, const char *path, char **err)
{
	wn_conf_doc *doc = NULL;
	int rv = wn_conf_load_file(path, &doc, err);
	if (rv != 0)
		return rv;
	const wn_conf_node *root = wn_conf_root(doc);
	if (root->kind != WN_CONF_MAP) {
		*err = wn_conf_error(doc, root, "expected a mapping of settings, got %s",
		                     wn_conf_kind_name(root->kind));
		wn_conf_free(doc);
		return WN_EINVAL;
	}
	rv = srvconf_no_null(doc, root, err);
	if (rv != 0) {
		wn_conf_free(doc);
		return rv;
	}
	wn_srvconf fresh;
	memset(&fresh, 0, sizeof(fresh));
	rv = wn_conf_apply(doc, root, srvconf_keys, WN_ARRAY_LEN(srvconf_keys), &fresh, err);
	wn_conf_free(doc);
	if (rv != 0) {
		wn_conf_release(srvconf_keys, WN_ARRAY_LEN(srvconf_keys), &fresh);
		return rv;
	}
	wn_srvconf_release(c);
	*c = fresh;
	return WN_OK;
}

int wn_srvconf_set(wn_srvconf *c, const char *key, const char *value, char **err)
{
	const wn_conf_key *k = NULL;
	for (size_t i = 0; i < WN_ARRAY_LEN(srvconf_keys); i++)
		if (strcmp(srvconf_keys[i].name, key) == 0)
			k = &srvconf_keys[i];
	if (k == NULL) {
		*err = wn_xasprintf("unknown setting %s", key);
		return WN_EINVAL;
	}
	/* the value as it is, checked with the same table, so checks and
	 * messages match the file's; not read as YAML, where a '#' would start
	 * a comment, an empty value would mean the default and a line break
	 * another key */
	wn_srvconf one;
	memset(&one, 0, sizeof(one));
	int rv = wn_conf_set_text(k, value, &one, err);
	if (rv != 0) {
		wn_conf_release(k, 1, &one);
		return rv;
	}
	/* move the one field over */
	wn_conf_release(k, 1, c);
	memcpy((char *)c + k->offset, (char *)&one + k->offset,
	       k->type == WN_CONF_T_STRLIST ? sizeof(wn_conf_strv)
	       : k->type == WN_CONF_T_INT   ? sizeof(int64_t)
	       : k->type == WN_CONF_T_BOOL  ? sizeof(bool)
	                                    : sizeof(char *));
	return WN_OK;
}

void wn_srvconf_release(wn_srvconf *c)
{
	wn_conf_release(srvconf_keys, WN_ARRAY_LEN(srvconf_keys), c);
}
