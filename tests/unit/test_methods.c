/* The method list (methods.def) against the protocol: every rpc of every
 * service of proto/whatsnext.proto is listed once, with the types the .proto
 * and protoc-c's service descriptors give it; docs/protocol.md's table of
 * methods lists each once, with the same types. */
#include "auth_scope.h"
#include "methods.h"
#include "test.h"

#include <ctype.h>

#define PROTO_MAX (256u * 1024u)

/* proto_read returns proto/whatsnext.proto, comments blanked out. */
static char *proto_read(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/proto/whatsnext.proto",
	         getenv("WN_SRC") ? getenv("WN_SRC") : SRC_DIR);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	char *text = calloc(1, PROTO_MAX + 1);
	CHECK(text != NULL);
	size_t n = fread(text, 1, PROTO_MAX, f);
	fclose(f);
	CHECK(n > 0 && n < PROTO_MAX);
	for (char *p = text; (p = strstr(p, "//")) != NULL;)
		while (*p != '\0' && *p != '\n')
			*p++ = ' ';
	return text;
}

/* proto_word copies the identifier at *p (after blanks) into w and moves on. */
static bool proto_word(const char **p, char *w, size_t n)
{
	const char *s = *p;
	while (isspace((unsigned char)*s) || *s == '(' || *s == ')')
		s++;
	size_t k = 0;
	while ((isalnum((unsigned char)*s) || *s == '_' || *s == '.') && k + 1 < n)
		w[k++] = *s++;
	w[k] = '\0';
	*p = s;
	return k > 0;
}

/* service_method returns svc's method named name, or NULL. */
static const ProtobufCMethodDescriptor *service_method(const ProtobufCServiceDescriptor *svc,
                                                       const char *name)
{
	for (unsigned k = 0; k < svc->n_methods; k++)
		if (strcmp(svc->methods[k].name, name) == 0)
			return &svc->methods[k];
	return NULL;
}

TEST(every_rpc_of_the_proto_is_listed_once_with_its_types)
{
	char *text = proto_read();
	int seen[WN_METHOD_COUNT] = {0};
	int rpcs = 0;
	char service[128] = "";
	for (const char *p = text; *p != '\0';) {
		char w[128];
		if (!proto_word(&p, w, sizeof(w))) {
			p++;
			continue;
		}
		if (strcmp(w, "service") == 0) {
			CHECK(proto_word(&p, service, sizeof(service)));
		} else if (strcmp(w, "rpc") == 0) {
			char name[128], req[128], kw[128], rep[128], path[300];
			CHECK(service[0] != '\0');
			CHECK(proto_word(&p, name, sizeof(name)) &&
			      proto_word(&p, req, sizeof(req)));
			CHECK(proto_word(&p, kw, sizeof(kw)) && strcmp(kw, "returns") == 0);
			CHECK(proto_word(&p, rep, sizeof(rep)));
			snprintf(path, sizeof(path), "/whatsnext.v1.%s/%s", service, name);
			const wn_method *m = wn_method_find(path);
			if (m == NULL)
				wn_test_fail(__FILE__, __LINE__, "%s is not in methods.def", path);
			CHECK(m != NULL);
			CHECK_EQ_STR(m->service, service);
			CHECK_EQ_STR(m->name, name);
			CHECK_EQ_STR(m->request->short_name, req);
			CHECK_EQ_STR(m->reply->short_name, rep);
			seen[m - wn_methods]++;
			rpcs++;
		}
	}
	free(text);
	CHECK(rpcs > 0);
	CHECK_EQ_INT(rpcs, WN_METHOD_COUNT);
	for (size_t i = 0; i < WN_METHOD_COUNT; i++) {
		if (seen[i] != 1)
			wn_test_fail(__FILE__, __LINE__, "%s is in the .proto %d times",
			             wn_methods[i].path, seen[i]);
		CHECK_EQ_INT(seen[i], 1);
	}
}

TEST(each_row_matches_the_service_descriptor)
{
	for (size_t i = 0; i < WN_METHOD_COUNT; i++) {
		const wn_method *m = &wn_methods[i];
		char svc[160], path[300];
		snprintf(svc, sizeof(svc), "whatsnext.v1.%s", m->service);
		CHECK_EQ_STR(m->svc->name, svc);
		snprintf(path, sizeof(path), "/%s/%s", m->svc->name, m->name);
		CHECK_EQ_STR(m->path, path);
		const ProtobufCMethodDescriptor *md = service_method(m->svc, m->name);
		CHECK(md != NULL);
		CHECK(md->input == m->request);
		CHECK(md->output == m->reply);
		CHECK(wn_method_find(m->path) == m);
		CHECK((m->flags & ~(WN_METHOD_MUTATES | WN_METHOD_UNLOCKED | WN_METHOD_AUDIT)) ==
		      0);
	}
}

/* Every method names who may call it: admin always, and only known roles. */
TEST(each_row_names_its_roles_and_a_valid_scope)
{
	unsigned known = WN_ROLES_TASKS | WN_ROLES_WORKER;
	for (size_t i = 0; i < WN_METHOD_COUNT; i++) {
		const wn_method *m = &wn_methods[i];
		CHECK(m->roles & WN_ROLES_ADMIN);
		CHECK((m->roles & ~known) == 0);
		if (!wn_auth_scope_valid(m->scope, m->request))
			wn_test_fail(__FILE__, __LINE__, "%s: scope \"%s\" does not fit %s",
			             m->path, m->scope, m->request->name);
		/* a method that changes anything but names no project is admin-only,
		 * or a worker's (named by its worker) */
		if ((m->flags & WN_METHOD_MUTATES) &&
		    (m->roles & WN_ROLE_BIT(WHATSNEXT__V1__TOKEN_ROLE__ROLE_USER)))
			CHECK(strstr(m->scope, "p:") != NULL || strstr(m->scope, "j:") != NULL ||
			      strstr(m->scope, "s:") != NULL);
	}
	/* a scope that does not fit its type is caught */
	CHECK(!wn_auth_scope_valid("p:nosuch", &whatsnext__v1__submit_request__descriptor));
	CHECK(!wn_auth_scope_valid("j:job.project", &whatsnext__v1__submit_request__descriptor));
	CHECK(!wn_auth_scope_valid("q:job.project", &whatsnext__v1__submit_request__descriptor));
	CHECK(wn_auth_scope_valid("p:job.project", &whatsnext__v1__submit_request__descriptor));
}

TEST(docs_protocol_lists_every_method_with_its_types)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/docs/protocol.md",
	         getenv("WN_SRC") ? getenv("WN_SRC") : SRC_DIR);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	int seen[WN_METHOD_COUNT] = {0};
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL) {
		/* | `/whatsnext.v1.JobService/Submit` | `SubmitRequest` | `SubmitResponse` | */
		char mpath[160], req[128], rep[128];
		if (sscanf(line, "| `%159[^`]` | `%127[^`]` | `%127[^`]` |", mpath, req, rep) !=
		        3 ||
		    strncmp(mpath, "/whatsnext.v1.", 14) != 0)
			continue;
		const wn_method *m = wn_method_find(mpath);
		if (m == NULL)
			wn_test_fail(__FILE__, __LINE__, "docs/protocol.md lists %s, not a method",
			             mpath);
		CHECK(m != NULL);
		CHECK_EQ_STR(m->request->short_name, req);
		CHECK_EQ_STR(m->reply->short_name, rep);
		seen[m - wn_methods]++;
	}
	fclose(f);
	for (size_t i = 0; i < WN_METHOD_COUNT; i++) {
		if (seen[i] != 1)
			wn_test_fail(__FILE__, __LINE__, "docs/protocol.md lists %s %d times",
			             wn_methods[i].path, seen[i]);
		CHECK_EQ_INT(seen[i], 1);
	}
}

TEST(path_constants_and_lookup)
{
	CHECK_EQ_STR(WN_PATH_JOB_SUBMIT, "/whatsnext.v1.JobService/Submit");
	CHECK_EQ_STR(WN_PATH_QUEUE_FETCH, "/whatsnext.v1.QueueService/Fetch");
	CHECK_EQ_STR(wn_methods[WN_MID_JOB_SUBMIT].path, WN_PATH_JOB_SUBMIT);
	CHECK(wn_methods[WN_MID_JOB_SUBMIT].request == &whatsnext__v1__submit_request__descriptor);
	CHECK(wn_methods[WN_MID_ADMIN_BACKUP].flags == (WN_METHOD_MUTATES | WN_METHOD_UNLOCKED));
	CHECK(wn_methods[WN_MID_JOB_GET].flags == 0);
	CHECK(wn_method_find("/whatsnext.v1.JobService/Explode") == NULL);
	CHECK(wn_method_find("/whatsnext.v2.JobService/Submit") == NULL);
	CHECK(wn_method_find("") == NULL);
	CHECK(wn_method_find(NULL) == NULL);
}

TEST_MAIN()
