#include "slurm_script.h"

#include "err.h"
#include "shlex.h"
#include "strbuf.h"
#include "template.h"
#include "util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- text helpers */

char *wn_slurm_script_quote(const char *s)
{
	if (*s == '\0')
		return wn_xstrdup("''");
	bool plain = true;
	for (const char *p = s; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || strchr("@%+:,./_-", *p) != NULL;
	if (plain)
		return wn_xstrdup(s);
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_adds(&b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			wn_strbuf_adds(&b, "'\\''");
		else
			wn_strbuf_add(&b, p, 1);
	}
	wn_strbuf_adds(&b, "'");
	return wn_strbuf_take(&b);
}

char *wn_slurm_script_word(const char *s)
{
	bool plain = *s != '\0';
	for (const char *p = s; *p && plain; p++) /* sbatch splits at any isspace() */
		plain = strchr(" \t\v\f\r\n\"'\\#", *p) == NULL;
	if (plain)
		return wn_xstrdup(s);
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_adds(&b, "\"");
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			wn_strbuf_adds(&b, "\\");
		wn_strbuf_add(&b, p, 1);
	}
	wn_strbuf_adds(&b, "\"");
	return wn_strbuf_take(&b);
}

/* wn_slurm_script_pct doubles every '%' of a file name, so that sbatch reads none of
 * it as a pattern (%j, %A, ...). */
char *wn_slurm_script_pct(const char *s)
{
	wn_strbuf b = WN_STRBUF_INIT;
	for (const char *p = s; *p; p++) {
		if (*p == '%')
			wn_strbuf_adds(&b, "%%");
		else
			wn_strbuf_add(&b, p, 1);
	}
	return wn_strbuf_take(&b);
}

/* wn_slurm_script_directive appends "#SBATCH WORD\n" for the argument arg. */
void wn_slurm_script_directive(wn_strbuf *b, const char *arg)
{
	char *w = wn_slurm_script_word(arg);
	wn_strbuf_addf(b, "#SBATCH %s\n", w);
	free(w);
}

/* ---------------------------------------------------------------- the script body */

/* The body of a batch script is shell code, and a value goes into it quoted
 * for the place it lands in: a word, a double- or single-quoted string,
 * $'...', a comment, a here-document. The lexer of shlex.c follows the
 * template's own text (the values never steer it) to know that place, and
 * refuses a place it cannot be sure of. */

/* script_squote returns s in single quotes, always (malloc'd): a word that no
 * neighbour can make a keyword, an assignment, a tilde or brace expansion. */
static char *script_squote(const char *s)
{
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_addc(&b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			wn_strbuf_adds(&b, "'\\''");
		else
			wn_strbuf_addc(&b, *p);
	}
	wn_strbuf_addc(&b, '\'');
	return wn_strbuf_take(&b);
}

/* script_escape appends s to b with a backslash before each character of
 * special. */
static void script_escape(wn_strbuf *b, const char *s, const char *special)
{
	for (const char *p = s; *p; p++) {
		if (strchr(special, *p) != NULL)
			wn_strbuf_addc(b, '\\');
		wn_strbuf_addc(b, *p);
	}
}

/* script_backquotes returns text (which it takes) escaped for n levels of
 * backquotes: each takes one level of backslashes off '\\', '`' and '$'
 * before the text inside is read. */
static char *script_backquotes(int n, char *text)
{
	for (int i = 0; i < n; i++) {
		wn_strbuf e = WN_STRBUF_INIT;
		script_escape(&e, text, "\\`$");
		free(text);
		text = wn_strbuf_take(&e);
	}
	return text;
}

/* script_render returns value written for place (malloc'd). */
static char *script_render(wn_shlex_place place, const char *value)
{
	wn_strbuf t = WN_STRBUF_INIT;
	char *q;
	switch (place) {
	case WN_SHLEX_DQUOTE:
		script_escape(&t, value, "\\$`\"");
		break;
	case WN_SHLEX_SQUOTE:
	case WN_SHLEX_ANSI:
		/* leave the quotes, put the value in as a word of its own, go back */
		q = script_squote(value);
		wn_strbuf_addf(&t, "'%s%s", q, place == WN_SHLEX_ANSI ? "$'" : "'");
		free(q);
		break;
	case WN_SHLEX_COMMENT:
		for (const char *p = value; *p; p++)
			wn_strbuf_addc(&t, *p == '\n' || *p == '\r' ? ' ' : *p);
		break;
	case WN_SHLEX_DOC:
		script_escape(&t, value, "\\$`");
		break;
	case WN_SHLEX_DOC_QUOTED:
		wn_strbuf_adds(&t, value);
		break;
	default:
		q = script_squote(value);
		wn_strbuf_adds(&t, q);
		free(q);
		break;
	}
	return wn_strbuf_take(&t);
}

/* script_value appends value to out, written for where the lexer stands;
 * NULL, or why it cannot go there. */
static const char *script_value(wn_shlex *lx, wn_strbuf *out, const char *value)
{
	int bq = 0;
	const char *why = NULL;
	int place = wn_shlex_where(lx, &bq, &why);
	if (place < 0)
		return why;
	char *text = script_backquotes(bq, script_render((wn_shlex_place)place, value));
	why = wn_shlex_value(lx, (wn_shlex_place)place, text);
	if (why == NULL)
		wn_strbuf_adds(out, text);
	free(text);
	return why;
}

int wn_slurm_script_body(const char *tmpl, const wn_fmt_job *job, char **out, char **reason)
{
	wn_shlex *lx = wn_shlex_new();
	wn_strbuf b = WN_STRBUF_INIT;
	const char *why = NULL;
	char num[32];
	for (const char *p = tmpl; *p != '\0' && why == NULL;) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			wn_strbuf_addc(&b, *p);
			wn_shlex_char(lx, *p);
			p += 2;
			continue;
		}
		if (*p != '{') {
			wn_strbuf_addc(&b, *p);
			wn_shlex_char(lx, *p);
			p++;
			continue;
		}
		size_t n = strcspn(p + 1, "}");
		char *name = strndup(p + 1, n);
		if (name == NULL)
			abort();
		const char *v = job ? wn_fmt_job_value(job, name, num, sizeof(num)) : "x";
		if (v == NULL) {
			*reason = wn_xasprintf("missing parameter '%s'", name);
			free(name);
			wn_strbuf_free(&b);
			wn_shlex_free(lx);
			return WN_ENOTFOUND;
		}
		free(name);
		why = script_value(lx, &b, v);
		p += n + (p[n + 1] == '}' ? 2 : 1);
	}
	if (why == NULL)
		why = wn_shlex_finish(lx);
	if (why != NULL) {
		*reason = wn_xasprintf("cannot put a value into the script: %s", why);
		wn_strbuf_free(&b);
		wn_shlex_free(lx);
		return WN_EINVAL;
	}
	wn_shlex_free(lx);
	*out = wn_strbuf_take(&b);
	return WN_OK;
}
