/* Unit tests of pbcheck: strings checked in a message's raw bytes (NUL bytes,
 * invalid UTF-8), at every depth, and bytes that are no message. */
#include "err.h"
#include "pbcheck.h"
#include "test.h"
#include "whatsnext.pb-c.h"

#include <stdlib.h>
#include <string.h>

/* A message being written by hand: what protobuf-c cannot pack (a string
 * holding a NUL) and what no encoder writes. */
struct raw {
	uint8_t b[4096];
	size_t n;
};

static void raw_varint(struct raw *r, uint64_t v)
{
	while (v >= 0x80) {
		r->b[r->n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	r->b[r->n++] = (uint8_t)v;
}

/* raw_bytes adds field num holding the n bytes at s (wire type 2). */
static void raw_bytes(struct raw *r, unsigned num, const void *s, size_t n)
{
	raw_varint(r, (uint64_t)num << 3 | 2);
	raw_varint(r, n);
	memcpy(r->b + r->n, s, n);
	r->n += n;
}

static void raw_str(struct raw *r, unsigned num, const char *s)
{
	raw_bytes(r, num, s, strlen(s));
}

static void raw_msg(struct raw *r, unsigned num, const struct raw *m)
{
	raw_bytes(r, num, m->b, m->n);
}

/* check runs wn_pb_check on r as a desc; the message or NULL when accepted. */
static char *check(const ProtobufCMessageDescriptor *desc, const struct raw *r)
{
	char *err = NULL;
	int rv = wn_pb_check(desc, r->b, r->n, &err);
	CHECK((rv == WN_OK) == (err == NULL));
	CHECK(rv == WN_OK || rv == WN_EINVAL);
	return err;
}

#define CHECK_REFUSED(desc, r, want)                                                               \
	do {                                                                                       \
		char *e_ = check(desc, r);                                                         \
		CHECK_EQ_STR(e_, want);                                                            \
		free(e_);                                                                          \
	} while (0)

static const ProtobufCMessageDescriptor *const create_project =
    &whatsnext__v1__create_project_request__descriptor;
static const ProtobufCMessageDescriptor *const submit = &whatsnext__v1__submit_request__descriptor;

TEST(valid_strings_of_every_length_pass)
{
	struct raw r = {0};
	raw_str(&r, 1, "ok");
	raw_str(&r, 2,
	        "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89 \xf4\x8f\xbf\xbf "
	        "\xef\xbf\xbd and a longer ascii tail to take the fast path");
	CHECK(check(create_project, &r) == NULL);
	struct raw empty = {0};
	CHECK(check(create_project, &empty) == NULL);
	raw_str(&empty, 1, "");
	CHECK(check(create_project, &empty) == NULL);
}

TEST(a_nul_in_a_top_level_string_is_refused_by_name)
{
	struct raw r = {0};
	raw_bytes(&r, 1, "ok\0/../../x", 11);
	CHECK_REFUSED(create_project, &r,
	              "field \"name\" of whatsnext.v1.CreateProjectRequest holds a NUL byte");
	struct raw tail = {0};
	raw_str(&tail, 1, "fine");
	raw_bytes(&tail, 2, "a long description that ends in a NUL\0", 38);
	CHECK_REFUSED(
	    create_project, &tail,
	    "field \"description\" of whatsnext.v1.CreateProjectRequest holds a NUL byte");
}

TEST(strings_deep_inside_are_named_from_the_top)
{
	struct raw entry = {0}, spec = {0}, r = {0};
	raw_str(&entry, 1, "lr");
	raw_bytes(&entry, 2, "0.1\0rm -rf", 10);
	raw_str(&spec, 1, "p");
	raw_str(&spec, 2, "t");
	raw_msg(&spec, 4, &entry);
	raw_msg(&r, 1, &spec);
	CHECK_REFUSED(submit, &r,
	              "field \"job.params.value\" of whatsnext.v1.SubmitRequest holds a NUL byte");
	/* the second job of a batch, its dependency's ref */
	struct raw dep = {0}, spec2 = {0}, batch = {0};
	raw_bytes(&dep, 3, "a\xff", 2);
	raw_str(&spec2, 1, "p");
	raw_msg(&spec2, 6, &dep);
	struct raw good = {0};
	raw_str(&good, 1, "p");
	raw_msg(&batch, 1, &good);
	raw_msg(&batch, 1, &spec2);
	CHECK_REFUSED(&whatsnext__v1__submit_batch_request__descriptor, &batch,
	              "field \"jobs.after.ref\" of whatsnext.v1.SubmitBatchRequest is not valid "
	              "UTF-8 (at byte 1)");
}

TEST(every_invalid_utf8_form_is_refused)
{
	static const struct {
		const char *s;
		size_t off;
	} bad[] = {
	    {"\x80", 0},                 /* a continuation byte alone */
	    {"ab\xc0\xaf", 2},           /* overlong '/' */
	    {"\xc1\xbf", 0},             /* overlong */
	    {"\xe0\x80\xaf", 0},         /* overlong, three bytes */
	    {"\xf0\x80\x80\xaf", 0},     /* overlong, four bytes */
	    {"\xed\xa0\x80", 0},         /* U+D800, a surrogate */
	    {"x\xed\xbf\xbf", 1},        /* U+DFFF */
	    {"\xf4\x90\x80\x80", 0},     /* U+110000 */
	    {"\xf5\x80\x80\x80", 0},     /* past F4 */
	    {"\xff", 0},                 /* never in UTF-8 */
	    {"\xc3", 0},                 /* cut short */
	    {"abc\xe6\x97", 3},          /* cut short */
	    {"\xe6\x97\x41", 0},         /* a continuation that is not */
	    {"12345678\xc3\x28", 8},     /* after the fast path */
	    {"\xf0\x9f\x8e\x89\xfe", 4}, /* after a valid emoji */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(wn_pb_utf8_check((const uint8_t *)bad[i].s, strlen(bad[i].s)),
		             (ptrdiff_t)bad[i].off);
		struct raw r = {0};
		raw_str(&r, 1, bad[i].s);
		char want[160];
		snprintf(want, sizeof(want),
		         "field \"name\" of whatsnext.v1.CreateProjectRequest is not valid UTF-8 "
		         "(at byte %zu)",
		         bad[i].off);
		CHECK_REFUSED(create_project, &r, want);
	}
	/* the edges that are valid */
	static const char *const good[] = {"\x7f",         "\xc2\x80",         "\xdf\xbf",
	                                   "\xe0\xa0\x80", "\xed\x9f\xbf",     "\xee\x80\x80",
	                                   "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ_INT(wn_pb_utf8_check((const uint8_t *)good[i], strlen(good[i])), -1);
	/* a NUL at every place of a long ASCII run */
	char run[40];
	memset(run, 'a', sizeof(run));
	for (size_t i = 0; i < sizeof(run); i++) {
		run[i] = '\0';
		CHECK_EQ_INT(wn_pb_utf8_check((const uint8_t *)run, sizeof(run)), (ptrdiff_t)i);
		run[i] = 'a';
	}
}

TEST(the_envelope_method_and_token_are_checked_not_the_body)
{
	struct raw r = {0};
	raw_varint(&r, 1 << 3);
	raw_varint(&r, 7);
	raw_str(&r, 2, "/whatsnext.v1.ProjectService/Create");
	raw_bytes(&r, 3, "\0\xff\xfe", 3); /* bytes: anything */
	raw_str(&r, 4, "secret");
	CHECK(check(&whatsnext__v1__request__descriptor, &r) == NULL);
	raw_bytes(&r, 4, "secret\0junk", 11);
	CHECK_REFUSED(&whatsnext__v1__request__descriptor, &r,
	              "field \"token\" of whatsnext.v1.Request holds a NUL byte");
}

TEST(unknown_fields_and_other_wire_types_are_skipped)
{
	struct raw r = {0};
	raw_str(&r, 1, "ok");
	raw_bytes(&r, 99, "\0\xff", 2); /* unknown to the message: not judged */
	raw_varint(&r, 98 << 3 | 0);
	raw_varint(&r, UINT64_MAX);
	raw_varint(&r, 97 << 3 | 1);
	memcpy(r.b + r.n, "\0\0\0\0\0\0\0\0", 8);
	r.n += 8;
	raw_varint(&r, 96 << 3 | 5);
	memcpy(r.b + r.n, "\xff\xff\xff\xff", 4);
	r.n += 4;
	CHECK(check(create_project, &r) == NULL);
	/* a string field sent as a varint is protobuf-c's to refuse */
	struct raw v = {0};
	raw_varint(&v, 1 << 3 | 0);
	raw_varint(&v, 0);
	CHECK(check(create_project, &v) == NULL);
}

TEST(bytes_that_are_no_message_are_refused_where_they_break)
{
	static const struct {
		const char *hex;
		const char *why;
	} bad[] = {
	    {"0a05616263", "a field runs past the end of its message at byte 0"},
	    {"0a", "a field runs past the end of its message at byte 0"},
	    {"0a01610aff", "a field runs past the end of its message at byte 3"},
	    {"0affffffffffffffffffff01", "a field runs past the end of its message at byte 0"},
	    {"08", "a varint is cut short or too long at byte 0"},
	    {"08ffffffffffffffffffff01", "a varint is cut short or too long at byte 0"},
	    {"ff", "a field's key is cut short or too long at byte 0"},
	    {"0b", "a field of an unsupported wire type at byte 0"},
	    {"0e", "a field of an unsupported wire type at byte 0"},
	    {"0900", "a fixed-size value is cut short at byte 0"},
	    {"0d000000", "a fixed-size value is cut short at byte 0"},
	    {"8080808080808080808001", "a field's key is cut short or too long at byte 0"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct raw r = {0};
		for (const char *h = bad[i].hex; h[0] && h[1]; h += 2) {
			unsigned v;
			sscanf(h, "%2x", &v);
			r.b[r.n++] = (uint8_t)v;
		}
		char want[200];
		snprintf(want, sizeof(want), "malformed whatsnext.v1.CreateProjectRequest: %s",
		         bad[i].why);
		CHECK_REFUSED(create_project, &r, want);
	}
}

/* A message type that holds itself, which the .proto has none of: Node {
 * Node child = 1; string s = 2; }. */
extern const ProtobufCMessageDescriptor node_desc;
static const ProtobufCFieldDescriptor node_fields[2] = {
    {"child", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_MESSAGE, 0, 0, &node_desc, NULL, 0, 0, NULL,
     NULL},
    {"s", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, 0, NULL, NULL, 0, 0, NULL, NULL},
};
static const unsigned node_by_name[2] = {0, 1};
static const ProtobufCIntRange node_ranges[2] = {{1, 0}, {0, 2}};
const ProtobufCMessageDescriptor node_desc = {PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
                                              "test.Node",
                                              "Node",
                                              "Node",
                                              "test",
                                              0,
                                              2,
                                              node_fields,
                                              node_by_name,
                                              1,
                                              node_ranges,
                                              NULL,
                                              NULL,
                                              NULL,
                                              NULL};

/* nest writes n Nodes inside one another, the innermost holding s. */
static void nest(struct raw *r, int n, const char *s)
{
	struct raw in = {0};
	raw_str(&in, 2, s);
	for (int i = 0; i < n; i++) {
		struct raw out = {0};
		raw_msg(&out, 1, &in);
		in = out;
	}
	*r = in;
}

TEST(nesting_is_walked_to_its_limit_and_no_further)
{
	struct raw r;
	nest(&r, WN_PB_DEPTH_MAX, "deep");
	CHECK(check(&node_desc, &r) == NULL);
	nest(&r, 3, "x\xc0\x80");
	CHECK_REFUSED(&node_desc, &r,
	              "field \"child.child.child.s\" of test.Node is not valid UTF-8 (at byte 1)");
	nest(&r, WN_PB_DEPTH_MAX + 1, "deep");
	char *e = check(&node_desc, &r);
	CHECK(e != NULL && strstr(e, "messages nested too deep") != NULL);
	free(e);
}

/* scrub returns wn_utf8_scrub of s (a static copy). */
static const char *scrub(const char *s)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	wn_utf8_scrub(buf);
	return buf;
}

TEST(a_message_cut_inside_a_character_is_made_valid_utf8)
{
	CHECK_EQ_STR(scrub("plain"), "plain");
	CHECK_EQ_STR(scrub("caf\xc3\xa9"), "caf\xc3\xa9");
	/* "%.4s" of "café": the cut character goes */
	CHECK_EQ_STR(scrub("caf\xc3"), "caf");
	CHECK_EQ_STR(scrub("\xf0\x9f\x98"), "");
	CHECK_EQ_STR(scrub("x\xe2\x82"), "x");
	/* bytes that start no character elsewhere become '?' */
	CHECK_EQ_STR(scrub("a\xff"
	                   "b"),
	             "a?b");
	CHECK_EQ_STR(scrub("\xc3(x"), "?(x");
	CHECK_EQ_STR(scrub("\xc0\x80z"), "??z");
	CHECK_EQ_STR(scrub("\xed\xa0\x80"), "???");
	CHECK_EQ_STR(scrub("a\x80"), "a?");
	CHECK_EQ_STR(scrub(""), "");
	CHECK_EQ_STR(scrub("x\xc3\xa9\xff\xe2\x82"), "x\xc3\xa9?");
}

/* escape returns wn_utf8_escape of s within max bytes (a static copy). */
static const char *escape(const char *s, size_t max)
{
	static char buf[128];
	char *e = wn_utf8_escape(s, max);
	snprintf(buf, sizeof(buf), "%s", e);
	free(e);
	return buf;
}

TEST(control_characters_and_bytes_not_utf8_are_shown_escaped_and_cut)
{
	CHECK_EQ_STR(escape("out/caf\xc3\xa9", 100), "out/caf\xc3\xa9");
	CHECK_EQ_STR(escape("e\033[2Jx", 100), "e\\x1b[2Jx");
	CHECK_EQ_STR(escape("\377bad\x7f\n", 100), "\\xffbad\\x7f\\x0a");
	CHECK_EQ_STR(escape("\xc0\x80\xed\xa0\x80", 100), "\\xc0\\x80\\xed\\xa0\\x80");
	CHECK_EQ_STR(escape("caf\xc3", 100), "caf\\xc3");
	/* cut after a whole character or escape, "..." within max */
	CHECK_EQ_STR(escape("abcdefgh", 8), "abcdefgh");
	CHECK_EQ_STR(escape("abcdefghi", 8), "abcde...");
	CHECK_EQ_STR(escape("ab\033cdef", 8), "ab...");
	CHECK_EQ_STR(escape("abcd\xc3\xa9xyz", 8), "abcd...");
	CHECK_EQ_STR(escape("", 8), "");
}

TEST_MAIN()
