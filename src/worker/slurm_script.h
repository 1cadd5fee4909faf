/* slurm_script: the text of a SLURM batch script. A value substituted into
 * the script's body is shell code's guest: quoted for the place it lands in
 * (a word, a double- or single-quoted string, $'...', backquotes, a comment,
 * a here-document), which a small lexer of the template's own text finds.
 * #SBATCH lines have their own quoting. */
#ifndef WN_SLURM_SCRIPT_H
#define WN_SLURM_SCRIPT_H

#include "fmt.h"
#include "strbuf.h"

/* wn_slurm_script_quote returns s as one shell word (malloc'd): unchanged when it
 * is made only of [A-Za-z0-9@%+:,./_-], else in single quotes ('' for ""). */
char *wn_slurm_script_quote(const char *s);

/* wn_slurm_script_word returns s as one word of an #SBATCH line
 * (malloc'd): unchanged when it holds no white space (sbatch splits a
 * line at a vertical tab or a form feed too), quote, backslash or '#', else
 * in double quotes with '"' and '\' escaped. */
char *wn_slurm_script_word(const char *s);

/* wn_slurm_script_pct returns the file name s with every '%' doubled (malloc'd),
 * so that sbatch reads none of it as a pattern (%j, %A, ...). */
char *wn_slurm_script_pct(const char *s);

/* wn_slurm_script_directive appends "#SBATCH WORD\n" for the argument arg to b. */
void wn_slurm_script_directive(wn_strbuf *b, const char *arg);

/* wn_slurm_script_body renders the script template tmpl (its syntax checked) for
 * job into *out (malloc'd), each value quoted for the place it lands in: a
 * word, a double- or single-quoted string, $'...', backquotes, a comment, a
 * here-document (shlex.h finds the place). In code a value is always
 * single-quoted. With job NULL it only checks where the placeholders stand.
 * A value that cannot go where it stands (right after '$' or a backslash,
 * inside ${ ... } or arithmetic, a here-document's delimiter, a place the
 * lexer is not sure of, ...) fails with *reason saying why. */
int wn_slurm_script_body(const char *tmpl, const wn_fmt_job *job, char **out, char **reason);

#endif
