/* TokenService: create, list, revoke (admin only: methods.def). */
#include "svc.h"

#include "auth.h"
#include "clock.h"
#include "engine_state.h"
#include "jobs.h"
#include "queue.h"
#include "watch.h"

#include <stdio.h>
#include <string.h>

int wn_svc_token_create(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__CreateTokenRequest *rq = (const void *)in;
	if (rq->token == NULL)
		return wn_call_fail(c, WN_EINVAL, "the request names no token");
	char buf[256];
	const char *why = wn_token_check(rq->token, buf, sizeof(buf));
	if (why != NULL)
		return wn_call_fail(c, WN_EINVAL, "%s", why);
	if (wn_auth_has(c->e, rq->token->name))
		return wn_call_fail(c, WN_EEXIST, "token \"%s\" already exists", rq->token->name);
	if (rq->token->role != WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN && !wn_auth_enabled(c->e))
		return wn_call_fail(c, WN_ESTATE,
		                    "the server has no tokens yet: the first one turns them on, "
		                    "and with only a %s token no one could manage tokens; create "
		                    "an admin token first",
		                    wn_role_name((int)rq->token->role));
	Whatsnext__V1__Token *t = wn_arena_alloc(c->arena, sizeof(*t));
	*t = *rq->token;
	t->created_ms = wn_engine_now(c->e);
	t->created_by = (char *)(c->caller ? c->caller : "");
	char *secret = wn_arena_alloc(c->arena, WN_AUTH_SECRET_LEN);
	wn_auth_secret_new(secret);
	uint8_t *hash = wn_arena_alloc(c->arena, WN_AUTH_HASH_LEN);
	wn_auth_hash(secret, strlen(secret), hash);
	Whatsnext__V1__TokenRecord rec = WHATSNEXT__V1__TOKEN_RECORD__INIT;
	rec.token = t;
	rec.sha256.data = hash;
	rec.sha256.len = WN_AUTH_HASH_LEN;
	rec.first_job = wn_jobs_next_id(c->e);
	wn_batch *b = wn_batch_new();
	wn_records_token_put(b, &rec);
	int rv = wn_engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	if (!wn_auth_add(c->e, wn_auth_token_from(t, hash, rec.first_job)))
		return wn_call_fail(c, WN_EINTERNAL, "token \"%s\" was made twice", t->name);
	Whatsnext__V1__CreateTokenResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__create_token_response__init(r);
	r->token = t;
	r->secret = secret;
	*out = &r->base;
	return WN_OK;
}

int wn_svc_token_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	(void)in;
	Whatsnext__V1__ListTokensResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__list_tokens_response__init(r);
	r->tokens = wn_auth_list(c->e, c->arena, &r->n_tokens);
	*out = &r->base;
	return WN_OK;
}

int wn_svc_token_revoke(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__RevokeTokenRequest *rq = (const void *)in;
	if (strcmp(rq->name, WN_AUTH_BOOTSTRAP) == 0)
		return wn_call_fail(c, WN_EINVAL,
		                    "the bootstrap admin token is not a record: take "
		                    "admin_token_file out of wnd's config and restart it");
	const struct wn_token *tok = wn_auth_find(c->e, rq->name);
	if (tok == NULL)
		return wn_call_fail(c, WN_ENOTFOUND, "token \"%.140s\" not found", rq->name);
	if (wn_auth_is_boot_secret(c->e, tok))
		return wn_call_fail(
		    c, WN_ESTATE,
		    "token \"%s\" has the secret of the bootstrap admin token (wnd's "
		    "token setting or WN_TOKEN): revoked, its secret would still let "
		    "its holder in as an admin; start wnd with an admin_token_file "
		    "of another secret, then revoke it",
		    rq->name);
	if (wn_auth_last_admin(c->e, rq->name))
		return wn_call_fail(c, WN_ESTATE,
		                    "token \"%s\" is the last admin token (and there is no "
		                    "admin_token_file): without it no one could manage tokens, or, "
		                    "as the last token, every caller would be an admin; create "
		                    "another admin token first",
		                    rq->name);
	Whatsnext__V1__Token *t = wn_auth_fill(tok, c->arena);
	wn_batch *b = wn_batch_new();
	wn_records_token_del(b, rq->name);
	int rv = wn_engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	wn_auth_remove(c->e, rq->name);
	/* a fetch waiting under it since before gets no job, whatever the
	 * token's role: its next call is refused */
	wn_queue_waiters_revoked(c, rq->name);
	wn_watch_revoked(c, rq->name); /* and its waits end, refused */
	*out = &t->base;
	return WN_OK;
}
