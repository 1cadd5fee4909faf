/* auth: who is calling. The named tokens (TokenRecord under a/NAME, loaded
 * at start, changed by TokenService), the bootstrap admin token (the secret in
 * admin_token_file, or the deprecated `token` setting), what each role may
 * call, and the audit log of what admins do (audit.c).
 *
 * A secret is never kept: the server holds its SHA-256, finds a token by the
 * hash of the bytes received (their exact length: "s\0junk" is not "s") and
 * compares the whole hash in constant time. A token is immutable once made;
 * a revoked one leaves the tables at once (the next call with it is
 * UNAUTHENTICATED) but is freed only at close, since a call admitted just
 * before may still point at it. The tables have their own lock: dispatch
 * identifies a caller before it takes the engine lock. */
#ifndef WN_AUTH_H
#define WN_AUTH_H

#include "arena.h"
#include "engine.h"
#include "map.h"
#include "methods.h"
#include "rules.h"
#include "whatsnext.pb-c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WN_AUTH_HASH_LEN 32
/* A secret made by wn_auth_secret_new: "wn_", 52 base32 characters, NUL. */
#define WN_AUTH_SECRET_LEN 56
/* The longest secret read from admin_token_file or sent in a request. */
#define WN_AUTH_SECRET_MAX 4096
/* The bootstrap admin token's name (no record may take it). */
#define WN_AUTH_BOOTSTRAP WN_TOKEN_BOOTSTRAP

struct wn_audit;

/* A token as the server holds it. */
struct wn_token {
	char *name;
	int role; /* TokenRole */
	char **projects;
	size_t nprojects; /* 0: every project */
	char **workers;
	size_t nworkers; /* worker: 0 means its own name */
	int64_t created_ms;
	uint64_t first_job; /* the next job id when it was made (0: not known) */
	char *created_by;
	uint8_t hash[WN_AUTH_HASH_LEN];
	struct wn_token *retired; /* next on the list of revoked tokens */
	bool revoked;             /* removed (under the lock of struct auth) */
};

/* The engine's part (engine_state.h). */
struct auth {
	pthread_rwlock_t lock; /* over byhash, byname and boot */
	wn_map *byhash;        /* hex of the secret's SHA-256 -> struct wn_token */
	wn_map *byname;        /* name -> struct wn_token (records only) */
	struct wn_token *boot; /* the bootstrap admin token, or NULL */
	struct wn_token *retired;
	struct wn_audit *audit;
	_Atomic uint64_t gen; /* one more at each token added or revoked */
};

/* wn_auth_init readies e's tables and the bootstrap admin token from
 * e->cfg.admin_token_file (refused if group or others may read or write it)
 * or e->cfg.token, and opens the audit log; *errmsg on failure. */
int wn_auth_init(wn_engine *e, char **errmsg);
/* wn_auth_open_audit opens the audit log (wn_audit_open), once the data
 * directory, where it is by default, exists. */
int wn_auth_open_audit(wn_engine *e, char **errmsg);
/* wn_auth_release frees every token and closes the audit log. */
void wn_auth_release(wn_engine *e);

/* wn_auth_enabled reports whether e has tokens: a bootstrap admin token or a
 * token record. Without, every call is let in (loopback and ipc use). */
bool wn_auth_enabled(wn_engine *e);

/* wn_auth_identify finds the token whose secret is the len bytes at secret:
 * WN_OK with *who (NULL when e has no tokens: anyone may call), or WN_EAUTH
 * with *why a static message. */
int wn_auth_identify(wn_engine *e, const uint8_t *secret, size_t len, const struct wn_token **who,
                     const char **why);

/* wn_auth_raw_token finds the token field of a Request envelope (req, len
 * bytes, which protobuf-c unpacked already) as sent: its bytes and exact
 * length (a NUL inside stays). *tok is NULL when there is none. */
void wn_auth_raw_token(const uint8_t *req, size_t len, const uint8_t **tok, size_t *toklen);

/* wn_auth_acts_as reports whether token (a struct wn_token) is a worker
 * token that may act as worker: one of its names or patterns, or its own
 * name when it has none. */
bool wn_auth_acts_as(const void *token, const char *worker);
/* wn_auth_find returns the token record named name, or NULL; a token
 * revoked meanwhile stays readable until e closes. */
const struct wn_token *wn_auth_find(wn_engine *e, const char *name);
/* wn_auth_allows reports whether who (NULL: tokens off) may call a method of
 * roles (WN_ROLES_*). */
bool wn_auth_allows(const struct wn_token *who, unsigned roles);
/* wn_auth_denied writes into buf (cap bytes) why who may not call method m:
 * its name, its role and the roles m needs. */
void wn_auth_denied(const struct wn_token *who, const wn_method *m, char *buf, size_t cap);

/* wn_auth_hash writes the SHA-256 of the len bytes at data into out. */
void wn_auth_hash(const void *data, size_t len, uint8_t out[WN_AUTH_HASH_LEN]);
/* wn_auth_equal compares n bytes of a and b in time that does not depend on
 * where they differ. */
bool wn_auth_equal(const uint8_t *a, const uint8_t *b, size_t n);
/* wn_auth_secret_matches reports whether the len bytes at secret hash to
 * hash, comparing in constant time. */
bool wn_auth_secret_matches(const uint8_t *secret, size_t len,
                            const uint8_t hash[WN_AUTH_HASH_LEN]);
/* wn_auth_secret_new writes a new random secret into out: "wn_" and 32
 * random bytes in base32 (WN_AUTH_SECRET_LEN bytes with the NUL). */
void wn_auth_secret_new(char out[WN_AUTH_SECRET_LEN]);

/* wn_auth_token_from builds a token from a record's fields, hash and first
 * job id (TokenRecord.first_job). */
struct wn_token *wn_auth_token_from(const Whatsnext__V1__Token *t, const uint8_t *hash,
                                    uint64_t first_job);
/* wn_auth_add makes tok a token of e (e takes it); false if its name or hash
 * is taken (tok is then freed). */
bool wn_auth_add(wn_engine *e, struct wn_token *tok);
/* wn_auth_remove revokes token name: false if there is no such record. */
bool wn_auth_remove(wn_engine *e, const char *name);
/* wn_auth_last_admin reports whether token record name is the last way in
 * as an admin: e has no bootstrap admin token and no other admin record. */
bool wn_auth_last_admin(wn_engine *e, const char *name);
/* wn_auth_is_boot_secret reports whether tok's secret is also the bootstrap
 * admin token's (the deprecated token setting or WN_TOKEN of wnd set to a
 * token's secret): revoked, it would still let its holder in, as an admin. */
bool wn_auth_is_boot_secret(wn_engine *e, const struct wn_token *tok);
/* wn_auth_has reports whether a token record is named name. */
bool wn_auth_has(wn_engine *e, const char *name);
/* wn_auth_list returns the token records of e, sorted by name, as Token
 * messages allocated from a (*n of them). */
Whatsnext__V1__Token **wn_auth_list(wn_engine *e, wn_arena *a, size_t *n);
/* wn_auth_fill returns tok as a Token message allocated from a. */
Whatsnext__V1__Token *wn_auth_fill(const struct wn_token *tok, wn_arena *a);

#endif
