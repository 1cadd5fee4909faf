#include "envelope.h"

#include "util.h"

#include <stdio.h>

char *wn_method_path(const ProtobufCServiceDescriptor *svc, unsigned i, char *buf, size_t n)
{
	snprintf(buf, n, "/%s/%s", svc->name, svc->methods[i].name);
	return buf;
}

uint8_t *wn_message_pack(const ProtobufCMessage *msg, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = wn_xmalloc(n);
	*len = protobuf_c_message_pack(msg, buf);
	return buf;
}
