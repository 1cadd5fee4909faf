/* shlex: a lexer of shell code that follows a script template's own text
 * (never the values put into it) to know where a value would land: a plain
 * word, a double- or single-quoted string, $'...', a comment, the body of a
 * here-document, each maybe inside $( ... ) or backquotes. Where it cannot be
 * sure (arithmetic, ${ ... }, nested backquotes, a case it does not follow),
 * it says so, and no value may go there. */
#ifndef WN_SHLEX_H
#define WN_SHLEX_H

typedef struct wn_shlex wn_shlex;

/* Where a value would land. */
typedef enum {
	WN_SHLEX_CODE,       /* a word of shell code */
	WN_SHLEX_DQUOTE,     /* inside "..." */
	WN_SHLEX_SQUOTE,     /* inside '...' */
	WN_SHLEX_ANSI,       /* inside $'...' */
	WN_SHLEX_COMMENT,    /* a comment, up to the line's end */
	WN_SHLEX_DOC,        /* a here-document's body, expanded (<<EOF) */
	WN_SHLEX_DOC_QUOTED, /* a here-document's body, literal (<<'EOF') */
} wn_shlex_place;

/* wn_shlex_new returns a lexer at the start of a script. */
wn_shlex *wn_shlex_new(void);

/* wn_shlex_free frees lx (NULL is a no-op). */
void wn_shlex_free(wn_shlex *lx);

/* wn_shlex_char moves lx over one character c of the template's own text. */
void wn_shlex_char(wn_shlex *lx, char c);

/* wn_shlex_where returns where a value would land now, with *backquotes the
 * number of backquotes around that place; or -1 with *why (static text)
 * when no value may go there. */
int wn_shlex_where(const wn_shlex *lx, int *backquotes, const char **why);

/* wn_shlex_value tells lx that value went in where wn_shlex_where said
 * (place); returns NULL, or why the value cannot stand there (static text),
 * such as a value that would end its here-document. */
const char *wn_shlex_value(wn_shlex *lx, wn_shlex_place place, const char *value);

/* wn_shlex_finish returns NULL when the template's text ended cleanly, or
 * what was left open that makes the places of its values uncertain. */
const char *wn_shlex_finish(wn_shlex *lx);

#endif
