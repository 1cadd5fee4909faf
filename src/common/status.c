#include "status.h"

#include "whatsnext.pb-c.h"

#include <string.h>

#define STATUS_PREFIX      "JOB_"
#define STATUS_UNSPECIFIED "_UNSPECIFIED"

const char *wn_status_name(int status)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&whatsnext__v1__job_status__descriptor, status);
	if (v == NULL)
		return "UNKNOWN";
	size_t n = strlen(v->name), u = strlen(STATUS_UNSPECIFIED);
	if (n >= u && strcmp(v->name + n - u, STATUS_UNSPECIFIED) == 0)
		return "UNSPECIFIED";
	size_t p = strlen(STATUS_PREFIX);
	return strncmp(v->name, STATUS_PREFIX, p) == 0 ? v->name + p : v->name;
}
