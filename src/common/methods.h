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
};

/* WN_PATH_<ID>: the method's path, "/whatsnext.v1.<Service>/<Method>", as
 * Request.method carries it (WN_PATH_JOB_SUBMIT). */
#define WN_METHOD(ID, Service, Method, service, request, reply, handler, flags)                    \
	static const char WN_PATH_##ID[] = "/whatsnext.v1." #Service "/" #Method;
#include "methods.def"
#undef WN_METHOD

/* WN_MID_<ID>: the method's index in wn_methods (WN_MID_JOB_SUBMIT). */
enum wn_method_id {
#define WN_METHOD(ID, Service, Method, service, request, reply, handler, flags) WN_MID_##ID,
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
	int flags; /* WN_METHOD_* */
} wn_method;

/* wn_methods is the method list in methods.def's order, indexed by WN_MID_*. */
extern const wn_method wn_methods[WN_METHOD_COUNT];

/* wn_method_find returns the method whose path is path, or NULL. */
const wn_method *wn_method_find(const char *path);

#endif
