/* records_blob: the records of stored artifacts (records_blob.h). */
#include "records_blob.h"

#include "err.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Which part of b/ID a key is. */
enum { BLOB_RECORD = 'a', BLOB_CHUNK = 'c' };

/* blob_key writes into a new buffer b/ID, part and path (with its NUL when
 * nul); *len gets the length (room for 8 more bytes is left). */
static char *blob_key(uint64_t id, char part, const char *path, bool nul, size_t *len)
{
	size_t pl = path ? strlen(path) : 0;
	char *k = wn_xmalloc(WN_KEY_ID_LEN + 1 + pl + 1 + 8);
	size_t n = wn_key_of_job(k, WN_KEY_BLOB, id);
	k[n++] = part;
	memcpy(k + n, path ? path : "", pl);
	n += pl;
	if (nul)
		k[n++] = '\0';
	*len = n;
	return k;
}

static void put_u64be(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

static uint64_t get_u64be(const char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)p[i];
	return v;
}

int wn_records_blob_get(wn_records_call *rc, uint64_t id, const char *path,
                        Whatsnext__V1__ArtifactRecord **out)
{
	size_t kl;
	char *key = blob_key(id, BLOB_RECORD, path, false, &kl);
	char *val = NULL;
	size_t vl = 0;
	int rv = wn_records_read_ok(rc, wn_store_get(wn_records_store(rc->r), key, kl, &val, &vl));
	free(key);
	if (rv != WN_OK)
		return rv;
	*out = whatsnext__v1__artifact_record__unpack(rc->pa, vl, (const uint8_t *)val);
	free(val);
	return *out != NULL ? WN_OK : WN_EINTERNAL;
}

void wn_records_blob_put(wn_batch *b, uint64_t id, const char *path,
                         const Whatsnext__V1__ArtifactRecord *rec)
{
	size_t kl;
	char *key = blob_key(id, BLOB_RECORD, path, false, &kl);
	wn_records_put(b, key, kl, &rec->base);
	free(key);
}

void wn_records_blob_chunk_put(wn_batch *b, uint64_t id, const char *path, uint64_t end,
                               const void *data, size_t len)
{
	size_t kl;
	char *key = blob_key(id, BLOB_CHUNK, path, true, &kl);
	put_u64be(key + kl, end);
	wn_batch_put(b, key, kl + 8, data, len);
	free(key);
}

int wn_records_blob_del(wn_records *r, wn_batch *b, uint64_t id, const char *path)
{
	size_t kl;
	char *key = blob_key(id, BLOB_CHUNK, path, true, &kl);
	int rv = wn_records_del_prefix(r, b, key, kl);
	free(key);
	if (rv != WN_OK)
		return rv; /* the record stays with its chunks */
	key = blob_key(id, BLOB_RECORD, path, false, &kl);
	wn_batch_del(b, key, kl);
	free(key);
	return WN_OK;
}

/* blob_walk_one calls fn for the record under key k (kl bytes, of b/ID 'a');
 * false when fn says stop. */
static bool blob_walk_one(const char *k, size_t kl, const char *v, size_t vl, wn_records_blob_fn fn,
                          void *arg)
{
	size_t pl = kl - WN_KEY_ID_LEN - 1;
	char *path = wn_xmalloc(pl + 1);
	memcpy(path, k + WN_KEY_ID_LEN + 1, pl);
	path[pl] = '\0';
	Whatsnext__V1__ArtifactRecord *rec =
	    whatsnext__v1__artifact_record__unpack(NULL, vl, (const uint8_t *)v);
	bool more = fn(arg, wn_key_id(k), path, rec);
	if (rec != NULL)
		whatsnext__v1__artifact_record__free_unpacked(rec, NULL);
	free(path);
	return more;
}

int wn_records_blob_walk(wn_records *r, uint64_t id, wn_records_blob_fn fn, void *arg)
{
	/* every job's records come before its chunks: walk them, then skip to
	 * the next job */
	char prefix[WN_KEY_MAX];
	size_t pl =
	    id ? wn_key_of_job(prefix, WN_KEY_BLOB, id) : strlen(wn_key_prefix(WN_KEY_BLOB));
	if (id == 0)
		memcpy(prefix, wn_key_prefix(WN_KEY_BLOB), pl);
	char start[WN_KEY_ID_LEN + 1];
	size_t sl = wn_key_of_job(start, WN_KEY_BLOB, id);
	start[sl++] = BLOB_RECORD;
	int rv = WN_OK;
	bool more = true;
	while (more) {
		wn_store_iter *it = wn_store_iter_new(wn_records_store(r), prefix, pl, start, sl);
		const char *k, *v;
		size_t kl, vl;
		bool skipped = false;
		while (more && wn_store_iter_next(it, &k, &kl, &v, &vl)) {
			if (kl > WN_KEY_ID_LEN && k[WN_KEY_ID_LEN] == BLOB_RECORD) {
				more = blob_walk_one(k, kl, v, vl, fn, arg);
				continue;
			}
			/* a chunk: the records of this job are over */
			uint64_t next = wn_key_id(k) + 1;
			if (id != 0 || kl < WN_KEY_ID_LEN || next == 0)
				more = false;
			else {
				sl = wn_key_of_job(start, WN_KEY_BLOB, next);
				skipped = true;
			}
			break;
		}
		if (wn_store_iter_error(it) != NULL)
			rv = WN_EIO;
		wn_store_iter_free(it);
		if (!skipped || rv != WN_OK)
			break;
	}
	return rv;
}

int wn_records_blob_read(wn_records *r, uint64_t id, const char *path, uint64_t from,
                         wn_records_chunk_fn fn, void *arg)
{
	size_t kl;
	char *key = blob_key(id, BLOB_CHUNK, path, true, &kl);
	char *start = wn_xmalloc(kl + 8);
	memcpy(start, key, kl);
	put_u64be(start + kl, from + 1); /* the first chunk that ends past from */
	wn_store_iter *it = wn_store_iter_new(wn_records_store(r), key, kl, start, kl + 8);
	const char *k, *v;
	size_t klen, vl;
	int rv = WN_OK;
	while (wn_store_iter_next(it, &k, &klen, &v, &vl)) {
		uint64_t end = klen == kl + 8 ? get_u64be(k + kl) : 0;
		if (klen != kl + 8 || end < vl) {
			rv = WN_EIO;
			break;
		}
		if (!fn(arg, end - vl, v, vl))
			break;
	}
	if (rv == WN_OK && wn_store_iter_error(it) != NULL)
		rv = WN_EUNAVAIL;
	wn_store_iter_free(it);
	free(start);
	free(key);
	return rv;
}
