/* records_list: the lists of projects and tasks, the job filter, and the
 * upkeep of the records' store (compaction, checkpoints), on top of the
 * records' public calls (records.h). */
#include "records.h"

#include "err.h"
#include "keys.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

void wn_records_compact_jobs(wn_records *r)
{
	char end[WN_KEY_PREFIX_LEN];
	size_t el = wn_key_prefix_end(end, WN_KEY_JOB);
	wn_store_compact(wn_records_store(r), wn_key_prefix(WN_KEY_JOB), WN_KEY_PREFIX_LEN, end,
	                 el);
}

void wn_records_compact_side(wn_records *r, uint64_t id, bool one)
{
	static const enum wn_key_kind kinds[] = {WN_KEY_LOG, WN_KEY_BLOB};
	for (size_t i = 0; i < WN_ARRAY_LEN(kinds); i++) {
		char start[WN_KEY_MAX], end[WN_KEY_MAX];
		size_t sl = one ? wn_key_of_job(start, kinds[i], id)
		                : (memcpy(start, wn_key_prefix(kinds[i]), WN_KEY_PREFIX_LEN),
		                   (size_t)WN_KEY_PREFIX_LEN);
		size_t el =
		    one ? wn_key_of_job(end, kinds[i], id + 1) : wn_key_prefix_end(end, kinds[i]);
		wn_store_compact(wn_records_store(r), start, sl, end, el);
	}
}

bool wn_records_job_match(const wn_job_filter *f, const Whatsnext__V1__Job *j)
{
	if (f->task != NULL && f->task[0] && strcmp(j->task, f->task) != 0)
		return false;
	if (f->submitter != NULL && f->submitter[0] && strcmp(j->submitter, f->submitter) != 0)
		return false;
	if (f->statuses != 0 && ((unsigned)j->status >= 32 || !(f->statuses & (1u << j->status))))
		return false;
	if (f->name_glob != NULL && f->name_glob[0] && fnmatch(f->name_glob, j->name, 0) != 0)
		return false;
	if (f->held && !j->held)
		return false;
	if (f->n_projects == 0)
		return true;
	for (size_t i = 0; i < f->n_projects; i++)
		if (strcmp(j->project, f->projects[i]) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------ lists */

struct list {
	wn_records_call *rc;
	const ProtobufCMessageDescriptor *d;
	int status; /* projects: 0 any */
	ProtobufCMessage **v;
	size_t n, cap;
};

static bool list_one(void *arg, const char *key, size_t klen, const char *val, size_t vlen)
{
	(void)key, (void)klen;
	struct list *l = arg;
	if (l->n == l->cap)
		return false;
	ProtobufCMessage *m =
	    protobuf_c_message_unpack(l->d, l->rc->pa, vlen, (const uint8_t *)val);
	if (m == NULL)
		return true;
	if (l->status != 0 && (int)((Whatsnext__V1__Project *)m)->status != l->status)
		return true;
	l->v[l->n++] = m;
	return true;
}

size_t wn_records_project_list(wn_records_call *rc, int status, Whatsnext__V1__Project **v,
                               size_t cap)
{
	struct list l = {rc, &whatsnext__v1__project__descriptor, status, (ProtobufCMessage **)v, 0,
	                 cap};
	char *why = NULL;
	if (wn_records_walk(rc->r, WN_KEY_PROJECT, list_one, &l, &why) != WN_OK) {
		wn_error("store read failed: %s", why);
		wn_records_read_ok(rc, WN_EIO);
	}
	free(why);
	return l.n;
}

size_t wn_records_task_list(wn_records_call *rc, const char *project, Whatsnext__V1__Task **v,
                            size_t cap)
{
	struct list l = {rc, &whatsnext__v1__task__descriptor, 0, (ProtobufCMessage **)v, 0, cap};
	char key[WN_KEY_MAX];
	size_t kl = wn_key_task_prefix(key, project);
	const char *k, *val;
	size_t tkl, vl;
	wn_store_iter *it = wn_store_iter_new(wn_records_store(rc->r), key, kl, NULL, 0);
	while (wn_store_iter_next(it, &k, &tkl, &val, &vl) && list_one(&l, k, tkl, val, vl))
		;
	wn_records_read_ok(rc, wn_records_scan_end(it));
	return l.n;
}

int wn_records_checkpoint(wn_records *r, const char *dir, char **errmsg)
{
	return wn_store_checkpoint(wn_records_store(r), dir, errmsg);
}

int wn_records_last_job_id(const char *dir, uint64_t *id, char **errmsg)
{
	char *key = NULL;
	size_t klen = 0;
	int rv = wn_store_last_key(dir, wn_key_prefix(WN_KEY_JOB), WN_KEY_PREFIX_LEN, &key, &klen,
	                           errmsg);
	if (rv == WN_OK && klen == WN_KEY_ID_LEN)
		*id = wn_key_id(key);
	else if (rv == WN_OK)
		rv = WN_ENOTFOUND;
	free(key);
	return rv;
}
