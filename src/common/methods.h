/* methods: the protocol's method list (methods.def) as C names: a path
 * constant per method, an index per method, and a descriptor table giving
 * each method's request and reply types. */
#ifndef WN_METHODS_H
#define WN_METHODS_H

#include "whatsnext.pb-c.h"

/* Server flags of a method (the flags column of methods.def). */
enum {
	WN_METHOD_MUTATES = 1,  /* answered once durable, remembered by request id */
	WN_METHOD_UNLOCKED = 2, /* runs without the engine lock */
	WN_METHOD_AUDIT = 4,    /* every call goes to the audit log (audit.h) */
};

/* Who may call a method (the roles column of methods.def): a set of the
 * .proto's TokenRole values, role r being bit (1 << r). */
#define WN_ROLE_BIT(r)  (1u << (r))
#define WN_ROLES_ADMIN  WN_ROLE_BIT(WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN)
#define WN_ROLES_USER   (WN_ROLES_ADMIN | WN_ROLE_BIT(WHATSNEXT__V1__TOKEN_ROLE__ROLE_USER))
#define WN_ROLES_READ   (WN_ROLES_USER | WN_ROLE_BIT(WHATSNEXT__V1__TOKEN_ROLE__ROLE_READER))
#define WN_ROLES_TASKS  (WN_ROLES_READ | WN_ROLE_BIT(WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER))
#define WN_ROLES_WORKER (WN_ROLES_ADMIN | WN_ROLE_BIT(WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER))

/* WN_PATH_<ID>: the method's path, "/whatsnext.v1.<Service>/<Method>", as
 * Request.method carries it (WN_PATH_JOB_SUBMIT). */
#define WN_METHOD(ID, Service, Method, service, request, reply, handler, flags, roles, scope)      \
	static const char WN_PATH_##ID[] = "/whatsnext.v1." #Service "/" #Method;
#include "methods.def"
#undef WN_METHOD

/* WN_MID_<ID>: the method's index in wn_methods (WN_MID_JOB_SUBMIT). */
enum wn_method_id {
#define WN_METHOD(ID, Service, Method, service, request, reply, handler, flags, roles, scope)      \
	WN_MID_##ID,
#include "methods.def"
#undef WN_METHOD
	WN_METHOD_COUNT
};

/* One protocol method. */
typedef struct wn_method {
	const char *path;    /* "/whatsnext.v1.JobService/Submit" */
	const char *service; /* "JobService" */
	const char *name;    /* "Submit" */
	const ProtobufCServiceDescriptor *svc;
	const ProtobufCMessageDescriptor *request, *reply;
	int flags;         /* WN_METHOD_* */
	unsigned roles;    /* WN_ROLES_*: who may call it */
	const char *scope; /* what a request names: the scope column of methods.def */
} wn_method;

/* wn_methods is the method list in methods.def's order, indexed by WN_MID_*. */
extern const wn_method wn_methods[WN_METHOD_COUNT];

/* wn_method_find returns the method whose path is path, or NULL. */
const wn_method *wn_method_find(const char *path);

#endif
