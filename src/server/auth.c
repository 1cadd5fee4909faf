/* auth: the tokens in memory, the bootstrap admin token, identifying a
 * caller and what its role may call (auth.h). */
#include "auth.h"

#include "audit.h"
#include "engine_state.h"
#include "kit.h"
#include "log.h"
#include "util.h"

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

void wn_auth_hash(const void *data, size_t len, uint8_t out[WN_AUTH_HASH_LEN])
{
#if MBEDTLS_VERSION_MAJOR >= 3
	int rv = mbedtls_sha256(data, len, out, 0);
#else
	int rv = mbedtls_sha256_ret(data, len, out, 0);
#endif
	if (rv != 0) {
		fprintf(stderr, "sha-256 failed (%d)\n", rv);
		abort();
	}
}

bool wn_auth_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= (uint8_t)(a[i] ^ b[i]);
	return diff == 0;
}

bool wn_auth_secret_matches(const uint8_t *secret, size_t len, const uint8_t hash[WN_AUTH_HASH_LEN])
{
	uint8_t h[WN_AUTH_HASH_LEN];
	wn_auth_hash(secret, len, h);
	return wn_auth_equal(h, hash, WN_AUTH_HASH_LEN);
}

void wn_auth_secret_new(char out[WN_AUTH_SECRET_LEN])
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t raw[32];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	memcpy(out, "wn_", 3);
	size_t o = 3;
	unsigned acc = 0, bits = 0;
	for (size_t i = 0; i < sizeof(raw); i++) {
		acc = acc << 8 | raw[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	memset(raw, 0, sizeof(raw));
}

/* hash_hex writes the hex of hash into out (65 bytes). */
static void hash_hex(const uint8_t hash[WN_AUTH_HASH_LEN], char out[2 * WN_AUTH_HASH_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < WN_AUTH_HASH_LEN; i++) {
		out[2 * i] = digits[hash[i] >> 4];
		out[2 * i + 1] = digits[hash[i] & 15];
	}
	out[2 * WN_AUTH_HASH_LEN] = '\0';
}

static char **strv_dup(char **v, size_t n)
{
	char **out = wn_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out[i] = wn_xstrdup(v[i]);
	return out;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static void token_free(struct wn_token *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->created_by);
	strv_free(t->projects, t->nprojects);
	strv_free(t->workers, t->nworkers);
	free(t);
}

struct wn_token *wn_auth_token_from(const Whatsnext__V1__Token *t, const uint8_t *hash,
                                    uint64_t first_job)
{
	struct wn_token *tok = wn_xcalloc(1, sizeof(*tok));
	tok->name = wn_xstrdup(t->name);
	tok->role = (int)t->role;
	tok->projects = strv_dup(t->projects, t->n_projects);
	tok->nprojects = t->n_projects;
	tok->workers = strv_dup(t->workers, t->n_workers);
	tok->nworkers = t->n_workers;
	tok->created_ms = t->created_ms;
	tok->first_job = first_job;
	tok->created_by = wn_xstrdup(t->created_by ? t->created_by : "");
	memcpy(tok->hash, hash, WN_AUTH_HASH_LEN);
	return tok;
}

/* auth_boot_secret tells whether tok's secret is the bootstrap admin
 * token's (a's lock held). */
static bool auth_boot_secret(const struct auth *a, const struct wn_token *tok)
{
	return a->boot != NULL && wn_auth_equal(a->boot->hash, tok->hash, WN_AUTH_HASH_LEN);
}

bool wn_auth_add(wn_engine *e, struct wn_token *tok)
{
	struct auth *a = &e->auth;
	char hex[2 * WN_AUTH_HASH_LEN + 1];
	hash_hex(tok->hash, hex);
	pthread_rwlock_wrlock(&a->lock);
	bool taken =
	    wn_map_get_str(a->byname, tok->name) != NULL || wn_map_get_str(a->byhash, hex) != NULL;
	if (!taken) {
		wn_map_put_str(a->byname, tok->name, tok);
		wn_map_put_str(a->byhash, hex, tok);
		atomic_fetch_add(&a->gen, 1);
	}
	bool boot = !taken && auth_boot_secret(a, tok);
	pthread_rwlock_unlock(&a->lock);
	if (boot)
		wn_warn("token %s has the secret of the bootstrap admin token (the token setting "
		        "or WN_TOKEN): revoking it would not stop its secret; give wnd an "
		        "admin_token_file of its own",
		        tok->name);
	if (taken)
		token_free(tok);
	return !taken;
}

bool wn_auth_is_boot_secret(wn_engine *e, const struct wn_token *tok)
{
	pthread_rwlock_rdlock(&e->auth.lock);
	bool same = auth_boot_secret(&e->auth, tok);
	pthread_rwlock_unlock(&e->auth.lock);
	return same;
}

bool wn_auth_remove(wn_engine *e, const char *name)
{
	struct auth *a = &e->auth;
	pthread_rwlock_wrlock(&a->lock);
	struct wn_token *tok = wn_map_del_str(a->byname, name);
	if (tok != NULL) {
		char hex[2 * WN_AUTH_HASH_LEN + 1];
		hash_hex(tok->hash, hex);
		wn_map_del_str(a->byhash, hex);
		tok->retired = a->retired;
		a->retired = tok;
		tok->revoked = true;
		atomic_fetch_add(&a->gen, 1);
	}
	pthread_rwlock_unlock(&a->lock);
	return tok != NULL;
}

bool wn_auth_has(wn_engine *e, const char *name)
{
	pthread_rwlock_rdlock(&e->auth.lock);
	bool has = wn_map_get_str(e->auth.byname, name) != NULL;
	pthread_rwlock_unlock(&e->auth.lock);
	return has;
}

bool wn_auth_last_admin(wn_engine *e, const char *name)
{
	struct auth *a = &e->auth;
	size_t pos = 0, others = 0;
	void *val;
	bool admin = false;
	pthread_rwlock_rdlock(&a->lock);
	while (a->boot == NULL && wn_map_next(a->byname, &pos, NULL, NULL, &val)) {
		const struct wn_token *t = val;
		if (t->role != WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN)
			continue;
		if (strcmp(t->name, name) == 0)
			admin = true;
		else
			others++;
	}
	pthread_rwlock_unlock(&a->lock);
	return admin && others == 0;
}

bool wn_auth_enabled(wn_engine *e)
{
	pthread_rwlock_rdlock(&e->auth.lock);
	bool on = e->auth.boot != NULL || wn_map_count(e->auth.byname) > 0;
	pthread_rwlock_unlock(&e->auth.lock);
	return on;
}

int wn_auth_identify(wn_engine *e, const uint8_t *secret, size_t len, const struct wn_token **who,
                     const char **why)
{
	struct auth *a = &e->auth;
	*who = NULL;
	pthread_rwlock_rdlock(&a->lock);
	bool on = a->boot != NULL || wn_map_count(a->byname) > 0;
	pthread_rwlock_unlock(&a->lock);
	if (!on) /* no tokens: nothing to hash a secret against */
		return WN_OK;
	uint8_t h[WN_AUTH_HASH_LEN];
	wn_auth_hash(secret != NULL ? secret : (const uint8_t *)"", len, h);
	char hex[2 * WN_AUTH_HASH_LEN + 1];
	hash_hex(h, hex);
	pthread_rwlock_rdlock(&a->lock);
	on = a->boot != NULL || wn_map_count(a->byname) > 0; /* the last token may be gone */
	const struct wn_token *tok = NULL;
	if (on && len > 0 && len <= WN_AUTH_SECRET_MAX) {
		tok = wn_map_get_str(a->byhash, hex);
		if (tok != NULL && !wn_auth_equal(tok->hash, h, WN_AUTH_HASH_LEN))
			tok = NULL;
		if (tok == NULL && a->boot != NULL &&
		    wn_auth_equal(a->boot->hash, h, WN_AUTH_HASH_LEN))
			tok = a->boot;
	}
	pthread_rwlock_unlock(&a->lock);
	if (!on)
		return WN_OK;
	if (tok == NULL) {
		*why = len == 0 ? "this server requires a token" : "unknown or revoked token";
		return WN_EAUTH;
	}
	*who = tok;
	return WN_OK;
}

bool wn_engine_auth_holds(wn_engine *e, const void *who, uint64_t *gen)
{
	struct auth *a = &e->auth;
	uint64_t now = atomic_load(&a->gen);
	if (now == *gen)
		return true;
	const struct wn_token *tok = who;
	pthread_rwlock_rdlock(&a->lock);
	bool holds = tok != NULL ? !tok->revoked : a->boot == NULL && wn_map_count(a->byname) == 0;
	pthread_rwlock_unlock(&a->lock);
	if (holds)
		*gen = now;
	return holds;
}

bool wn_auth_acts_as(const void *token, const char *worker)
{
	const struct wn_token *who = token;
	if (who->role != WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER || worker == NULL)
		return false;
	if (who->nworkers == 0)
		return strcmp(who->name, worker) == 0;
	for (size_t i = 0; i < who->nworkers; i++)
		if (fnmatch(who->workers[i], worker, 0) == 0)
			return true;
	return false;
}

const struct wn_token *wn_auth_find(wn_engine *e, const char *name)
{
	pthread_rwlock_rdlock(&e->auth.lock);
	const struct wn_token *tok = wn_map_get_str(e->auth.byname, name);
	pthread_rwlock_unlock(&e->auth.lock);
	return tok;
}

bool wn_auth_allows(const struct wn_token *who, unsigned roles)
{
	return who == NULL || (roles & WN_ROLE_BIT((unsigned)who->role)) != 0;
}

void wn_auth_denied(const struct wn_token *who, const wn_method *m, char *buf, size_t cap)
{
	const char *need[8];
	size_t n = 0;
	for (int r = 1; wn_role_name(r)[0] != '\0'; r++)
		if (m->roles & WN_ROLE_BIT((unsigned)r))
			need[n++] = wn_role_name(r);
	char list[64] = "";
	for (size_t i = 0; i < n; i++) {
		size_t o = strlen(list);
		snprintf(list + o, sizeof(list) - o, "%s%s",
		         i == 0       ? ""
		         : i + 1 == n ? " or "
		                      : ", ",
		         need[i]);
	}
	snprintf(buf, cap, "token \"%s\" has role %s, which may not call %s/%s: it needs role %s",
	         who->name, wn_role_name(who->role), m->service, m->name, list);
}

void wn_auth_raw_token(const uint8_t *req, size_t len, const uint8_t **tok, size_t *toklen)
{
	*tok = NULL;
	*toklen = 0;
	size_t i = 0;
	while (i < len) {
		uint64_t key = 0, v = 0;
		for (int sh = 0; i < len && sh < 64; sh += 7) {
			key |= (uint64_t)(req[i] & 0x7f) << sh;
			if (!(req[i++] & 0x80))
				break;
		}
		int wt = (int)(key & 7);
		if (wt == 0 || wt == 2)
			for (int sh = 0; i < len && sh < 64; sh += 7) {
				v |= (uint64_t)(req[i] & 0x7f) << sh;
				if (!(req[i++] & 0x80))
					break;
			}
		if (wt == 1 || wt == 5)
			v = wt == 1 ? 8 : 4;
		if (wt == 1 || wt == 2 || wt == 5) {
			if (v > len - i)
				return;
			if (wt == 2 && key >> 3 == 4) {
				*tok = req + i; /* the last one counts, as for protobuf-c */
				*toklen = (size_t)v;
			}
			i += (size_t)v;
		} else if (wt != 0) {
			return;
		}
	}
}

Whatsnext__V1__Token *wn_auth_fill(const struct wn_token *tok, wn_arena *a)
{
	Whatsnext__V1__Token *t = wn_arena_alloc(a, sizeof(*t));
	whatsnext__v1__token__init(t);
	t->name = wn_arena_strdup(a, tok->name);
	t->role = (Whatsnext__V1__TokenRole)tok->role;
	t->projects = wn_arena_alloc(a, (tok->nprojects + 1) * sizeof(char *));
	for (size_t i = 0; i < tok->nprojects; i++)
		t->projects[i] = wn_arena_strdup(a, tok->projects[i]);
	t->n_projects = tok->nprojects;
	t->workers = wn_arena_alloc(a, (tok->nworkers + 1) * sizeof(char *));
	for (size_t i = 0; i < tok->nworkers; i++)
		t->workers[i] = wn_arena_strdup(a, tok->workers[i]);
	t->n_workers = tok->nworkers;
	t->created_ms = tok->created_ms;
	t->created_by = wn_arena_strdup(a, tok->created_by);
	return t;
}

static int token_by_name(const void *x, const void *y)
{
	const Whatsnext__V1__Token *const *a = x, *const *b = y;
	return strcmp((*a)->name, (*b)->name);
}

Whatsnext__V1__Token **wn_auth_list(wn_engine *e, wn_arena *a, size_t *n)
{
	pthread_rwlock_rdlock(&e->auth.lock);
	size_t cnt = wn_map_count(e->auth.byname);
	Whatsnext__V1__Token **v = wn_arena_alloc(a, (cnt + 1) * sizeof(*v));
	size_t pos = 0, k = 0;
	void *val;
	while (wn_map_next(e->auth.byname, &pos, NULL, NULL, &val))
		v[k++] = wn_auth_fill(val, a);
	pthread_rwlock_unlock(&e->auth.lock);
	qsort(v, k, sizeof(*v), token_by_name);
	*n = k;
	return v;
}

/* read_secret_file reads the admin secret from path (wn_secret_file_read:
 * its first line, the file its owner's only), at least 16 characters. */
static int read_secret_file(const char *path, char **out, char **errmsg)
{
	int rv = wn_secret_file_read(path, "admin_token_file", out, errmsg);
	if (rv != WN_OK)
		return rv;
	size_t len = strlen(*out);
	if (len < 16 || len > WN_AUTH_SECRET_MAX) {
		*errmsg = wn_xasprintf("admin_token_file %s must hold one secret of 16 to %d "
		                       "characters on its first line",
		                       path, WN_AUTH_SECRET_MAX);
		explicit_bzero(*out, len);
		free(*out);
		*out = NULL;
		return WN_EINVAL;
	}
	return WN_OK;
}

/* auth_boot sets the bootstrap admin token from secret. */
static void auth_boot(struct auth *a, const char *secret)
{
	Whatsnext__V1__Token t = WHATSNEXT__V1__TOKEN__INIT;
	t.name = (char *)WN_AUTH_BOOTSTRAP;
	t.role = WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN;
	uint8_t h[WN_AUTH_HASH_LEN];
	wn_auth_hash(secret, strlen(secret), h);
	a->boot = wn_auth_token_from(&t, h, 0);
}

int wn_auth_init(wn_engine *e, char **errmsg)
{
	struct auth *a = &e->auth;
	pthread_rwlock_init(&a->lock, NULL);
	atomic_store(&a->gen, 1); /* 0: never checked (wn_engine_auth_holds) */
	a->byhash = wn_map_new_str();
	a->byname = wn_map_new_str();
	const char *file = e->cfg.admin_token_file;
	const char *legacy = e->cfg.token;
	if (file != NULL && file[0] != '\0') {
		if (legacy != NULL && legacy[0] != '\0') {
			*errmsg = wn_xasprintf("admin_token_file and the deprecated token setting "
			                       "(or WN_TOKEN) both name the admin token: keep "
			                       "admin_token_file");
			return WN_EINVAL;
		}
		char *secret = NULL;
		int rv = read_secret_file(file, &secret, errmsg);
		if (rv != WN_OK)
			return rv;
		auth_boot(a, secret);
		memset(secret, 0, strlen(secret));
		free(secret);
	} else if (legacy != NULL && legacy[0] != '\0') {
		wn_warn("the token setting (or WN_TOKEN) is deprecated: it names the admin token; "
		        "use admin_token_file");
		auth_boot(a, legacy);
	}
	return wn_audit_check(e->cfg.audit_log, e->cfg.data_dir, errmsg);
}

int wn_auth_open_audit(wn_engine *e, char **errmsg)
{
	return wn_audit_open(&e->auth.audit, e->cfg.audit_log, e->cfg.data_dir, errmsg);
}

void wn_auth_release(wn_engine *e)
{
	struct auth *a = &e->auth;
	if (a->byname == NULL)
		return;
	size_t pos = 0;
	void *val;
	while (wn_map_next(a->byname, &pos, NULL, NULL, &val))
		token_free(val);
	while (a->retired != NULL) {
		struct wn_token *t = a->retired;
		a->retired = t->retired;
		token_free(t);
	}
	token_free(a->boot);
	wn_map_free(a->byname);
	wn_map_free(a->byhash);
	wn_audit_close(a->audit);
	pthread_rwlock_destroy(&a->lock);
	memset(a, 0, sizeof(*a));
}
