/* records_output: the o/ records of a job's live output (records_output.h). */
#include "records_output.h"

#include "err.h"

#include <stdlib.h>

#include <string.h>

/* chunk_key writes the key of job id's chunk ending at end. */
static size_t chunk_key(char *buf, uint64_t id, uint64_t end)
{
	size_t n = wn_key_of_job(buf, WN_KEY_LOG, id);
	for (int i = 7; i >= 0; i--)
		buf[n++] = (char)(end >> (8 * i));
	return n;
}

/* chunk_end reads the end of a chunk from its key. */
static uint64_t chunk_end(const char *key)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)key[WN_KEY_ID_LEN + i];
	return v;
}

int wn_records_output_get(wn_records_call *rc, uint64_t id, Whatsnext__V1__OutputRecord **out)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, WN_KEY_LOG, id);
	return wn_records_get_msg(rc, key, kl, &whatsnext__v1__output_record__descriptor,
	                          (ProtobufCMessage **)out);
}

void wn_records_output_put(wn_batch *b, uint64_t id, const Whatsnext__V1__OutputRecord *m)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, WN_KEY_LOG, id);
	wn_records_put(b, key, kl, &m->base);
}

void wn_records_output_chunk_put(wn_batch *b, uint64_t id, uint64_t end, const void *data,
                                 size_t len)
{
	char key[WN_KEY_MAX];
	size_t kl = chunk_key(key, id, end);
	wn_batch_put(b, key, kl, data, len);
}

void wn_records_output_chunk_del(wn_batch *b, uint64_t id, uint64_t end)
{
	char key[WN_KEY_MAX];
	size_t kl = chunk_key(key, id, end);
	wn_batch_del(b, key, kl);
}

int wn_records_output_del_all(wn_records *r, wn_batch *b, uint64_t id)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_of_job(key, WN_KEY_LOG, id);
	return wn_records_del_prefix(r, b, key, kl);
}

int wn_records_output_chunks(wn_records *r, uint64_t id, uint64_t from, wn_records_chunk_fn fn,
                             void *arg)
{
	char prefix[WN_KEY_MAX], start[WN_KEY_MAX];
	size_t pl = wn_key_of_job(prefix, WN_KEY_LOG, id);
	size_t sl = chunk_key(start, id, from == UINT64_MAX ? from : from + 1);
	wn_store_iter *it = wn_store_iter_new(wn_records_store(r), prefix, pl, start, sl);
	const char *k, *v;
	size_t kl, vl;
	while (wn_store_iter_next(it, &k, &kl, &v, &vl)) {
		if (kl != WN_KEY_OUTPUT_CHUNK_LEN)
			continue; /* not a chunk (wnd --check names it) */
		uint64_t end = chunk_end(k);
		if (vl > end)
			continue; /* a chunk cannot start before byte 0 */
		if (!fn(arg, end - vl, v, vl))
			break;
	}
	int rv = wn_store_iter_error(it) != NULL ? WN_EIO : WN_OK;
	wn_store_iter_free(it);
	return rv;
}
