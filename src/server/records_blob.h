/* records_blob: the records of stored artifacts (keys b/ID..., keys.h), part
 * of the records layer. Each file of a job has a record and its content in
 * chunks:
 *
 *   b/ID 'a' PATH             ArtifactRecord: what the upload announced
 *                             (size, sha256), how much arrived, the attempt
 *                             and the job's project
 *   b/ID 'c' PATH NUL END     a chunk: the bytes of the file that end at
 *                             offset END (8 bytes big-endian), so that the
 *                             chunk holding an offset is the first key past it
 *
 * Paths hold no NUL (the server refuses such strings), so a file's chunks
 * are exactly the keys that start with b/ID 'c' PATH NUL. Changing this
 * changes the on-disk format: bump WN_STORE_VERSION (store.h). */
#ifndef WN_RECORDS_BLOB_H
#define WN_RECORDS_BLOB_H

#include "records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* wn_records_blob_get reads the record of file path of job id, unpacked into
 * rc's allocator; WN_ENOTFOUND if absent, WN_EINTERNAL if it does not
 * unpack, the store's error if it cannot be read. */
int wn_records_blob_get(wn_records_call *rc, uint64_t id, const char *path,
                        Whatsnext__V1__ArtifactRecord **out);
/* wn_records_blob_put adds the record of file path of job id to b. */
void wn_records_blob_put(wn_batch *b, uint64_t id, const char *path,
                         const Whatsnext__V1__ArtifactRecord *rec);
/* wn_records_blob_chunk_put adds the chunk of file path of job id that ends
 * at offset end (len bytes of data) to b. */
void wn_records_blob_chunk_put(wn_batch *b, uint64_t id, const char *path, uint64_t end,
                               const void *data, size_t len);
/* wn_records_blob_del adds to b the deletes of the record and every chunk of
 * file path of job id: WN_EIO (logged) with nothing added if the chunks
 * cannot all be read. */
int wn_records_blob_del(wn_records *r, wn_batch *b, uint64_t id, const char *path);

/* A file of a job, as a walk finds it: its path (NUL-terminated, valid
 * during the call only) and its record (NULL when unreadable). */
typedef bool (*wn_records_blob_fn)(void *arg, uint64_t id, const char *path,
                                   const Whatsnext__V1__ArtifactRecord *rec);
/* wn_records_blob_walk calls fn for each file of job id in path order (id 0:
 * of every job), until fn returns false; a read error gives WN_EIO. */
int wn_records_blob_walk(wn_records *r, uint64_t id, wn_records_blob_fn fn, void *arg);

/* A chunk read: the bytes of a file from offset `start`, `len` long. */
typedef bool (*wn_records_chunk_fn)(void *arg, uint64_t start, const char *data, size_t len);
/* wn_records_blob_read calls fn for the chunks of file path of job id in
 * order, from the one that holds offset `from`, until fn returns false;
 * WN_EUNAVAIL when the store cannot be read, WN_EIO on a chunk that is not
 * where its key says. */
int wn_records_blob_read(wn_records *r, uint64_t id, const char *path, uint64_t from,
                         wn_records_chunk_fn fn, void *arg);

#endif
