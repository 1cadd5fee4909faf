/* pbcheck: the strings of a protobuf message checked in its raw bytes
 * (pbcheck.h). The walk follows the wire format of
 * https://protobuf.dev/programming-guides/encoding/: a field is a varint key
 * (field number << 3 | wire type) and a value of that wire type. */
#include "pbcheck.h"

#include "err.h"
#include "strbuf.h"
#include "util.h"

#include <stdbool.h>
#include <string.h>

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* utf8_tail returns the length of the valid multi-byte character at s (n
 * bytes left, s[0] >= 0x80), 0 if it is not one. */
static size_t utf8_tail(const uint8_t *s, size_t n)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xBF;
	size_t len;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0; /* below: overlong */
		else if (c == 0xED)
			hi = 0x9F; /* above: surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90; /* below: overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above: past U+10FFFF */
	} else {
		return 0; /* a continuation byte, C0, C1 or F5 to FF */
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

ptrdiff_t wn_pb_utf8_check(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (n - i >= 8) {
			/* eight ASCII bytes, none of them NUL, at a time */
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (((w | ((w - ONES) & ~w)) & HIGHS) == 0) {
				i += 8;
				continue;
			}
		}
		if (s[i] == 0)
			return (ptrdiff_t)i;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t len = utf8_tail(s + i, n - i);
		if (len == 0)
			return (ptrdiff_t)i;
		i += len;
	}
	return -1;
}

void wn_utf8_scrub(char *s)
{
	size_t n = strlen(s), i = 0;
	ptrdiff_t off;
	while (i < n && (off = wn_pb_utf8_check((const uint8_t *)s + i, n - i)) >= 0) {
		i += (size_t)off;
		/* a character cut at the end (a "%.40s" of a longer text) goes */
		size_t want = (uint8_t)s[i] >= 0xf0 ? 4 : (uint8_t)s[i] >= 0xe0 ? 3 : 2;
		size_t k = 1;
		while (i + k < n && ((uint8_t)s[i + k] & 0xc0) == 0x80)
			k++;
		if ((uint8_t)s[i] >= 0xc2 && (uint8_t)s[i] <= 0xf4 && i + k == n && k < want) {
			s[i] = '\0';
			return;
		}
		s[i++] = '?';
	}
}

/* escape_unit returns the bytes of the character at s (n > 0 bytes left)
 * when it may be shown as it is, 0 when it is to be escaped. */
static size_t escape_unit(const char *s, size_t n)
{
	uint8_t c = (uint8_t)s[0];
	if (c < 0x80)
		return c < 0x20 || c == 0x7f ? 0 : 1;
	return utf8_tail((const uint8_t *)s, n);
}

char *wn_utf8_escape(const char *s, size_t max)
{
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_add(&b, "", 0);
	size_t n = strlen(s), keep = 0;
	for (size_t i = 0; i < n;) {
		size_t len = escape_unit(s + i, n - i);
		if (len > 0)
			wn_strbuf_add(&b, s + i, len);
		else
			wn_strbuf_addf(&b, "\\x%02x", (uint8_t)s[i]);
		i += len > 0 ? len : 1;
		if (b.len + 3 <= max)
			keep = b.len; /* with room for "..." after it */
	}
	if (b.len > max) {
		b.len = keep;
		b.s[keep] = '\0';
		wn_strbuf_adds(&b, "...");
	}
	return wn_strbuf_take(&b);
}

/* One walk: the message checked, where it starts, and the fields from it
 * down to the one being read (for the message naming a bad field). */
struct walk {
	const ProtobufCMessageDescriptor *top;
	const uint8_t *base;
	const ProtobufCFieldDescriptor *path[WN_PB_DEPTH_MAX + 1];
	char **errmsg;
};

/* walk_malformed refuses bytes that are no message, at offset at. */
static int walk_malformed(struct walk *w, const uint8_t *at, const char *why)
{
	*w->errmsg =
	    wn_xasprintf("malformed %s: %s at byte %zu", w->top->name, why, (size_t)(at - w->base));
	return WN_EINVAL;
}

/* walk_bad_string refuses string field f, depth fields down, whose byte at
 * offset off is a NUL or starts no valid UTF-8 character. */
static int walk_bad_string(struct walk *w, int depth, const uint8_t *s, size_t off)
{
	wn_strbuf b = WN_STRBUF_INIT;
	for (int i = 0; i <= depth; i++) {
		if (i > 0)
			wn_strbuf_addc(&b, '.');
		wn_strbuf_adds(&b, w->path[i]->name);
	}
	if (s[off] == 0)
		*w->errmsg = wn_xasprintf("field \"%s\" of %s holds a NUL byte", wn_strbuf_str(&b),
		                          w->top->name);
	else
		*w->errmsg = wn_xasprintf("field \"%s\" of %s is not valid UTF-8 (at byte %zu)",
		                          wn_strbuf_str(&b), w->top->name, off);
	wn_strbuf_free(&b);
	return WN_EINVAL;
}

/* walk_varint reads a varint of at most 10 bytes at *p (before end) into *v. */
static bool walk_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned i = 0; i < 10 && *p < end; i++) {
		uint8_t b = *(*p)++;
		x |= (uint64_t)(b & 0x7F) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

static int walk_message(struct walk *w, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                        const uint8_t *end, int depth);

/* walk_value checks the length-delimited value [p, p + n) of field f (NULL:
 * a field the message does not know), depth fields down. */
static int walk_value(struct walk *w, const ProtobufCFieldDescriptor *f, const uint8_t *p, size_t n,
                      int depth)
{
	if (f == NULL)
		return WN_OK;
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		w->path[depth] = f;
		ptrdiff_t off = wn_pb_utf8_check(p, n);
		return off < 0 ? WN_OK : walk_bad_string(w, depth, p, (size_t)off);
	}
	if (f->type != PROTOBUF_C_TYPE_MESSAGE)
		return WN_OK; /* bytes, or packed numbers: no strings in them */
	if (depth + 1 > WN_PB_DEPTH_MAX)
		return walk_malformed(w, p, "messages nested too deep");
	w->path[depth] = f;
	return walk_message(w, f->descriptor, p, p + n, depth + 1);
}

/* walk_message checks the fields in [p, end) of a message of type d, depth
 * fields below the top. */
static int walk_message(struct walk *w, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                        const uint8_t *end, int depth)
{
	while (p < end) {
		const uint8_t *at = p;
		uint64_t key, n;
		if (!walk_varint(&p, end, &key))
			return walk_malformed(w, at, "a field's key is cut short or too long");
		/* a field number no message has is protobuf-c's to judge: it is
		 * skipped, like any field d does not know */
		uint64_t num = key >> 3;
		switch (key & 7) {
		case 0:
			if (!walk_varint(&p, end, &n))
				return walk_malformed(w, at, "a varint is cut short or too long");
			break;
		case 1:
		case 5: {
			size_t size = (key & 7) == 1 ? 8 : 4;
			if ((size_t)(end - p) < size)
				return walk_malformed(w, at, "a fixed-size value is cut short");
			p += size;
			break;
		}
		case 2: {
			if (!walk_varint(&p, end, &n) || n > (uint64_t)(end - p))
				return walk_malformed(w, at,
				                      "a field runs past the end of its message");
			const ProtobufCFieldDescriptor *f =
			    num <= UINT32_MAX
			        ? protobuf_c_message_descriptor_get_field(d, (unsigned)num)
			        : NULL;
			int rv = walk_value(w, f, p, (size_t)n, depth);
			if (rv != WN_OK)
				return rv;
			p += n;
			break;
		}
		default:
			return walk_malformed(w, at, "a field of an unsupported wire type");
		}
	}
	return WN_OK;
}

int wn_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                char **errmsg)
{
	struct walk w = {.top = desc, .base = data, .errmsg = errmsg};
	if (len == 0)
		return WN_OK;
	return walk_message(&w, desc, data, data + len, 0);
}
