/* Unit tests of pbjson: the proto3 JSON mapping of the protocol's messages, both
 * ways, on the real messages of proto/whatsnext.proto: names, defaults left out,
 * enums, 64-bit integers as strings, doubles and their special values, bytes,
 * maps, oneofs, repeated messages; what input is accepted, and every refusal
 * with its message. */
#include "err.h"
#include "methods.h"
#include "pbcheck.h"
#include "pbjson.h"
#include "strbuf.h"
#include "test.h"
#include "util.h"
#include "whatsnext.pb-c.h"

#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A packed message. */
struct pb {
	uint8_t *b;
	size_t n;
};

static struct pb pack(const ProtobufCMessage *m)
{
	struct pb p;
	p.n = protobuf_c_message_get_packed_size(m);
	p.b = malloc(p.n + 1);
	CHECK(p.b != NULL);
	CHECK_EQ_INT(protobuf_c_message_pack(m, p.b), p.n);
	return p;
}

/* to_pb reads json (NUL-terminated) as d, which must succeed. */
static struct pb to_pb(const ProtobufCMessageDescriptor *d, const char *json)
{
	struct pb p = {NULL, 0};
	char *err = NULL;
	int rv = wn_pbjson_to_pb(d, json, strlen(json), &p.b, &p.n, &err);
	CHECK_EQ_STR(err, NULL);
	CHECK_OK(rv);
	return p;
}

/* from_pb writes p as d's JSON, which must succeed. */
static char *from_pb(const ProtobufCMessageDescriptor *d, struct pb p)
{
	char *json = NULL, *err = NULL;
	size_t n = 0;
	int rv = wn_pbjson_from_pb(d, p.b, p.n, &json, &n, &err);
	CHECK_EQ_STR(err, NULL);
	CHECK_OK(rv);
	CHECK_EQ_INT(n, strlen(json));
	return json;
}

/* via_pb is json read as d and written again. */
static char *via_pb(const ProtobufCMessageDescriptor *d, const char *json)
{
	struct pb p = to_pb(d, json);
	char *out = from_pb(d, p);
	free(p.b);
	return out;
}

#define CHECK_VIA(d, in, want)                                                                     \
	do {                                                                                       \
		char *o_ = via_pb(d, in);                                                          \
		CHECK_EQ_STR(o_, want);                                                            \
		free(o_);                                                                          \
	} while (0)

/* refused: json of n bytes read as d must fail with message want and store
 * nothing. */
static void refused(const ProtobufCMessageDescriptor *d, const char *json, size_t n,
                    const char *want)
{
	uint8_t *pb = (uint8_t *)"untouched";
	size_t pblen = 12345;
	char *err = NULL;
	CHECK_EQ_INT(wn_pbjson_to_pb(d, json, n, &pb, &pblen, &err), WN_EINVAL);
	CHECK(pb == (uint8_t *)"untouched" && pblen == 12345);
	CHECK(err != NULL);
	if (strncmp(want, "invalid json", 12) == 0)
		CHECK(strncmp(err, want, strlen(want)) == 0);
	else
		CHECK_EQ_STR(err, want);
	free(err);
}

#define CHECK_REFUSED(d, json, want) refused(d, json, strlen(json), want)

/* same_bytes: json read as d gives the bytes of p exactly. */
static void same_bytes(const ProtobufCMessageDescriptor *d, const char *json, struct pb p)
{
	struct pb q = to_pb(d, json);
	CHECK_EQ_INT(q.n, p.n);
	CHECK(memcmp(q.b, p.b, p.n) == 0);
	free(q.b);
}

static const ProtobufCMessageDescriptor *const submit = &whatsnext__v1__submit_request__descriptor;
static const ProtobufCMessageDescriptor *const job_d = &whatsnext__v1__job__descriptor;
static const ProtobufCMessageDescriptor *const progress = &whatsnext__v1__job_progress__descriptor;
static const ProtobufCMessageDescriptor *const get_job =
    &whatsnext__v1__get_job_request__descriptor;
static const ProtobufCMessageDescriptor *const wait_d = &whatsnext__v1__wait_request__descriptor;
static const ProtobufCMessageDescriptor *const list_d =
    &whatsnext__v1__list_jobs_request__descriptor;

TEST(submit_request_reads_into_the_message)
{
	const char *in = "{\"job\": {\"project\": \"p\", \"task\": \"t\", \"name\": \"first\","
	                 " \"params\": {\"lr\": \"0.1\", \"epochs\": \"3\"}, \"priority\": -5,"
	                 " \"after\": [{\"jobId\": \"7\", \"condition\": \"AFTERANY\"},"
	                 " {\"ref\": \"prep\", \"condition\": 2}]}, \"brief\": true}";
	struct pb p = to_pb(submit, in);
	Whatsnext__V1__SubmitRequest *r = whatsnext__v1__submit_request__unpack(NULL, p.n, p.b);
	CHECK(r != NULL && r->job != NULL);
	CHECK(r->brief);
	CHECK_EQ_STR(r->job->project, "p");
	CHECK_EQ_STR(r->job->task, "t");
	CHECK_EQ_STR(r->job->name, "first");
	CHECK_EQ_INT(r->job->priority, -5);
	CHECK_EQ_INT(r->job->n_params, 2);
	CHECK_EQ_STR(r->job->params[0]->key, "lr");
	CHECK_EQ_STR(r->job->params[0]->value, "0.1");
	CHECK_EQ_STR(r->job->params[1]->key, "epochs");
	CHECK_EQ_INT(r->job->n_after, 2);
	CHECK_EQ_INT(r->job->after[0]->job_id, 7);
	CHECK_EQ_INT(r->job->after[0]->condition, WHATSNEXT__V1__DEP_CONDITION__AFTERANY);
	CHECK_EQ_STR(r->job->after[1]->ref, "prep");
	CHECK_EQ_INT(r->job->after[1]->condition, WHATSNEXT__V1__DEP_CONDITION__AFTERNOTOK);
	/* written back: lowerCamelCase, compact, .proto order, defaults left out
	 * (AFTEROK is 0), the uint64 as a string */
	char *out = from_pb(submit, p);
	CHECK_EQ_STR(out, "{\"job\":{\"project\":\"p\",\"task\":\"t\",\"name\":\"first\","
	                  "\"params\":{\"lr\":\"0.1\",\"epochs\":\"3\"},\"priority\":-5,"
	                  "\"after\":[{\"jobId\":\"7\",\"condition\":\"AFTERANY\"},"
	                  "{\"condition\":\"AFTERNOTOK\",\"ref\":\"prep\"}]},\"brief\":true}");
	same_bytes(submit, out, p);
	free(out);
	whatsnext__v1__submit_request__free_unpacked(r, NULL);
	free(p.b);
}

/* A Job reply as wnd sends it, with results of both kinds and artifacts. */
static struct pb sample_job(void)
{
	Whatsnext__V1__Job job = WHATSNEXT__V1__JOB__INIT;
	job.id = 42;
	job.project = "p";
	job.task = "train";
	Whatsnext__V1__Job__ParamsEntry pe = WHATSNEXT__V1__JOB__PARAMS_ENTRY__INIT;
	pe.key = "lr";
	pe.value = "0.1";
	Whatsnext__V1__Job__ParamsEntry *params[] = {&pe};
	job.n_params = 1;
	job.params = params;
	job.status = WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING;
	job.attempt = 1;
	job.exit_code = -2;
	job.created_ms = 1764950400123;
	job.lease_expires_ms = -1;
	Whatsnext__V1__ResultValue loss = WHATSNEXT__V1__RESULT_VALUE__INIT, phase = loss,
	                           zero = loss;
	loss.value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER;
	loss.number = 0.25;
	phase.value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE_TEXT;
	phase.text = "warm\"up\n";
	zero.value_case = WHATSNEXT__V1__RESULT_VALUE__VALUE_NUMBER;
	zero.number = 0;
	Whatsnext__V1__Job__ResultsEntry re[3] = {WHATSNEXT__V1__JOB__RESULTS_ENTRY__INIT,
	                                          WHATSNEXT__V1__JOB__RESULTS_ENTRY__INIT,
	                                          WHATSNEXT__V1__JOB__RESULTS_ENTRY__INIT};
	re[0].key = "loss", re[0].value = &loss;
	re[1].key = "phase", re[1].value = &phase;
	re[2].key = "zero", re[2].value = &zero;
	Whatsnext__V1__Job__ResultsEntry *results[] = {&re[0], &re[1], &re[2]};
	job.n_results = 3;
	job.results = results;
	Whatsnext__V1__Artifact a1 = WHATSNEXT__V1__ARTIFACT__INIT, a2 = a1;
	a1.path = "model.pt";
	a1.size = 18446744073709551615u;
	a1.stored = 1;
	a2.path = "log.txt";
	Whatsnext__V1__Artifact *arts[] = {&a1, &a2};
	job.n_artifacts = 2;
	job.artifacts = arts;
	return pack(&job.base);
}

static const char sample_job_json[] =
    "{\"id\":\"42\",\"project\":\"p\",\"task\":\"train\",\"params\":{\"lr\":\"0.1\"},"
    "\"status\":\"JOB_RUNNING\",\"attempt\":1,\"exitCode\":-2,\"createdMs\":\"1764950400123\","
    "\"leaseExpiresMs\":\"-1\",\"results\":{\"loss\":{\"number\":0.25},"
    "\"phase\":{\"text\":\"warm\\\"up\\n\"},\"zero\":{\"number\":0.0}},"
    "\"artifacts\":[{\"path\":\"model.pt\",\"size\":\"18446744073709551615\",\"stored\":true},"
    "{\"path\":\"log.txt\"}]}";

TEST(job_reply_writes_every_kind_of_field)
{
	struct pb p = sample_job();
	char *out = from_pb(job_d, p);
	CHECK_EQ_STR(out, sample_job_json);
	/* round trip: the same bytes as protobuf-c packed */
	same_bytes(job_d, out, p);
	free(out);
	free(p.b);
}

TEST(defaults_are_left_out)
{
	struct pb empty = {NULL, 0}; /* as an empty reply body may come */
	for (int i = 0; i < WN_METHOD_COUNT; i++) {
		char *a = from_pb(wn_methods[i].request, empty);
		char *b = from_pb(wn_methods[i].reply, empty);
		CHECK_EQ_STR(a, "{}");
		CHECK_EQ_STR(b, "{}");
		free(a);
		free(b);
		struct pb q = to_pb(wn_methods[i].request, "{}");
		CHECK_EQ_INT(q.n, 0);
		free(q.b);
	}
	CHECK_VIA(job_d,
	          "{\"id\":0,\"project\":\"\",\"params\":{},\"status\":\"JOB_STATUS_UNSPECIFIED\","
	          "\"deps\":[],\"exitCode\":\"0\",\"results\":null,\"durationMs\":-0}",
	          "{}");
	/* a oneof's member is written when chosen, at its default too */
	CHECK_VIA(job_d, "{\"results\":{\"a\":{\"text\":\"\"},\"b\":{},\"c\":{\"number\":null}}}",
	          "{\"results\":{\"a\":{\"text\":\"\"},\"b\":{},\"c\":{}}}");
}

TEST(doubles_and_their_special_values)
{
	const ProtobufCMessageDescriptor *pt = &whatsnext__v1__result_point__descriptor;
	CHECK_VIA(pt, "{\"value\":0.1}", "{\"value\":0.1}");
	CHECK_VIA(pt, "{\"value\":-2.5e-300}", "{\"value\":-2.5e-300}");
	CHECK_VIA(pt, "{\"value\":3}", "{\"value\":3.0}");
	CHECK_VIA(pt, "{\"value\":\"NaN\"}", "{\"value\":\"NaN\"}");
	CHECK_VIA(pt, "{\"value\":\"Infinity\"}", "{\"value\":\"Infinity\"}");
	CHECK_VIA(pt, "{\"value\":\"-Infinity\"}", "{\"value\":\"-Infinity\"}");
	CHECK_VIA(pt, "{\"value\":\"1.5e3\"}", "{\"value\":1.5e3}");
	CHECK_VIA(pt, "{\"value\":1234.5}", "{\"value\":1234.5}");
	CHECK_VIA(pt, "{\"value\":\"-060.50E1\"}", "{\"value\":-605.0}");
	CHECK_VIA(pt, "{\"value\":1.7976931348623157e308}", "{\"value\":1.7976931348623157e308}");
	/* every number of a text is printed with the digits the longest needs */
	CHECK_VIA(job_d, "{\"results\":{\"a\":{\"number\":0.5},\"b\":{\"number\":0.125}}}",
	          "{\"results\":{\"a\":{\"number\":0.5},\"b\":{\"number\":0.125}}}");
	struct pb p = to_pb(pt, "{\"value\":\"NaN\"}");
	Whatsnext__V1__ResultPoint *r = whatsnext__v1__result_point__unpack(NULL, p.n, p.b);
	CHECK(r != NULL && isnan(r->value));
	whatsnext__v1__result_point__free_unpacked(r, NULL);
	free(p.b);
}

TEST(integers_as_numbers_or_strings)
{
	CHECK_VIA(get_job, "{\"id\":\"18446744073709551615\"}",
	          "{\"id\":\"18446744073709551615\"}");
	CHECK_VIA(get_job, "{\"id\":9007199254740993}", "{\"id\":\"9007199254740993\"}");
	CHECK_VIA(get_job, "{\"id\":1e3}", "{\"id\":\"1000\"}");
	CHECK_VIA(get_job, "{\"id\":\"2E2\"}", "{\"id\":\"200\"}");
	CHECK_VIA(get_job, "{\"id\":7.0}", "{\"id\":\"7\"}");
	CHECK_VIA(get_job, "{\"id\":-0.0}", "{}");
	CHECK_VIA(job_d, "{\"params\":{\"a\":\"1.5\"},\"attempt\":2.50e1,\"createdMs\":-1.0e0}",
	          "{\"params\":{\"a\":\"1.5\"},\"attempt\":25,\"createdMs\":\"-1\"}");
	CHECK_VIA(job_d, "{\"createdMs\":\"-9223372036854775808\"}",
	          "{\"createdMs\":\"-9223372036854775808\"}");
	CHECK_VIA(job_d, "{\"priority\":\"-2147483648\",\"attempt\":\"4294967295\"}",
	          "{\"priority\":-2147483648,\"attempt\":4294967295}");
	CHECK_VIA(wait_d, "{\"ids\":[1,\"2\",3e0]}", "{\"ids\":[\"1\",\"2\",\"3\"]}");
	/* a string is read exactly, as decimal digits */
	CHECK_VIA(get_job, "{\"id\":\"2051.000\"}", "{\"id\":\"2051\"}");
	CHECK_VIA(get_job, "{\"id\":\"1.5e1\"}", "{\"id\":\"15\"}");
	CHECK_VIA(get_job, "{\"id\":\"120e-1\"}", "{\"id\":\"12\"}");
	CHECK_VIA(get_job, "{\"id\":\"0.0e5\"}", "{}");
	CHECK_VIA(get_job, "{\"id\":\"18446744073709551615.0\"}",
	          "{\"id\":\"18446744073709551615\"}");
	CHECK_VIA(get_job, "{\"id\":\"1.8446744073709551615e19\"}",
	          "{\"id\":\"18446744073709551615\"}");
	CHECK_VIA(job_d, "{\"createdMs\":\"-12.50e1\"}", "{\"createdMs\":\"-125\"}");
}

TEST(names_enums_bytes_and_null)
{
	/* the .proto's names too, enums by number, null as the default */
	CHECK_VIA(job_d,
	          "{\"exit_code\":3,\"status\":4,\"worker\":null,\"lease_expires_ms\":\"5\"}",
	          "{\"status\":\"JOB_FAILED\",\"exitCode\":3,\"leaseExpiresMs\":\"5\"}");
	/* a number the .proto does not know stays a number */
	CHECK_VIA(job_d, "{\"status\":99}", "{\"status\":99}");
	CHECK_VIA(job_d, "{\"status\":-3}", "{\"status\":-3}");
	/* bytes: standard or URL-safe base64, padded or not; written standard */
	CHECK_VIA(progress, "{\"output\":\"AP/+\"}", "{\"output\":\"AP/+\"}");
	CHECK_VIA(progress, "{\"output\":\"AP_-\"}", "{\"output\":\"AP/+\"}");
	CHECK_VIA(progress, "{\"output\":\"aGk\"}", "{\"output\":\"aGk=\"}");
	CHECK_VIA(progress, "{\"output\":\"aGk=\"}", "{\"output\":\"aGk=\"}");
	CHECK_VIA(progress, "{\"output\":\"aA\"}", "{\"output\":\"aA==\"}");
	CHECK_VIA(progress, "{\"output\":\"\"}", "{}");
	struct pb p = to_pb(progress, "{\"output\":\"AP8A\"}");
	Whatsnext__V1__JobProgress *r = whatsnext__v1__job_progress__unpack(NULL, p.n, p.b);
	CHECK(r != NULL && r->output.len == 3);
	CHECK(memcmp(r->output.data, "\0\xff\0", 3) == 0);
	whatsnext__v1__job_progress__free_unpacked(r, NULL);
	free(p.b);
	/* text in UTF-8 passes as it is */
	CHECK_VIA(job_d, "{\"name\":\"caf\\u00e9 \xe6\x97\xa5\"}",
	          "{\"name\":\"caf\xc3\xa9 \xe6\x97\xa5\"}");
}

TEST(empty_body_is_an_empty_message)
{
	struct pb p = {NULL, 1};
	char *err = NULL;
	CHECK_OK(wn_pbjson_to_pb(submit, "", 0, &p.b, &p.n, &err));
	CHECK_EQ_INT(p.n, 0);
	free(p.b);
	struct pb q = to_pb(submit, " \r\n\t ");
	CHECK_EQ_INT(q.n, 0);
	free(q.b);
	struct pb r = to_pb(submit, " {} \n");
	CHECK_EQ_INT(r.n, 0);
	free(r.b);
}

TEST(refusals_name_the_field)
{
	CHECK_REFUSED(submit, "[]", "expected a json object, got an array");
	CHECK_REFUSED(submit, "\"x\"", "expected a json object, got a string");
	CHECK_REFUSED(submit, "null", "expected a json object, got null");
	CHECK_REFUSED(submit, "{\"x\":1}", "unknown field \"x\" in whatsnext.v1.SubmitRequest");
	CHECK_REFUSED(submit, "{\"job\":{\"Project\":\"p\"}}",
	              "unknown field \"job.Project\" in whatsnext.v1.JobSpec");
	CHECK_REFUSED(submit, "{\"job\":{\"params\":[]}}",
	              "field \"job.params\": expected an object, got an array");
	CHECK_REFUSED(submit, "{\"job\":[]}", "field \"job\": expected an object, got an array");
	CHECK_REFUSED(submit, "{\"job\":{\"params\":{\"lr\":0.1}}}",
	              "field \"job.params.lr\": expected a string, got a number");
	CHECK_REFUSED(submit, "{\"job\":{\"params\":{\"lr\":null}}}",
	              "field \"job.params.lr\": null as a map value");
	CHECK_REFUSED(submit, "{\"job\":{\"after\":{}}}",
	              "field \"job.after\": expected an array, got an object");
	CHECK_REFUSED(submit, "{\"job\":{\"after\":[{},{\"jobId\":true}]}}",
	              "field \"job.after[1].jobId\": expected an integer, got a boolean");
	CHECK_REFUSED(submit, "{\"job\":{\"after\":[null]}}",
	              "field \"job.after[0]\": null in an array");
	CHECK_REFUSED(submit, "{\"job\":{\"after\":[{\"condition\":\"AFTER\"}]}}",
	              "field \"job.after[0].condition\": unknown value \"AFTER\" of "
	              "whatsnext.v1.DepCondition");
	CHECK_REFUSED(submit, "{\"job\":{\"after\":[{\"condition\":true}]}}",
	              "field \"job.after[0].condition\": expected a name of "
	              "whatsnext.v1.DepCondition or a number, got a boolean");
	CHECK_REFUSED(submit, "{\"brief\":\"yes\"}",
	              "field \"brief\": expected a boolean, got a string");
	CHECK_REFUSED(submit, "{\"brief\":1}", "field \"brief\": expected a boolean, got a number");
	CHECK_REFUSED(submit, "{\"job\":{\"name\":\"a\\u0000b\"}}",
	              "field \"job.name\": the string holds a NUL byte");
	CHECK_REFUSED(submit, "{\"job\":{\"params\":{\"a\":\"x\\u0000\"}}}",
	              "field \"job.params.a\": the string holds a NUL byte");
	CHECK_REFUSED(submit, "{\"job\":{\"params\":{\"a\\u0000b\":\"x\"}}}",
	              "invalid json at line 1, column 28: NUL byte in object key");
	CHECK_REFUSED(submit, "{\"job\":{\"name\":7}}",
	              "field \"job.name\": expected a string, got a number");
	CHECK_REFUSED(job_d, "{\"createdMs\":\"1\",\"created_ms\":\"2\"}",
	              "field \"created_ms\": given twice, also as \"createdMs\"");
	CHECK_REFUSED(job_d, "{\"results\":{\"a\":{\"number\":1,\"text\":\"x\"}}}",
	              "field \"results.a.text\": \"number\" of the same oneof is set already");
	CHECK_REFUSED(job_d, "{\"results\":{\"a\":{\"text\":\"x\",\"number\":\"NaN\"}}}",
	              "field \"results.a.number\": \"text\" of the same oneof is set already");
	CHECK_REFUSED(job_d, "{\"status\":\"JOB_NOPE\"}",
	              "field \"status\": unknown value \"JOB_NOPE\" of whatsnext.v1.JobStatus");
	CHECK_REFUSED(job_d, "{\"status\":\"job_running\"}",
	              "field \"status\": unknown value \"job_running\" of whatsnext.v1.JobStatus");
	CHECK_REFUSED(job_d, "{\"status\":2147483648}",
	              "field \"status\": 2147483648 is out of range for an enum");
	CHECK_REFUSED(progress, "{\"output\":\"a\"}", "field \"output\": invalid base64");
	CHECK_REFUSED(progress, "{\"output\":\"aGk=a\"}", "field \"output\": invalid base64");
	CHECK_REFUSED(progress, "{\"output\":\"aG=k\"}", "field \"output\": invalid base64");
	CHECK_REFUSED(progress, "{\"output\":\"aGk\"=}", "invalid json at line 1, column ");
	CHECK_REFUSED(progress, "{\"output\":\"aA=\"}", "field \"output\": invalid base64");
	CHECK_REFUSED(progress, "{\"output\":\"a A=\"}", "field \"output\": invalid base64");
	CHECK_REFUSED(progress, "{\"output\":[1]}",
	              "field \"output\": expected a base64 string, got an array");
}

TEST(numbers_out_of_range_or_not_integral_are_refused)
{
	CHECK_REFUSED(list_d, "{\"pageSize\":2147483648}",
	              "field \"pageSize\": 2147483648 is out of range for int32");
	CHECK_REFUSED(list_d, "{\"page_size\":\"-2147483649\"}",
	              "field \"page_size\": -2147483649 is out of range for int32");
	CHECK_REFUSED(list_d, "{\"pageSize\":1.5}", "field \"pageSize\": 1.5 is not an integer");
	CHECK_REFUSED(list_d, "{\"pageSize\":\"1.5\"}",
	              "field \"pageSize\": 1.5 is not an integer");
	CHECK_REFUSED(list_d, "{\"pageSize\":\"12a\"}",
	              "field \"pageSize\": expected an integer, got a string that is not one");
	CHECK_REFUSED(list_d, "{\"pageSize\":\" 1\"}",
	              "field \"pageSize\": expected an integer, got a string that is not one");
	CHECK_REFUSED(list_d, "{\"pageSize\":\"\"}",
	              "field \"pageSize\": expected an integer, got a string that is not one");
	CHECK_REFUSED(list_d, "{\"pageSize\":3e9}",
	              "field \"pageSize\": 3e+09 is out of range for int32");
	CHECK_REFUSED(list_d, "{\"status\":{}}",
	              "field \"status\": expected a name of whatsnext.v1.JobStatus or a number, "
	              "got an object");
	CHECK_REFUSED(get_job, "{\"id\":-1}", "field \"id\": -1 is out of range for uint64");
	CHECK_REFUSED(get_job, "{\"id\":\"18446744073709551616\"}",
	              "field \"id\": 18446744073709551616 is out of range for uint64");
	CHECK_REFUSED(get_job, "{\"id\":1e20}", "field \"id\": 1e+20 is out of range for uint64");
	/* never rounded to the nearest integer */
	CHECK_REFUSED(get_job, "{\"id\":\"2051.0000000000001\"}",
	              "field \"id\": 2051.0000000000001 is not an integer");
	CHECK_REFUSED(get_job, "{\"id\":\"1e-400\"}", "field \"id\": 1e-400 is not an integer");
	CHECK_REFUSED(get_job, "{\"id\":\"1.8446744073709551616e19\"}",
	              "field \"id\": 1.8446744073709551616e19 is out of range for uint64");
	CHECK_REFUSED(get_job, "{\"id\":\"1e400\"}",
	              "field \"id\": 1e400 is out of range for uint64");
	/* a number with a point or an exponent past 2^53 may have been rounded */
	CHECK_REFUSED(get_job, "{\"id\":9007199254740993.0}",
	              "field \"id\": 9.0072e+15 is not exact as a number: write an integer this "
	              "large as a string of its digits");
	/* nor read through a double that made it one */
	CHECK_REFUSED(list_d, "{\"pageSize\":-1e-400}",
	              "field \"pageSize\": -1e-400 is not an integer");
	CHECK_REFUSED(list_d, "{\"pageSize\":1e-400}",
	              "field \"pageSize\": 1e-400 is not an integer");
	CHECK_REFUSED(get_job, "{\"id\":2051.0000000000001}",
	              "field \"id\": 2051.0000000000001 is not an integer");
	CHECK_REFUSED(get_job, "{\"id\":0.99999999999999999999}",
	              "field \"id\": 0.99999999999999999999 is not an integer");
	CHECK_REFUSED(
	    get_job, "{\"id\":-0.00000000000000000000000000000000000000000001e-300}",
	    "field \"id\": -0.0000000000000000000000000000000000000... is not an integer");
	/* each number is judged by its own text, whatever strings hold numbers */
	CHECK_REFUSED(
	    job_d, "{\"params\":{\"1.5\":\"2e-999\\\"1.0\"},\"attempt\":3e-999,\"createdMs\":1.0}",
	    "field \"attempt\": 3e-999 is not an integer");
	CHECK_REFUSED(job_d, "{\"attempt\":1.0,\"createdMs\":4e-999}",
	              "field \"createdMs\": 4e-999 is not an integer");
	CHECK_REFUSED(get_job, "{\"id\":[]}", "field \"id\": expected an integer, got an array");
	CHECK_REFUSED(job_d, "{\"createdMs\":\"9223372036854775808\"}",
	              "field \"createdMs\": 9223372036854775808 is out of range for int64");
	CHECK_REFUSED(job_d, "{\"attempt\":4294967296}",
	              "field \"attempt\": 4294967296 is out of range for uint32");
	CHECK_REFUSED(job_d, "{\"attempt\":-1}",
	              "field \"attempt\": -1 is out of range for uint32");
	const ProtobufCMessageDescriptor *pt = &whatsnext__v1__result_point__descriptor;
	CHECK_REFUSED(pt, "{\"value\":\"1e999\"}",
	              "field \"value\": number out of range for double");
	CHECK_REFUSED(pt, "{\"value\":\"nan\"}",
	              "field \"value\": expected a number, got a string that is not one");
	CHECK_REFUSED(pt, "{\"value\":\"0x10\"}",
	              "field \"value\": expected a number, got a string that is not one");
	CHECK_REFUSED(pt, "{\"value\":true}", "field \"value\": expected a number, got a boolean");
	CHECK_REFUSED(pt, "{\"value\":1e999}", "invalid json at line 1, column ");
}

/* batch_of writes a SubmitBatchRequest of n jobs, each with three
 * parameters (malloc'd). */
static char *batch_of(size_t n)
{
	wn_strbuf sb = WN_STRBUF_INIT;
	wn_strbuf_adds(&sb, "{\"jobs\":[");
	for (size_t i = 0; i < n; i++)
		wn_strbuf_addf(&sb,
		               "%s{\"project\":\"p\",\"task\":\"t\",\"params\":{\"lr\":"
		               "\"0.001\",\"bs\":\"32\",\"seed\":\"%zu\"}}",
		               i ? "," : "", i);
	wn_strbuf_adds(&sb, "]}");
	return sb.s;
}

TEST(a_text_too_costly_to_hold_is_refused_before_it_is_read)
{
	/* 1.2 million empty objects: 3.6 MB of text, 270 MB in memory */
	size_t n = 1200000, len = 0;
	char *json = wn_xmalloc(3 * n + 16);
	len += (size_t)sprintf(json, "{\"jobs\":[");
	for (size_t i = 0; i < n; i++) {
		memcpy(json + len, i ? ",{}" : "{}", i ? 3 : 2);
		len += i ? 3 : 2;
	}
	memcpy(json + len, "]}", 2);
	len += 2;
	uint8_t *pb = NULL;
	size_t pblen = 0;
	char *err = NULL;
	CHECK_EQ_INT(wn_pbjson_to_pb(&whatsnext__v1__submit_batch_request__descriptor, json, len,
	                             &pb, &pblen, &err),
	             WN_ETOOBIG);
	CHECK(pb == NULL && err != NULL);
	CHECK(strstr(err, "too many values") != NULL && strstr(err, "at most 256 MiB") != NULL);
	free(err);
	free(json);
	/* the largest batch the protocol takes, 100,000 jobs, is read */
	json = batch_of(100000);
	err = NULL;
	CHECK_EQ_INT(wn_pbjson_to_pb(&whatsnext__v1__submit_batch_request__descriptor, json,
	                             strlen(json), &pb, &pblen, &err),
	             WN_OK);
	Whatsnext__V1__SubmitBatchRequest *r =
	    whatsnext__v1__submit_batch_request__unpack(NULL, pblen, pb);
	CHECK(r != NULL && r->n_jobs == 100000);
	whatsnext__v1__submit_batch_request__free_unpacked(r, NULL);
	free(pb);
	free(json);
}

TEST(bad_json_text_is_refused)
{
	CHECK_REFUSED(submit, "{\"brief\":true,\"brief\":false}",
	              "invalid json at line 1, column ");
	CHECK_REFUSED(submit, "{} x", "invalid json at line 1, column ");
	CHECK_REFUSED(submit, "{}{}", "invalid json at line 1, column ");
	CHECK_REFUSED(submit, "{\"job\":{\"name\":\"\xff\"}}", "invalid json at line 1, column ");
	CHECK_REFUSED(submit, "{\"job\":{\"name\":\"\\ud800\"}}",
	              "invalid json at line 1, column ");
	CHECK_REFUSED(submit, "{\"job\":", "invalid json at line 1, column ");
	CHECK_REFUSED(submit, "{'job':1}", "invalid json at line 1, column ");
	CHECK_REFUSED(submit, "{\"brief\":true,}", "invalid json at line 1, column ");
	refused(submit, "{}\0", 3, "invalid json at line 1, column ");
	refused(submit, "{\"a\0\":1}", 8, "invalid json at line 1, column ");
	/* the whole message names what jansson found */
	char *err = NULL;
	uint8_t *pb;
	size_t n;
	const char *dup = "{\"brief\":true,\"brief\":false}";
	CHECK_EQ_INT(wn_pbjson_to_pb(submit, dup, strlen(dup), &pb, &n, &err), WN_EINVAL);
	CHECK(strstr(err, "duplicate object key") != NULL);
	free(err);
}

TEST(bad_protobuf_is_refused)
{
	char *json = NULL, *err = NULL;
	size_t n = 0;
	/* field 2 (project), a string holding a NUL byte */
	const uint8_t nul[] = {0x12, 0x03, 'a', 0, 'b'};
	CHECK_EQ_INT(wn_pbjson_from_pb(job_d, nul, sizeof(nul), &json, &n, &err), WN_EINVAL);
	CHECK(json == NULL && err != NULL);
	free(err);
	err = NULL;
	const uint8_t cut[] = {0x12, 0x05, 'a'};
	CHECK_EQ_INT(wn_pbjson_from_pb(job_d, cut, sizeof(cut), &json, &n, &err), WN_EINVAL);
	CHECK(json == NULL && err != NULL);
	free(err);
	/* a field the descriptor does not know is left out */
	const uint8_t unknown[] = {0x08, 0x05, 0xf8, 0x06, 0x01};
	struct pb p = {(uint8_t *)unknown, sizeof(unknown)};
	char *out = from_pb(get_job, p);
	CHECK_EQ_STR(out, "{\"id\":\"5\"}");
	free(out);
}

TEST(field_names)
{
	char buf[64];
	for (unsigned i = 0; i < job_d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &job_d->fields[i];
		wn_pbjson_name(f, buf, sizeof(buf));
		CHECK(strchr(buf, '_') == NULL);
	}
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(job_d, "submit_request_id");
	CHECK_EQ_STR(wn_pbjson_name(f, buf, sizeof(buf)), "submitRequestId");
	CHECK(wn_pbjson_is_map(protobuf_c_message_descriptor_get_field_by_name(job_d, "results")));
	CHECK(!wn_pbjson_is_map(protobuf_c_message_descriptor_get_field_by_name(job_d, "deps")));
}

/* A message that holds itself, which the .proto has none of: Node { Node child = 1;
 * map<string, Node> kids = 2; }, its descriptors written as protoc-c would. */
typedef struct node {
	ProtobufCMessage base;
	struct node *child;
	size_t n_kids;
	struct kid **kids;
} node;
typedef struct kid {
	ProtobufCMessage base;
	char *key;
	node *value;
} kid;
static const ProtobufCMessageDescriptor node_desc, kid_desc;
static const ProtobufCFieldDescriptor node_fields[] = {
    {"child", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_MESSAGE, 0, offsetof(node, child),
     &node_desc, NULL, 0, 0, NULL, NULL},
    {"kids", 2, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_MESSAGE, offsetof(node, n_kids),
     offsetof(node, kids), &kid_desc, NULL, 0, 0, NULL, NULL},
};
static const ProtobufCFieldDescriptor kid_fields[] = {
    {"key", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(kid, key), NULL,
     &protobuf_c_empty_string, 0, 0, NULL, NULL},
    {"value", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_MESSAGE, 0, offsetof(kid, value),
     &node_desc, NULL, 0, 0, NULL, NULL},
};
static const unsigned by_name[] = {0, 1};
static const ProtobufCIntRange ranges[] = {{1, 0}, {0, 2}};
static void node_init(ProtobufCMessage *m)
{
	*(node *)m = (node){PROTOBUF_C_MESSAGE_INIT(&node_desc), NULL, 0, NULL};
}
static void kid_init(ProtobufCMessage *m)
{
	*(kid *)m =
	    (kid){PROTOBUF_C_MESSAGE_INIT(&kid_desc), (char *)protobuf_c_empty_string, NULL};
}
static const ProtobufCMessageDescriptor node_desc = {PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
                                                     "test.Node",
                                                     "Node",
                                                     "Node",
                                                     "test",
                                                     sizeof(node),
                                                     2,
                                                     node_fields,
                                                     by_name,
                                                     1,
                                                     ranges,
                                                     node_init,
                                                     NULL,
                                                     NULL,
                                                     NULL};
static const ProtobufCMessageDescriptor kid_desc = {PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
                                                    "test.Node.KidsEntry",
                                                    "KidsEntry",
                                                    "Node__KidsEntry",
                                                    "test",
                                                    sizeof(kid),
                                                    2,
                                                    kid_fields,
                                                    by_name,
                                                    1,
                                                    ranges,
                                                    kid_init,
                                                    NULL,
                                                    NULL,
                                                    NULL};

/* nest is a Node JSON text with depth messages inside the top one, each in
 * "child" (or in a map entry, which counts as a message too, with kids). */
static char *nest(int depth, bool kids)
{
	size_t cap = (size_t)depth * 16 + 16, o = 0;
	char *s = malloc(cap);
	CHECK(s != NULL);
	for (int i = 0; i < depth; i++) {
		if (kids && i % 2 == 0 && i + 1 < depth) {
			o += (size_t)sprintf(s + o, "{\"kids\":{\"k\":");
			i++;
		} else {
			o += (size_t)sprintf(s + o, "{\"child\":");
		}
	}
	o += (size_t)sprintf(s + o, "{}");
	for (size_t i = 0, n = o; i < n; i++)
		if (s[i] == ':')
			s[o++] = '}';
	s[o] = '\0';
	return s;
}

TEST(messages_nest_as_deep_as_pbcheck_allows)
{
	for (int kids = 0; kids < 2; kids++) {
		char *ok = nest(WN_PB_DEPTH_MAX, kids);
		struct pb p = to_pb(&node_desc, ok);
		char *err = NULL;
		CHECK_OK(wn_pb_check(&node_desc, p.b, p.n, &err));
		char *out = from_pb(&node_desc, p);
		CHECK_EQ_STR(out, ok);
		free(out);
		free(p.b);
		free(ok);
		char *deep = nest(WN_PB_DEPTH_MAX + 1, kids);
		uint8_t *pb;
		size_t n;
		CHECK_EQ_INT(wn_pbjson_to_pb(&node_desc, deep, strlen(deep), &pb, &n, &err),
		             WN_EINVAL);
		CHECK(strstr(err, ": messages nest deeper than 32") != NULL);
		CHECK(strncmp(err, kids ? "field \"kids.k.kids.k." : "field \"child.child.", 19) ==
		      0);
		free(err);
		free(deep);
	}
}

/* The fuzzer's seeds (tests/fuzz/corpus/fuzz_pbjson) are real bodies: each is
 * read, and what it gives is written and read back to the same bytes. */
TEST(fuzz_seeds_are_accepted)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/fuzz_pbjson", SRC_DIR);
	DIR *dp = opendir(dir);
	CHECK(dp != NULL);
	int seen = 0;
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char path[8192], buf[65536];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "rb");
		CHECK(f != NULL);
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		CHECK(n >= 1);
		buf[n] = '\0';
		const wn_method *m = &wn_methods[((uint8_t)buf[0] >> 1) % WN_METHOD_COUNT];
		const ProtobufCMessageDescriptor *d = (buf[0] & 1) ? m->reply : m->request;
		struct pb p = to_pb(d, buf + 1);
		char *out = from_pb(d, p);
		same_bytes(d, out, p);
		free(out);
		free(p.b);
		seen++;
	}
	closedir(dp);
	CHECK(seen >= 10);
}

TEST_MAIN()
