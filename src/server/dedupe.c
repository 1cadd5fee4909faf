#include "dedupe.h"

#include "map.h"
#include "util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct dentry {
	uint64_t id;
	const char *method; /* static string from the method table */
	uint64_t caller;    /* who sent it (wn_dedupe_begin) */
	bool done;
	bool parked;
	bool again; /* done without a reply kept: a repeat executes again */
	uint8_t *reply;
	size_t len;
	int64_t at;
	struct dentry *next; /* age order */
};

/* What an entry costs besides its reply: the entry itself, the malloc
 * headers of it and of its reply, and its share of the id map (16-byte slots,
 * 3/8 to 3/4 full). */
#define DEDUPE_ENTRY_COST (sizeof(struct dentry) + 2 * 16 + 32)

struct dedupe {
	pthread_mutex_t mu;
	wn_map *byid;
	struct dentry *oldest, *newest;
	int64_t max_age;
	size_t max_bytes, bytes;
};

struct dedupe *wn_dedupe_new(int64_t max_age_ms, size_t max_bytes)
{
	struct dedupe *d = wn_xcalloc(1, sizeof(*d));
	pthread_mutex_init(&d->mu, NULL);
	d->byid = wn_map_new_u64();
	d->max_age = max_age_ms;
	d->max_bytes = max_bytes;
	return d;
}

void wn_dedupe_free(struct dedupe *d)
{
	if (d == NULL)
		return;
	struct dentry *x = d->oldest;
	while (x != NULL) {
		struct dentry *n = x->next;
		free(x->reply);
		free(x);
		x = n;
	}
	wn_map_free(d->byid);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* dedupe_evict drops finished entries that are too old or over the byte budget. */
static void dedupe_evict(struct dedupe *d, int64_t now)
{
	while (d->oldest != NULL && d->oldest->done &&
	       (d->bytes > d->max_bytes || now - d->oldest->at > d->max_age)) {
		struct dentry *x = d->oldest;
		d->oldest = x->next;
		if (d->oldest == NULL)
			d->newest = NULL;
		wn_map_del_u64(d->byid, x->id);
		d->bytes -= x->len + DEDUPE_ENTRY_COST;
		free(x->reply);
		free(x);
	}
}

int wn_dedupe_begin(struct dedupe *d, uint64_t id, const char *method, uint64_t caller,
                    int64_t now_ms, uint8_t **reply, size_t *len)
{
	pthread_mutex_lock(&d->mu);
	dedupe_evict(d, now_ms);
	struct dentry *x = wn_map_get_u64(d->byid, id);
	int rv = DEDUPE_NEW;
	if (x != NULL && x->caller != caller) {
		rv = DEDUPE_CALLER;
	} else if (x != NULL && x->method != method) {
		rv = DEDUPE_MISMATCH;
	} else if (x != NULL && !x->done) {
		rv = x->parked ? DEDUPE_PARKED : DEDUPE_RUNNING;
	} else if (x != NULL && x->again) {
		x->done = x->again = false; /* in flight again, answered again */
	} else if (x != NULL) {
		*reply = wn_xmalloc(x->len);
		memcpy(*reply, x->reply, x->len);
		*len = x->len;
		rv = DEDUPE_DONE;
	} else {
		x = wn_xcalloc(1, sizeof(*x));
		x->id = id;
		x->method = method;
		x->caller = caller;
		x->at = now_ms;
		wn_map_put_u64(d->byid, id, x);
		if (d->newest != NULL)
			d->newest->next = x;
		else
			d->oldest = x;
		d->newest = x;
		d->bytes += DEDUPE_ENTRY_COST;
	}
	pthread_mutex_unlock(&d->mu);
	return rv;
}

void wn_dedupe_park(struct dedupe *d, uint64_t id)
{
	pthread_mutex_lock(&d->mu);
	struct dentry *x = wn_map_get_u64(d->byid, id);
	if (x != NULL && !x->done)
		x->parked = true;
	pthread_mutex_unlock(&d->mu);
}

void wn_dedupe_finish(struct dedupe *d, uint64_t id, const uint8_t *reply, size_t len)
{
	pthread_mutex_lock(&d->mu);
	struct dentry *x = wn_map_get_u64(d->byid, id);
	if (x != NULL && !x->done && reply == NULL) {
		x->done = x->again = true;
	} else if (x != NULL && !x->done) {
		x->reply = wn_xmalloc(len);
		memcpy(x->reply, reply, len);
		x->len = len;
		x->done = true;
		d->bytes += len;
	}
	pthread_mutex_unlock(&d->mu);
}

void wn_dedupe_abort(struct dedupe *d, uint64_t id)
{
	pthread_mutex_lock(&d->mu);
	struct dentry *x = wn_map_get_u64(d->byid, id);
	if (x != NULL && !x->done) {
		/* keep it in the age list as a finished empty entry that never matches */
		wn_map_del_u64(d->byid, id);
		x->done = true;
		x->id = 0;
	}
	pthread_mutex_unlock(&d->mu);
}
