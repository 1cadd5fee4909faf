/* conf: configuration files. A small YAML loader (libyaml) into a tree of
 * scalars, sequences and mappings that remember where they were written (named
 * conf, not yaml, so that <yaml.h> stays libyaml's), and a key table that drives
 * the parsing of a mapping into a C struct: types, defaults, bounds and errors
 * such as "worker.yaml:12:3: expected a list for 'command'".
 *
 * Every scalar is a string; a plain (unquoted) `~`, `null` or empty scalar is
 * null. Anchors are ignored and aliases refused, so the tree is never larger
 * than its text. Mappings keep their order; a duplicate key is an error. */
#ifndef WN_CONF_H
#define WN_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of sequences and mappings accepted. */
#define WN_CONF_DEPTH_MAX 64

typedef enum { WN_CONF_SCALAR, WN_CONF_SEQ, WN_CONF_MAP } wn_conf_kind;

/* One node of a loaded document; read-only, owned by its document. */
typedef struct wn_conf_node wn_conf_node;
struct wn_conf_node {
	wn_conf_kind kind;
	int line, col;   /* 1-based position of the node's first character */
	const char *str; /* SCALAR: the text, NUL-terminated */
	size_t len;      /* SCALAR: bytes in str (a quoted scalar may hold "\0") */
	bool plain;      /* SCALAR: written without quotes or block style */
	size_t n;        /* SEQ: items; MAP: key/value pairs */
	/* SEQ: items[0..n); MAP: key i is items[2i], its value items[2i+1] */
	wn_conf_node **items;
};

/* A loaded document (opaque). */
typedef struct wn_conf_doc wn_conf_doc;

/* wn_conf_load_file reads and parses the file at path; on failure *errmsg gets
 * a malloc'd "path:line:col: what" message. */
int wn_conf_load_file(const char *path, wn_conf_doc **out, char **errmsg);

/* wn_conf_load_string parses len bytes of text, naming it name in messages;
 * an empty stream gives an empty mapping. On failure *errmsg is set as above. */
int wn_conf_load_string(const char *name, const char *text, size_t len, wn_conf_doc **out,
                        char **errmsg);

/* wn_conf_free frees a document and all its nodes; NULL is a no-op. */
void wn_conf_free(wn_conf_doc *doc);

/* wn_conf_root returns the document's top node. */
const wn_conf_node *wn_conf_root(const wn_conf_doc *doc);

/* wn_conf_name returns the name the document was loaded under. */
const char *wn_conf_name(const wn_conf_doc *doc);

/* wn_conf_get returns the value of key in mapping map, NULL if absent or if
 * map is not a mapping. */
const wn_conf_node *wn_conf_get(const wn_conf_node *map, const char *key);

/* wn_conf_is_null tells whether node is absent (NULL) or a plain null scalar. */
bool wn_conf_is_null(const wn_conf_node *node);

/* wn_conf_kind_name returns "a string", "a list" or "a mapping" for kind. */
const char *wn_conf_kind_name(wn_conf_kind kind);

/* wn_conf_error formats a malloc'd "name:line:col: message" for node (or
 * "name: message" when node is NULL, the message alone when doc is NULL). */
char *wn_conf_error(const wn_conf_doc *doc, const wn_conf_node *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- key tables */

/* A list of strings, owned by whoever holds it. */
typedef struct wn_conf_strv {
	char **v;
	size_t n;
} wn_conf_strv;

/* An ordered string-to-string mapping, owned by whoever holds it. */
typedef struct wn_conf_strmap {
	char **keys;
	char **vals;
	size_t n;
} wn_conf_strmap;

typedef enum {
	WN_CONF_T_STR,     /* char *: any scalar (choices may restrict it) */
	WN_CONF_T_INT,     /* int64_t: a decimal integer within [min, max] */
	WN_CONF_T_BOOL,    /* bool: true or false */
	WN_CONF_T_STRLIST, /* wn_conf_strv: a list of scalars, or one scalar */
	WN_CONF_T_STRMAP,  /* wn_conf_strmap: a mapping of scalars to scalars */
	WN_CONF_T_NODE,    /* const wn_conf_node *: the caller reads it */
	WN_CONF_T_SKIP,    /* accepted here, read elsewhere: nothing is stored */
} wn_conf_type;

enum {
	WN_CONF_REQUIRED = 1, /* absent or null is an error */
	WN_CONF_NONEMPTY = 2, /* STR, STRLIST, STRMAP: an empty value is an error */
};

/* One key of a mapping: how to parse it and where to store it. */
typedef struct wn_conf_key {
	const char *name;
	wn_conf_type type;
	size_t offset;              /* of the field in the target struct */
	const char *def;            /* default as YAML text ("5000", "true"); NULL = none */
	int64_t min, max;           /* INT: bounds */
	unsigned flags;             /* WN_CONF_REQUIRED, WN_CONF_NONEMPTY */
	const char *const *choices; /* STR: the allowed values, NULL-terminated, or NULL */
	const char *help;           /* one line for documentation */
} wn_conf_key;

/* wn_conf_apply fills target from mapping map (NULL: defaults only) as keys
 * say: every key given is checked and stored, every key absent gets its
 * default, an unknown key is an error that suggests the nearest known one. On
 * failure *errmsg gets a malloc'd positioned message; fields already stored stay
 * in target and are freed by wn_conf_release. */
int wn_conf_apply(const wn_conf_doc *doc, const wn_conf_node *map, const wn_conf_key *keys,
                  size_t nkeys, void *target, char **errmsg);

/* wn_conf_set_text stores text, as it is (not read as YAML: a value from a
 * command line), into k's field of target, checked as a scalar of a file
 * would be (a STRLIST gets a list of one); on failure *errmsg gets a
 * malloc'd message without a position. */
int wn_conf_set_text(const wn_conf_key *k, const char *text, void *target, char **errmsg);

/* wn_conf_release frees what wn_conf_apply stored in target and zeroes it. */
void wn_conf_release(const wn_conf_key *keys, size_t nkeys, void *target);

/* wn_conf_strv_free frees the strings of v and zeroes it. */
void wn_conf_strv_free(wn_conf_strv *v);

/* wn_conf_strmap_free frees the strings of m and zeroes it. */
void wn_conf_strmap_free(wn_conf_strmap *m);

/* wn_conf_strmap_get returns the value of key in m, NULL if absent. */
const char *wn_conf_strmap_get(const wn_conf_strmap *m, const char *key);

#endif
