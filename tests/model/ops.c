/* ops: names and the text form of operations. */
#include "ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP_NAME(k, n) n,
static const char *const op_names[] = {OP_KINDS(OP_NAME)};
#undef OP_NAME

const char *op_name(int kind)
{
	return kind >= 0 && kind < OP_NKINDS ? op_names[kind] : "?";
}

void op_format(const op *o, char *buf, size_t len)
{
	int last = OP_NARGS - 1;
	while (last >= 0 && o->a[last] == 0)
		last--;
	size_t n = (size_t)snprintf(buf, len, "%s %016" PRIx64, op_name(o->kind), o->reqid);
	for (int i = 0; i <= last && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " %" PRId64, o->a[i]);
}

bool op_parse(const char *line, op *o)
{
	memset(o, 0, sizeof(*o));
	o->code = -1;
	char name[64];
	int used = 0;
	if (sscanf(line, "%63s %" SCNx64 "%n", name, &o->reqid, &used) != 2)
		return false;
	o->kind = -1;
	for (int k = 0; k < OP_NKINDS; k++)
		if (strcmp(name, op_names[k]) == 0)
			o->kind = k;
	if (o->kind < 0)
		return false;
	const char *p = line + used;
	for (int i = 0; i < OP_NARGS; i++) {
		char *end;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '\n' || *p == '#')
			return true;
		o->a[i] = strtoll(p, &end, 10);
		if (end == p)
			return false;
		p = end;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '\0' || *p == '\n' || *p == '#';
}
