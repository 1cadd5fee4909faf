/* template: the placeholder language of formatter configs. "{name}" is
 * replaced by the value the lookup gives for name, "{{" and "}}" stand for
 * literal braces, everything else is copied byte for byte. A name is one or
 * more of [A-Za-z0-9_.-]. The result is a plain string: nothing in it is ever
 * interpreted again (no shell, no nested placeholders). */
#ifndef WN_TEMPLATE_H
#define WN_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

/* Longest placeholder name, in bytes. */
#define WN_TEMPLATE_NAME_MAX 128

/* A lookup returns the value of name, or NULL when it has none (the lookup
 * may note the name to report all missing ones together). */
typedef const char *(*wn_template_lookup)(void *ctx, const char *name);

/* wn_template_render expands src into a malloc'd *out. Returns WN_EINVAL for
 * a malformed template ("unclosed '{' at column 7") or WN_ENOTFOUND for a
 * name the lookup does not know ("missing parameter 'lr'"), with a malloc'd
 * *errmsg and *out NULL; every placeholder is looked up even after a miss. */
int wn_template_render(const char *src, wn_template_lookup lookup, void *ctx, char **out,
                       char **errmsg);

/* wn_template_names tells whether src holds the placeholder {name}, or
 * any placeholder when name is NULL. */
bool wn_template_names(const char *src, const char *name);

/* wn_template_check validates the syntax of src without looking anything up;
 * on WN_EINVAL *errmsg gets a malloc'd message. */
int wn_template_check(const char *src, char **errmsg);

#endif
