/* auth_scope: what a request names (the scope column of methods.def),
 * checked against the caller's token and written for the audit log
 * (auth_scope.h). */
#include "auth_scope.h"

#include "engine_state.h"
#include "project.h"

#include <stdio.h>
#include <string.h>

/* One value a scope word names. */
typedef void (*scope_fn)(void *arg, char kind, const ProtobufCFieldDescriptor *f, const void *val);

/* scope_field_size is the size of one value of f in a repeated field. */
static size_t scope_field_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_INT64:
		return sizeof(uint64_t);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_INT32:
		return sizeof(uint32_t);
	default:
		return sizeof(void *);
	}
}

/* scope_path calls fn for each value the dotted field path (plen bytes)
 * reaches in msg, through messages and repeated fields. */
static void scope_path(const ProtobufCMessage *msg, const char *path, size_t plen, char kind,
                       scope_fn fn, void *arg)
{
	const char *dot = memchr(path, '.', plen);
	size_t n = dot != NULL ? (size_t)(dot - path) : plen;
	char name[64];
	if (n >= sizeof(name))
		return;
	memcpy(name, path, n);
	name[n] = '\0';
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
	if (f == NULL)
		return;
	const char *at = (const char *)msg + f->offset;
	size_t count = 1;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		count = *(const size_t *)((const char *)msg + f->quantifier_offset);
		at = *(const char *const *)at;
	}
	for (size_t i = 0; i < count; i++) {
		const void *v = at + i * scope_field_size(f);
		if (dot == NULL) {
			fn(arg, kind, f, v);
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)v;
			if (sub != NULL)
				scope_path(sub, dot + 1, plen - n - 1, kind, fn, arg);
		}
	}
}

/* scope_each calls fn for every value every word of scope names in msg. */
static void scope_each(const char *scope, const ProtobufCMessage *msg, scope_fn fn, void *arg)
{
	const char *w = scope;
	while (*w != '\0') {
		while (*w == ' ')
			w++;
		size_t len = strcspn(w, " ");
		if (len > 2 && w[1] == ':')
			scope_path(msg, w + 2, len - 2, w[0], fn, arg);
		w += len;
	}
}

bool wn_auth_scope_valid(const char *scope, const ProtobufCMessageDescriptor *d)
{
	const char *w = scope;
	while (*w != '\0') {
		while (*w == ' ')
			w++;
		size_t len = strcspn(w, " ");
		if (len == 0)
			break;
		if (len < 3 || w[1] != ':' || strchr("pPjswtd", w[0]) == NULL)
			return false;
		const ProtobufCMessageDescriptor *md = d;
		const ProtobufCFieldDescriptor *f = NULL;
		const char *p = w + 2, *end = w + len;
		while (p < end) {
			size_t n = strcspn(p, ". ");
			char name[64];
			if (md == NULL || n == 0 || n >= sizeof(name))
				return false;
			memcpy(name, p, n);
			name[n] = '\0';
			f = protobuf_c_message_descriptor_get_field_by_name(md, name);
			if (f == NULL)
				return false;
			md = f->type == PROTOBUF_C_TYPE_MESSAGE ? f->descriptor : NULL;
			p += n + (p[n] == '.');
		}
		bool id = w[0] == 'j' || w[0] == 's';
		if (f == NULL ||
		    (id ? f->type != PROTOBUF_C_TYPE_UINT64 : f->type != PROTOBUF_C_TYPE_STRING))
			return false;
		w += len;
	}
	return true;
}

/* What a check of one request learns. */
struct scope_check {
	struct call *c;
	const struct wn_token *who;
	int rv;
	bool named; /* a project was named: by name, job or sweep */
	bool every; /* a project left empty, meaning every project */
};

static bool token_has_project(const struct wn_token *who, const char *project)
{
	if (who->nprojects == 0)
		return true;
	for (size_t i = 0; i < who->nprojects; i++)
		if (strcmp(who->projects[i], project) == 0)
			return true;
	return false;
}

/* scope_project checks project, named by what (a job, a sweep, or NULL:
 * itself). */
static void scope_project(struct scope_check *k, const char *project, const char *what)
{
	k->named = true;
	if (k->rv != WN_OK || token_has_project(k->who, project))
		return;
	k->rv = wn_call_fail(k->c, WN_EPERM,
	                     "token \"%s\" is limited to its projects: %s%sproject \"%.140s\"%s "
	                     "not one of them",
	                     k->who->name, what ? what : "", what ? " belongs to " : "", project,
	                     what ? ", which is" : " is");
}

static void scope_one(void *arg, char kind, const ProtobufCFieldDescriptor *f, const void *v)
{
	struct scope_check *k = arg;
	(void)f;
	char what[64];
	if (kind == 'p' || kind == 'P') {
		const char *s = *(const char *const *)v;
		if (s != NULL && s[0] != '\0')
			scope_project(k, s, NULL);
		else if (kind == 'P')
			k->every = true;
	} else if (kind == 'j' && *(const uint64_t *)v != 0) {
		uint64_t id = *(const uint64_t *)v;
		const Job *j = wn_job_find(k->c, id);
		snprintf(what, sizeof(what), "job %llu", (unsigned long long)id);
		if (j != NULL)
			scope_project(k, j->project, what);
		else if (k->c->rec.read_err != 0 && k->rv == WN_OK)
			/* its project unknown: a read that works later must not pass it */
			k->rv =
			    wn_call_fail(k->c, WN_EUNAVAIL,
			                 "cannot read job %llu to check the token's projects "
			                 "(wnd's log says why); nothing was changed; retry later",
			                 (unsigned long long)id);
	} else if (kind == 's' && *(const uint64_t *)v != 0) {
		uint64_t id = *(const uint64_t *)v;
		const struct sweep *sw = wn_engine_sweep(k->c->e, id);
		snprintf(what, sizeof(what), "sweep %llu", (unsigned long long)id);
		if (sw != NULL)
			scope_project(k, sw->proj->name, what);
	} else if (kind == 'w' && k->who->role == WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER) {
		const char *s = *(const char *const *)v;
		if (k->rv == WN_OK && (s == NULL || !wn_auth_acts_as(k->who, s)))
			k->rv = wn_call_fail(k->c, WN_EPERM,
			                     "worker token \"%s\" may not act as worker \"%.140s\"",
			                     k->who->name, s ? s : "");
	}
}

int wn_auth_scope(struct call *c, const struct wn_token *who, const wn_method *m,
                  const ProtobufCMessage *in)
{
	if (who == NULL || who->role == WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN)
		return WN_OK;
	struct scope_check k = {.c = c, .who = who, .rv = WN_OK};
	scope_each(m->scope, in, scope_one, &k);
	/* every project: Stats answers with the token's own (wn_auth_sees) */
	if (k.rv == WN_OK && k.every && !k.named && who->nprojects > 0 &&
	    m != &wn_methods[WN_MID_QUEUE_STATS])
		k.rv = wn_call_fail(c, WN_EPERM,
		                    "token \"%s\" is limited to its projects: name one of them",
		                    who->name);
	return k.rv;
}

bool wn_auth_sees(struct call *c, const char *project)
{
	const struct wn_token *who = c->caller != NULL ? wn_auth_find(c->e, c->caller) : NULL;
	return who == NULL || who->role == WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN ||
	       token_has_project(who, project);
}

static const struct {
	char kind;
	const char *name;
} target_names[] = {{'p', "project"}, {'P', "project"}, {'j', "job"},      {'s', "sweep"},
                    {'w', "worker"},  {'t', "token"},   {'d', "directory"}};

static void target_one(void *arg, char kind, const ProtobufCFieldDescriptor *f, const void *v)
{
	wn_strbuf *b = arg;
	const char *name = "";
	for (size_t i = 0; i < WN_ARRAY_LEN(target_names); i++)
		if (target_names[i].kind == kind)
			name = target_names[i].name;
	bool id = f->type == PROTOBUF_C_TYPE_UINT64;
	const char *s = id ? NULL : *(const char *const *)v;
	if (id ? *(const uint64_t *)v == 0 : s == NULL || s[0] == '\0')
		return;
	if (b->len > 0)
		wn_strbuf_addc(b, ' ');
	if (id)
		wn_strbuf_addf(b, "%s=%llu", name, (unsigned long long)*(const uint64_t *)v);
	else
		wn_strbuf_addf(b, "%s=%.200s", name, s);
}

void wn_auth_target(const wn_method *m, const ProtobufCMessage *in, wn_strbuf *out)
{
	if (in != NULL)
		scope_each(m->scope, in, target_one, out);
}
