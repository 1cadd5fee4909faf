/* map: linear probing over a power-of-two table with backward-shift deletion
 * (no tombstones, so lookups never slow down after many deletes).
 *
 * u64 maps: a slot is {key, val}; key 0 marks an empty slot, so the entry
 * for key 0 itself lives beside the table (has_zero, zero_val).
 * str maps: a slot is {key copy, val, hash}; a NULL key marks an empty slot
 * and the stored hash spares most strcmp calls and all rehashing on growth.
 * The table grows at 3/4 load; it never shrinks. */
#include "map.h"

#include "util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define MAP_MIN_CAP 16

typedef struct map_uslot {
	uint64_t key;
	void *val;
} map_uslot;

typedef struct map_sslot {
	char *key;
	void *val;
	uint64_t hash;
} map_sslot;

struct wn_map {
	union {
		map_uslot *u;
		map_sslot *s;
	} slots;
	size_t mask;  /* capacity - 1 */
	size_t count; /* entries, the zero key included */
	size_t limit; /* grow when count reaches this */
	bool str;
	bool has_zero;
	void *zero_val;
};

/* splitmix64's finalizer: a bijection whose every output bit depends on
 * every input bit, so sequential ids spread over the whole table. */
static inline uint64_t map_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static inline uint64_t map_mum(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* wn_hash_bytes hashes eight bytes at a time with 64x64->128 multiply
 * folds (in the manner of wyhash); the length goes in first. */
uint64_t wn_hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = map_mum(len ^ 0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL);
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = map_mum(h ^ w, 0x8ebc6af09c88c6e3ULL);
		p += 8;
		len -= 8;
	}
	if (len > 0) {
		uint64_t w = 0;
		memcpy(&w, p, len);
		h = map_mum(h ^ w, 0x589965cc75374cc3ULL);
	}
	return map_mix64(h);
}

static uint64_t map_hash_str(const char *s)
{
	return wn_hash_bytes(s, strlen(s));
}

static wn_map *map_new(bool str)
{
	wn_map *m = wn_xcalloc(1, sizeof(*m));
	m->str = str;
	m->mask = MAP_MIN_CAP - 1;
	m->limit = MAP_MIN_CAP / 4 * 3;
	if (str)
		m->slots.s = wn_xcalloc(MAP_MIN_CAP, sizeof(map_sslot));
	else
		m->slots.u = wn_xcalloc(MAP_MIN_CAP, sizeof(map_uslot));
	return m;
}

wn_map *wn_map_new_u64(void)
{
	return map_new(false);
}

wn_map *wn_map_new_str(void)
{
	return map_new(true);
}

void wn_map_free(wn_map *m)
{
	if (m == NULL)
		return;
	if (m->str) {
		for (size_t i = 0; i <= m->mask; i++)
			free(m->slots.s[i].key);
		free(m->slots.s);
	} else {
		free(m->slots.u);
	}
	free(m);
}

size_t wn_map_count(const wn_map *m)
{
	return m->count;
}

/* map_grow doubles the table; the entries' order within a probe run is
 * rebuilt by reinsertion. */
static void map_grow(wn_map *m)
{
	size_t oldcap = m->mask + 1;
	size_t cap = oldcap * 2;
	size_t mask = cap - 1;
	if (m->str) {
		map_sslot *old = m->slots.s;
		map_sslot *t = wn_xcalloc(cap, sizeof(*t));
		for (size_t i = 0; i < oldcap; i++) {
			if (old[i].key == NULL)
				continue;
			size_t j = old[i].hash & mask;
			while (t[j].key != NULL)
				j = (j + 1) & mask;
			t[j] = old[i];
		}
		free(old);
		m->slots.s = t;
	} else {
		map_uslot *old = m->slots.u;
		map_uslot *t = wn_xcalloc(cap, sizeof(*t));
		for (size_t i = 0; i < oldcap; i++) {
			if (old[i].key == 0)
				continue;
			size_t j = map_mix64(old[i].key) & mask;
			while (t[j].key != 0)
				j = (j + 1) & mask;
			t[j] = old[i];
		}
		free(old);
		m->slots.u = t;
	}
	m->mask = mask;
	m->limit = cap / 4 * 3;
}

/* map_ufind returns the slot holding key, or the empty slot ending its run. */
static inline size_t map_ufind(const wn_map *m, uint64_t key)
{
	const map_uslot *t = m->slots.u;
	size_t i = map_mix64(key) & m->mask;
	while (t[i].key != key && t[i].key != 0)
		i = (i + 1) & m->mask;
	return i;
}

void wn_map_put_u64(wn_map *m, uint64_t key, void *val)
{
	assert(!m->str);
	if (key == 0) {
		if (!m->has_zero)
			m->count++;
		m->has_zero = true;
		m->zero_val = val;
		return;
	}
	size_t i = map_ufind(m, key);
	if (m->slots.u[i].key == key) {
		m->slots.u[i].val = val;
		return;
	}
	if (m->count + 1 > m->limit) {
		map_grow(m);
		i = map_ufind(m, key);
	}
	m->slots.u[i].key = key;
	m->slots.u[i].val = val;
	m->count++;
}

void *wn_map_get_u64(const wn_map *m, uint64_t key)
{
	assert(!m->str);
	if (key == 0)
		return m->has_zero ? m->zero_val : NULL;
	size_t i = map_ufind(m, key);
	return m->slots.u[i].key == key ? m->slots.u[i].val : NULL;
}

void *wn_map_del_u64(wn_map *m, uint64_t key)
{
	assert(!m->str);
	if (key == 0) {
		if (!m->has_zero)
			return NULL;
		m->has_zero = false;
		m->count--;
		void *v = m->zero_val;
		m->zero_val = NULL;
		return v;
	}
	map_uslot *t = m->slots.u;
	size_t mask = m->mask;
	size_t i = map_ufind(m, key);
	if (t[i].key != key)
		return NULL;
	void *v = t[i].val;
	/* Backward shift: pull later run members into the hole unless that
	 * would move them before their home slot. */
	for (size_t j = i;;) {
		j = (j + 1) & mask;
		if (t[j].key == 0)
			break;
		size_t home = map_mix64(t[j].key) & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t[i] = t[j];
			i = j;
		}
	}
	t[i].key = 0;
	t[i].val = NULL;
	m->count--;
	return v;
}

static inline size_t map_sfind(const wn_map *m, const char *key, uint64_t h)
{
	const map_sslot *t = m->slots.s;
	size_t i = h & m->mask;
	while (t[i].key != NULL && (t[i].hash != h || strcmp(t[i].key, key) != 0))
		i = (i + 1) & m->mask;
	return i;
}

void wn_map_put_str(wn_map *m, const char *key, void *val)
{
	assert(m->str && key != NULL);
	uint64_t h = map_hash_str(key);
	size_t i = map_sfind(m, key, h);
	if (m->slots.s[i].key != NULL) {
		m->slots.s[i].val = val;
		return;
	}
	if (m->count + 1 > m->limit) {
		map_grow(m);
		i = map_sfind(m, key, h);
	}
	m->slots.s[i].key = wn_xstrdup(key);
	m->slots.s[i].val = val;
	m->slots.s[i].hash = h;
	m->count++;
}

void *wn_map_get_str(const wn_map *m, const char *key)
{
	assert(m->str && key != NULL);
	size_t i = map_sfind(m, key, map_hash_str(key));
	return m->slots.s[i].key != NULL ? m->slots.s[i].val : NULL;
}

void *wn_map_del_str(wn_map *m, const char *key)
{
	assert(m->str && key != NULL);
	map_sslot *t = m->slots.s;
	size_t mask = m->mask;
	size_t i = map_sfind(m, key, map_hash_str(key));
	if (t[i].key == NULL)
		return NULL;
	void *v = t[i].val;
	free(t[i].key);
	for (size_t j = i;;) {
		j = (j + 1) & mask;
		if (t[j].key == NULL)
			break;
		size_t home = t[j].hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t[i] = t[j];
			i = j;
		}
	}
	t[i].key = NULL;
	t[i].val = NULL;
	t[i].hash = 0;
	m->count--;
	return v;
}

/* Positions: 0 is the zero key of a u64 map, 1 + i is slot i. */
bool wn_map_next(const wn_map *m, size_t *pos, uint64_t *ukey, const char **skey, void **val)
{
	size_t p = *pos;
	if (p == 0) {
		p = 1;
		if (!m->str && m->has_zero) {
			*pos = p;
			if (ukey != NULL)
				*ukey = 0;
			if (skey != NULL)
				*skey = NULL;
			if (val != NULL)
				*val = m->zero_val;
			return true;
		}
	}
	for (; p <= m->mask + 1; p++) {
		size_t i = p - 1;
		if (m->str) {
			const map_sslot *s = &m->slots.s[i];
			if (s->key == NULL)
				continue;
			*pos = p + 1;
			if (ukey != NULL)
				*ukey = 0;
			if (skey != NULL)
				*skey = s->key;
			if (val != NULL)
				*val = s->val;
			return true;
		}
		const map_uslot *u = &m->slots.u[i];
		if (u->key == 0)
			continue;
		*pos = p + 1;
		if (ukey != NULL)
			*ukey = u->key;
		if (skey != NULL)
			*skey = NULL;
		if (val != NULL)
			*val = u->val;
		return true;
	}
	*pos = p;
	return false;
}
