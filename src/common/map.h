/* map: open-addressing hash maps from uint64_t or C-string keys to pointers. */
#ifndef WN_MAP_H
#define WN_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wn_map wn_map;

/* wn_map_new_u64 creates a map keyed by uint64_t. */
/* wn_hash_bytes hashes len bytes at p to 64 bits (fast, not for secrets:
 * what the maps use, and what tells a changed buffer from its last look). */
uint64_t wn_hash_bytes(const void *p, size_t len);

wn_map *wn_map_new_u64(void);
/* wn_map_new_str creates a map keyed by NUL-terminated strings; the map keeps
 * its own copy of each key. */
wn_map *wn_map_new_str(void);
/* wn_map_free frees the map (not the values); NULL is a no-op. */
void wn_map_free(wn_map *m);

/* wn_map_put_u64 sets key to val, replacing any previous value. */
void wn_map_put_u64(wn_map *m, uint64_t key, void *val);
/* wn_map_get_u64 returns the value for key, or NULL. */
void *wn_map_get_u64(const wn_map *m, uint64_t key);
/* wn_map_del_u64 removes key and returns its value, or NULL if absent. */
void *wn_map_del_u64(wn_map *m, uint64_t key);

/* wn_map_put_str sets key to val, replacing any previous value. */
void wn_map_put_str(wn_map *m, const char *key, void *val);
/* wn_map_get_str returns the value for key, or NULL. */
void *wn_map_get_str(const wn_map *m, const char *key);
/* wn_map_del_str removes key and returns its value, or NULL if absent. */
void *wn_map_del_str(wn_map *m, const char *key);

/* wn_map_count returns the number of entries. */
size_t wn_map_count(const wn_map *m);

/* Iteration in no particular order; the map must not change meanwhile.
 * size_t pos = 0; while (wn_map_next(m, &pos, &ukey, &skey, &val)) ... */
bool wn_map_next(const wn_map *m, size_t *pos, uint64_t *ukey, const char **skey, void **val);

#endif
