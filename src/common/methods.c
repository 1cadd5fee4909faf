/* methods: the descriptor table of the protocol's method list. */
#include "methods.h"

#include <string.h>

const wn_method wn_methods[WN_METHOD_COUNT] = {
#define WN_METHOD(ID, Service, Method, svc_c, req_c, rep_c, handler, mflags, mroles, mscope)       \
	[WN_MID_##ID] = {.path = WN_PATH_##ID,                                                     \
	                 .service = #Service,                                                      \
	                 .name = #Method,                                                          \
	                 .svc = &whatsnext__v1__##svc_c##__descriptor,                             \
	                 .request = &whatsnext__v1__##req_c##__descriptor,                         \
	                 .reply = &whatsnext__v1__##rep_c##__descriptor,                           \
	                 .flags = (mflags),                                                        \
	                 .roles = (mroles),                                                        \
	                 .scope = (mscope)},
#include "methods.def"
#undef WN_METHOD
};

const wn_method *wn_method_find(const char *path)
{
	if (path == NULL)
		return NULL;
	for (size_t i = 0; i < WN_METHOD_COUNT; i++)
		if (strcmp(wn_methods[i].path, path) == 0)
			return &wn_methods[i];
	return NULL;
}
