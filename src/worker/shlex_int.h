/* shlex_int: the lexer's state, shared by shlex.c (reading the template)
 * and shlex_place.c (placing values). Private to these two files. */
#ifndef WN_SHLEX_INT_H
#define WN_SHLEX_INT_H

#include "shlex.h"
#include "strbuf.h"

#include <stdbool.h>

typedef enum {
	F_CODE,     /* the script, $( ... ) (subst) */
	F_SQUOTE,   /* '...' */
	F_DQUOTE,   /* "..." */
	F_ANSI,     /* $'...' */
	F_BACKTICK, /* `...` */
	F_COMMENT,  /* # ... up to the line's end */
	F_DOC,      /* the body of an expanded here-document */
	F_BRACE,    /* ${ ... } */
	F_ARITH,    /* $(( ... )) and (( ... )) */
} fkind;

/* Where a case statement of a frame stands. */
enum { CASE_NONE, CASE_WORD, CASE_PATTERN, CASE_BODY };

#define DEPTH_MAX 64
#define DOCS_MAX  16

typedef struct frame {
	fkind kind;
	bool subst;   /* F_CODE of $( ... ): ends at its own ')' */
	bool fresh;   /* F_CODE of a '$(' just read: a '(' now makes it $(( */
	bool closing; /* F_ARITH: the first ')' of its '))' read */
	bool command; /* F_ARITH: (( ... )), a command; not $(( ... )), a word */
	int parens;   /* '(' open inside it */
	int cases;    /* CASE_* */
} frame;

typedef struct doc {
	char *delim;
	bool quoted;     /* <<'EOF': nothing in the body is expanded */
	bool strip_tabs; /* <<-EOF */
} doc;

struct wn_shlex {
	frame st[DEPTH_MAX];
	int depth;
	doc docs[DOCS_MAX]; /* announced; the first one's body is read when in_doc */
	int ndocs;
	int doc_depth;      /* the depth they were announced at */
	bool in_doc;        /* reading the body of docs[0] */
	wn_strbuf line;     /* its current line, as the shell will read it */
	bool line_value;    /* a value went into that line */
	bool escape;        /* the previous character was a backslash that quotes */
	char prev;          /* the previous character; 0 at the start of a line */
	char before_escape; /* prev before that backslash */
	bool cmdpos;        /* a command word may start here */
	bool paren_cmd;     /* the previous character was a '(' at a command's start */
	bool fn_parens;     /* only blanks since a '(' after a word: f() */
	bool pipe;          /* only blanks since a '|' (or '|&'): no keyword time */
	bool kw_pipe;       /* the word being read in code started so */
	bool bracket_cmd;   /* the previous character was a '[' at a command's start */
	bool dbracket;      /* inside [[ ... ]]: no keywords; operands may be arithmetic */
	bool subscript;     /* inside name[ ... ] in code: arithmetic */
	char aword[12];     /* the word being read in code, up to a '=' */
	int awlen;          /* -1: not a name */
	bool int_assign;    /* after NAME= of an integer variable (RANDOM=) */
	bool for_var;       /* after the keyword for: its variable's name */
	bool pid;           /* the previous two characters were $$ */
	char kw[16];        /* the word being read in code */
	int kwlen;          /* -1: not a word that could be a keyword */
	bool kw_cmd;        /* that word started at a command's start */
	int lt;             /* '<' in a row */
	int semis;          /* ';' in a row */
	bool word;          /* reading a here-document's delimiter */
	bool word_started;
	bool word_quoted;
	bool word_tabs;
	char word_q; /* the quote the delimiter word is inside, or 0 */
	wn_strbuf word_buf;
	const char *unsure; /* why no value may go past here */
	const char *error;  /* why the script cannot be rendered at all */
};

#endif
