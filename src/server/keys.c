/* keys: the key schema of the store (keys.h). */
#include "keys.h"

#include "kit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The prefixes, by kind. */
static const struct {
	enum wn_key_kind kind;
	const char *prefix;
} key_prefixes[] = {
    {WN_KEY_META, "m/"},  {WN_KEY_PROJECT, "p/"}, {WN_KEY_TASK, "t/"}, {WN_KEY_JOB, "j/"},
    {WN_KEY_SWEEP, "s/"}, {WN_KEY_WORKER, "w/"},  {WN_KEY_REQ, "i/"},  {WN_KEY_ASIDE, "x/"},
    {WN_KEY_TOKEN, "a/"}, {WN_KEY_HISTORY, "r/"}, {WN_KEY_LOG, "o/"},  {WN_KEY_BLOB, "b/"},
};

const char *wn_key_prefix(enum wn_key_kind kind)
{
	for (size_t i = 0; i < sizeof(key_prefixes) / sizeof(key_prefixes[0]); i++)
		if (key_prefixes[i].kind == kind)
			return key_prefixes[i].prefix;
	abort(); /* not a kind: a broken invariant */
}

size_t wn_key_prefix_end(char *buf, enum wn_key_kind kind)
{
	buf[0] = wn_key_prefix(kind)[0];
	buf[1] = '/' + 1;
	return WN_KEY_PREFIX_LEN;
}

int wn_key_kind(const char *key, size_t klen)
{
	if (klen < WN_KEY_PREFIX_LEN || key[1] != '/')
		return 0;
	for (size_t i = 0; i < sizeof(key_prefixes) / sizeof(key_prefixes[0]); i++)
		if (key_prefixes[i].prefix[0] == key[0])
			return (int)key_prefixes[i].kind;
	return 0;
}

/* key_text writes the prefix of kind and then a and, if b, '/' and b. */
static size_t key_text(char *buf, enum wn_key_kind kind, const char *a, const char *b)
{
	size_t n = wn_join(buf, WN_KEY_MAX, wn_key_prefix(kind), '\0', a);
	return b != NULL ? n + wn_join(buf + n, WN_KEY_MAX - n, "", '/', b) : n;
}

size_t wn_key_project(char *buf, const char *name)
{
	return key_text(buf, WN_KEY_PROJECT, name, NULL);
}

size_t wn_key_task(char *buf, const char *project, const char *name)
{
	return key_text(buf, WN_KEY_TASK, project, name);
}

size_t wn_key_task_prefix(char *buf, const char *project)
{
	return key_text(buf, WN_KEY_TASK, project, "");
}

size_t wn_key_worker(char *buf, const char *name)
{
	return key_text(buf, WN_KEY_WORKER, name, NULL);
}

size_t wn_key_token(char *buf, const char *name)
{
	return key_text(buf, WN_KEY_TOKEN, name, NULL);
}

/* key_of_id writes the key of id of kind. */
static size_t key_of_id(char *buf, enum wn_key_kind kind, uint64_t id)
{
	buf[0] = (char)kind;
	buf[1] = '/';
	for (int i = 0; i < 8; i++)
		buf[2 + i] = (char)(id >> (56 - 8 * i));
	return WN_KEY_ID_LEN;
}

size_t wn_key_job(char *buf, uint64_t id)
{
	return key_of_id(buf, WN_KEY_JOB, id);
}

size_t wn_key_sweep(char *buf, uint64_t id)
{
	return key_of_id(buf, WN_KEY_SWEEP, id);
}

size_t wn_key_req(char *buf, uint64_t id)
{
	return key_of_id(buf, WN_KEY_REQ, id);
}

size_t wn_key_of_job(char *buf, enum wn_key_kind kind, uint64_t id)
{
	return key_of_id(buf, kind, id);
}

uint64_t wn_key_id(const char *key)
{
	uint64_t id = 0;
	for (int i = 0; i < 8; i++)
		id = id << 8 | (uint8_t)key[2 + i];
	return id;
}

bool wn_key_is_id(const char *key, size_t klen, enum wn_key_kind kind)
{
	return klen == WN_KEY_ID_LEN && key[0] == (char)kind && key[1] == '/';
}

/* key_has_id reports whether kind's keys are keys of an id. */
static bool key_has_id(int kind)
{
	return kind == WN_KEY_JOB || kind == WN_KEY_SWEEP || kind == WN_KEY_REQ ||
	       kind == WN_KEY_HISTORY;
}

/* key_has_job_prefix reports whether kind's keys are a job's id and more. */
static bool key_has_job_prefix(int kind)
{
	return kind == WN_KEY_LOG || kind == WN_KEY_BLOB;
}

void wn_key_name(char *buf, size_t cap, const char *key, size_t klen)
{
	int kind = wn_key_kind(key, klen);
	if (kind == WN_KEY_ASIDE && klen > WN_KEY_PREFIX_LEN && cap > 3) {
		/* set aside: x/ and the key it was */
		memcpy(buf, key, WN_KEY_PREFIX_LEN);
		wn_key_name(buf + 2, cap - 2, key + 2, klen - 2);
		return;
	}
	if (klen == WN_KEY_ID_LEN && key_has_id(kind)) {
		wn_key_id_name(buf, cap, (enum wn_key_kind)kind, wn_key_id(key));
		return;
	}
	size_t o = 0, i = 0;
	if (klen >= WN_KEY_ID_LEN && key_has_job_prefix(kind)) {
		/* o/42/ and the rest escaped */
		int n = snprintf(buf, cap, "%c/%llu/", key[0], (unsigned long long)wn_key_id(key));
		o = n > 0 && (size_t)n < cap ? (size_t)n : 0;
		i = WN_KEY_ID_LEN;
	}
	for (; i < klen && o + 8 < cap; i++) {
		unsigned char ch = (unsigned char)key[i];
		if (ch > 0x20 && ch < 0x7f && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
	}
	buf[o] = '\0';
}

void wn_key_id_name(char *buf, size_t cap, enum wn_key_kind kind, uint64_t id)
{
	snprintf(buf, cap, "%s%llu", wn_key_prefix(kind), (unsigned long long)id);
}

bool wn_key_parse_name(const char *s, char *out, size_t cap, size_t *len)
{
	size_t n = strlen(s);
	int kind = wn_key_kind(s, n);
	if (n > 2 && kind == WN_KEY_ASIDE && cap > 2) { /* set aside: x/ and a key */
		memcpy(out, s, WN_KEY_PREFIX_LEN);
		if (!wn_key_parse_name(s + 2, out + 2, cap - 2, len))
			return false;
		*len += 2;
		return true;
	}
	if (n > 2 && key_has_id(kind)) {
		char *end = NULL;
		unsigned long long id = strtoull(s + 2, &end, 10);
		if (*end != '\0' || s[2] == '-' || cap < WN_KEY_ID_LEN)
			return false;
		*len = key_of_id(out, (enum wn_key_kind)kind, id);
		return true;
	}
	size_t o = 0, i = 0;
	if (n > 2 && key_has_job_prefix(kind) && cap >= WN_KEY_ID_LEN) {
		char *end = NULL;
		unsigned long long id = strtoull(s + 2, &end, 10);
		if (*end != '/' || s[2] == '-')
			return false;
		o = key_of_id(out, (enum wn_key_kind)kind, id);
		i = (size_t)(end + 1 - s);
	}
	for (; i < n && o < cap; i++) {
		if (s[i] == '\\' && s[i + 1] == 'x' && wn_hex_digit((unsigned char)s[i + 2]) >= 0 &&
		    wn_hex_digit((unsigned char)s[i + 3]) >= 0) {
			out[o++] = (char)(wn_hex_digit((unsigned char)s[i + 2]) << 4 |
			                  wn_hex_digit((unsigned char)s[i + 3]));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	*len = o;
	return o > 0 && o < cap;
}

size_t wn_key_aside(char *buf, const char *key, size_t klen)
{
	memcpy(buf, wn_key_prefix(WN_KEY_ASIDE), WN_KEY_PREFIX_LEN);
	memcpy(buf + WN_KEY_PREFIX_LEN, key, klen);
	return klen + WN_KEY_PREFIX_LEN;
}
