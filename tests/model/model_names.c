/* model_names: the pools of names the test draws from, the invalid ones,
 * and the variants of task resources and worker capacities. */
#include "model.h"

#include "pool.h"
#include "util.h"

#include <string.h>

static const char *const bad_names[] = {"", "-lead", "has space", "x/y", "caf\xc3\xa9"};

const char *model_bad_name(int64_t i)
{
	size_t n = WN_ARRAY_LEN(bad_names) + 1;
	size_t k = (size_t)((-i - 1) % (int64_t)n);
	if (k < WN_ARRAY_LEN(bad_names))
		return bad_names[k];
	static char longname[WN_NAME_MAX + 2];
	memset(longname, 'a', WN_NAME_MAX + 1);
	longname[WN_NAME_MAX + 1] = '\0';
	return longname;
}

const char *model_pname(int64_t i)
{
	static const char *const v[] = {"p0", "p1", "p2", "p3", "p4", "p5"};
	return i < 0 ? model_bad_name(i) : v[i % 6];
}

const char *model_tname(int64_t i)
{
	static const char *const v[] = {"t0", "t1", "t2", "t3"};
	return i < 0 ? model_bad_name(i) : v[i % 4];
}

const char *model_wname(int64_t i)
{
	static const char *const v[] = {"w0", "w1", "w2", "w3", "w4", "w5"};
	return i < 0 ? model_bad_name(i) : v[i % 6];
}

static Whatsnext__V1__Resources__LabelsEntry **labels_res(size_t n, const char *const *kv)
{
	Whatsnext__V1__Resources__LabelsEntry **v = pool_alloc((n + 1) * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i] = pool_alloc(sizeof(**v));
		whatsnext__v1__resources__labels_entry__init(v[i]);
		v[i]->key = (char *)kv[2 * i];
		v[i]->value = (char *)kv[2 * i + 1];
	}
	return v;
}

Whatsnext__V1__Resources *model_res_variant(int64_t v)
{
	static const char *const a100[] = {"gpu_type", "a100"};
	static const char *const zone[] = {"zone", "x"};
	static const char *const bad[] = {"-bad", "v"};
	static const char *const broken[] = {"zone", "eu\nwest"};
	static const char *const longval[] = {
	    "zone",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
	if (v == 0)
		return NULL;
	Whatsnext__V1__Resources *r = pool_alloc(sizeof(*r));
	whatsnext__v1__resources__init(r);
	switch (v) {
	case 1:
		r->cpu = 1;
		break;
	case 2:
		r->cpu = 2;
		r->memory_mb = 1024;
		break;
	case 3:
		r->gpu = 1;
		break;
	case 4:
		r->n_labels = 1;
		r->labels = labels_res(1, a100);
		break;
	case 5:
		r->cpu = 1;
		r->n_labels = 1;
		r->labels = labels_res(1, zone);
		break;
	case -1: /* an invalid label name */
		r->n_labels = 1;
		r->labels = labels_res(1, bad);
		break;
	case -3: /* a label value holding a line break */
		r->n_labels = 1;
		r->labels = labels_res(1, broken);
		break;
	default: /* a label value over 128 bytes */
		r->n_labels = 1;
		r->labels = labels_res(1, longval);
		break;
	}
	return r;
}

static Whatsnext__V1__Capacity__LabelsEntry **labels_cap(size_t n, const char *const *kv)
{
	Whatsnext__V1__Capacity__LabelsEntry **v = pool_alloc((n + 1) * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i] = pool_alloc(sizeof(**v));
		whatsnext__v1__capacity__labels_entry__init(v[i]);
		v[i]->key = (char *)kv[2 * i];
		v[i]->value = (char *)kv[2 * i + 1];
	}
	return v;
}

Whatsnext__V1__Capacity *model_cap_variant(int64_t v)
{
	static const char *const a100[] = {"gpu_type", "a100"};
	static const char *const both[] = {"gpu_type", "a100", "zone", "x"};
	static const char *const zone[] = {"zone", "x"};
	static const char *const bad[] = {"bad label", "v"};
	static const char *const broken[] = {"zone", "eu\twest"};
	static char *g1[] = {"g0"};
	static char *g2[] = {"g0", "g1"};
	static char *gbad[] = {""};
	if (v == 0)
		return NULL;
	Whatsnext__V1__Capacity *c = pool_alloc(sizeof(*c));
	whatsnext__v1__capacity__init(c);
	switch (v) {
	case 1:
		c->cpu = 2;
		c->memory_mb = 2048;
		break;
	case 2:
		c->cpu = 4;
		c->n_gpus = 1;
		c->gpus = g1;
		c->memory_mb = 4096;
		c->n_labels = 1;
		c->labels = labels_cap(1, a100);
		break;
	case 3:
		c->cpu = 1;
		c->n_labels = 1;
		c->labels = labels_cap(1, zone);
		break;
	case 4:
		c->cpu = 8;
		c->n_gpus = 2;
		c->gpus = g2;
		c->memory_mb = 16384;
		c->n_labels = 2;
		c->labels = labels_cap(2, both);
		break;
	case -1: /* an empty device id */
		c->n_gpus = 1;
		c->gpus = gbad;
		break;
	case -3: /* a label value holding a tab */
		c->n_labels = 1;
		c->labels = labels_cap(1, broken);
		break;
	default: /* an invalid label name */
		c->n_labels = 1;
		c->labels = labels_cap(1, bad);
		break;
	}
	return c;
}
