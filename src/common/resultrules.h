/* resultrules: what a job's result may be (docs/results.md), one rule for
 * the worker that reads a results file and the server that stores what a
 * worker sends. */
#ifndef WN_RESULTRULES_H
#define WN_RESULTRULES_H

#include <stdbool.h>
#include <stddef.h>

#define WN_RESULT_KEYS_MAX 64  /* distinct keys of one attempt */
#define WN_RESULT_KEY_MAX  64  /* bytes of a key */
#define WN_RESULT_TEXT_MAX 256 /* bytes of a text value */

/* wn_result_key_check returns NULL when the len bytes at key may name a
 * result, else why not: 1 to WN_RESULT_KEY_MAX letters, digits and "_.-/",
 * starting with a letter or '_'. */
const char *wn_result_key_check(const char *key, size_t len);

/* wn_result_text_check returns NULL when the len bytes at s may be a text
 * result, else why not: at most WN_RESULT_TEXT_MAX bytes of valid UTF-8
 * without control characters. */
const char *wn_result_text_check(const char *s, size_t len);

/* wn_result_number_check returns NULL when v may be a number result (it is
 * finite), else why not. */
const char *wn_result_number_check(double v);

#endif
