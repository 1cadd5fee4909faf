/* records_output: the records of a job's live output (output.c), part of
 * the records layer. Job ID's output is one record o/ID (an OutputRecord:
 * its attempt, the first byte kept, the bytes received, gaps) and chunks of
 * its bytes under o/ID + the 8-byte big-endian offset of the chunk's END
 * (exclusive), so that the chunk holding byte X is the first key after
 * o/ID + (X + 1) - 1; a chunk starts at its end minus its length. Changing
 * this changes the on-disk format: bump WN_STORE_VERSION (store.h). */
#ifndef WN_RECORDS_OUTPUT_H
#define WN_RECORDS_OUTPUT_H

#include "records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length of a chunk's key: o/ID then the chunk's end. */
#define WN_KEY_OUTPUT_CHUNK_LEN (WN_KEY_ID_LEN + 8)

/* wn_records_output_get reads job id's OutputRecord into the call's
 * allocator: WN_ENOTFOUND when the job has none, WN_EINTERNAL when it does
 * not unpack, or the store's error. */
int wn_records_output_get(wn_records_call *rc, uint64_t id, Whatsnext__V1__OutputRecord **out);
/* wn_records_output_put adds job id's OutputRecord m to b. */
void wn_records_output_put(wn_batch *b, uint64_t id, const Whatsnext__V1__OutputRecord *m);
/* wn_records_output_chunk_put adds to b the chunk of job id's output that
 * ends at byte end and holds len bytes of data. */
void wn_records_output_chunk_put(wn_batch *b, uint64_t id, uint64_t end, const void *data,
                                 size_t len);
/* wn_records_output_chunk_del deletes the chunk of job id that ends at end
 * in b. */
void wn_records_output_chunk_del(wn_batch *b, uint64_t id, uint64_t end);
/* wn_records_output_del_all deletes every o/ key of job id in b: WN_EIO
 * (logged) with none deleted if they cannot all be read. */
int wn_records_output_del_all(wn_records *r, wn_batch *b, uint64_t id);

/* wn_records_chunk_fn gets one chunk of a walk: where it starts, its bytes
 * (valid until it returns); false stops the walk. */
typedef bool (*wn_records_chunk_fn)(void *arg, uint64_t start, const char *data, size_t len);
/* wn_records_output_chunks calls fn for each chunk of job id that ends
 * after byte from, in order, until fn returns false; WN_OK, or WN_EIO when a
 * read error ended the walk. */
int wn_records_output_chunks(wn_records *r, uint64_t id, uint64_t from, wn_records_chunk_fn fn,
                             void *arg);

#endif
