/* webassets: the dashboard's files (web/), embedded into wnd when it is built
 * (scripts/embed-web.sh writes the table), served by the HTTP listener. */
#ifndef WN_WEBASSETS_H
#define WN_WEBASSETS_H

#include <stddef.h>
#include <string.h>

typedef struct wn_webasset {
	const char *path; /* "/app.js" */
	const char *type; /* its Content-Type */
	const char *etag; /* a quoted hash of its bytes */
	const unsigned char *data;
	size_t len;
} wn_webasset;

/* wn_webasset_find returns the file served at path ("/" is "/index.html"),
 * or NULL. */
const wn_webasset *wn_webasset_find(const char *path);

#endif
