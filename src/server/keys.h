/* keys: the key schema of the store, the one place its prefixes are spelled.
 *
 *   m/version            the data layout version (decimal text, store.h)
 *   m/next_id            a bound above every job id handed out (decimal text)
 *   p/PROJECT            Project
 *   t/PROJECT/TASK       Task
 *   j/ID                 Job; ID is 8 bytes big-endian, so keys sort by id
 *   s/ID                 Sweep, under the id of its first job
 *   w/WORKER             Worker
 *   i/ID                 the reply stored for a request id (replay.c)
 *   a/NAME               TokenRecord: a named token and its secret's SHA-256
 *   r/ID                 the result history of job ID (docs/results.md)
 *   o/ID...              the live output of job ID: ID and then what the
 *                        output's module puts after it (offsets)
 *   b/ID...              the stored artifacts of job ID: ID and then what
 *                        the artifacts' module puts after it
 *   x/KEY                the bytes of KEY's unreadable record, set aside by
 *                        `wnd --check --repair`; wnd reads none
 *
 * A key's printable name (wnd --check, wnstore) writes the 8-byte ids in
 * decimal: j/42, s/7, i/N, r/42, x/j/42; o/42/ and b/42/ followed by the rest
 * of the key, escaped. Changing any of this changes the on-disk
 * format: bump WN_STORE_VERSION (store.h). A leaf: it depends on nothing of
 * the server, and the store takes its version key and the job key's grouping
 * from here. */
#ifndef WN_KEYS_H
#define WN_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kinds of key, each its prefix letter. */
enum wn_key_kind {
	WN_KEY_META = 'm',
	WN_KEY_PROJECT = 'p',
	WN_KEY_TASK = 't',
	WN_KEY_JOB = 'j',
	WN_KEY_SWEEP = 's',
	WN_KEY_WORKER = 'w',
	WN_KEY_REQ = 'i',
	WN_KEY_ASIDE = 'x',
	WN_KEY_TOKEN = 'a',
	WN_KEY_HISTORY = 'r',
	WN_KEY_LOG = 'o',
	WN_KEY_BLOB = 'b',
};

/* Room for any key the builders write (names are at most WN_NAME_MAX). */
#define WN_KEY_MAX 300
/* Length of every prefix: its letter and '/'. */
#define WN_KEY_PREFIX_LEN 2
/* Length of a key of an id (j/, s/, i/): the prefix and 8 bytes. */
#define WN_KEY_ID_LEN 10
/* Job keys that share their first WN_KEY_JOB_GROUP_LEN bytes are 256 jobs of
 * consecutive ids (the store's memtable insert hint groups by it). */
#define WN_KEY_JOB_GROUP_LEN 9

/* The meta keys, and their lengths. */
#define WN_KEY_VERSION     "m/version"
#define WN_KEY_NEXT_ID     "m/next_id"
#define WN_KEY_VERSION_LEN (sizeof(WN_KEY_VERSION) - 1)
#define WN_KEY_NEXT_ID_LEN (sizeof(WN_KEY_NEXT_ID) - 1)

/* wn_key_prefix returns the prefix of kind ("j/"), WN_KEY_PREFIX_LEN bytes
 * and a NUL. */
const char *wn_key_prefix(enum wn_key_kind kind);
/* wn_key_prefix_end writes the first key after every key of kind ("j0") into
 * buf and returns its length (for ranges: [prefix, end)). */
size_t wn_key_prefix_end(char *buf, enum wn_key_kind kind);
/* wn_key_kind returns the kind of key, or 0 if its prefix is none of them. */
int wn_key_kind(const char *key, size_t klen);

/* wn_key_project writes the key of project name into buf (WN_KEY_MAX bytes)
 * and returns its length; so do the other builders. */
size_t wn_key_project(char *buf, const char *name);
/* wn_key_task writes the key of task name of project. */
size_t wn_key_task(char *buf, const char *project, const char *name);
/* wn_key_task_prefix writes the prefix of the keys of project's tasks. */
size_t wn_key_task_prefix(char *buf, const char *project);
/* wn_key_job writes the key of job id. */
size_t wn_key_job(char *buf, uint64_t id);
/* wn_key_sweep writes the key of sweep id. */
size_t wn_key_sweep(char *buf, uint64_t id);
/* wn_key_worker writes the key of worker name. */
size_t wn_key_worker(char *buf, const char *name);
/* wn_key_token writes the key of token name. */
size_t wn_key_token(char *buf, const char *name);
/* wn_key_req writes the key of the reply stored for request id. */
size_t wn_key_req(char *buf, uint64_t id);
/* wn_key_of_job writes the key of kind for job id (j/, r/), which is also
 * the prefix of the keys of job id of the kinds that hold several (o/, b/);
 * the keys of those of job id are [wn_key_of_job(id), wn_key_of_job(id + 1)). */
size_t wn_key_of_job(char *buf, enum wn_key_kind kind, uint64_t id);
/* wn_key_id returns the id of a key of an id (WN_KEY_ID_LEN bytes: j/, s/,
 * i/). */
uint64_t wn_key_id(const char *key);
/* wn_key_is_id reports whether key (klen bytes) is a key of an id of kind. */
bool wn_key_is_id(const char *key, size_t klen, enum wn_key_kind kind);

/* wn_key_name writes the printable name of key (klen bytes) into buf (cap
 * bytes, NUL-terminated): j/42 for a key of an id, x/ and the name of the key
 * set aside, any other byte outside printable ASCII (and '\') as \xNN. */
void wn_key_name(char *buf, size_t cap, const char *key, size_t klen);
/* wn_key_id_name writes the printable name of the key of id of kind ("j/42"). */
void wn_key_id_name(char *buf, size_t cap, enum wn_key_kind kind, uint64_t id);
/* wn_key_parse_name turns a printable name back into the key's bytes (buf,
 * cap bytes), setting *klen; false if the name is malformed or too long. */
bool wn_key_parse_name(const char *name, char *buf, size_t cap, size_t *klen);
/* wn_key_aside writes x/ and key (klen bytes) into buf (klen + 2 bytes), the
 * key its unreadable record is set aside under, and returns its length. */
size_t wn_key_aside(char *buf, const char *key, size_t klen);

#endif
