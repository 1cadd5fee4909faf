/* ctl_states: the job and worker states that wnd's messages and reasons name
 * in upper case ("job 5 is already CANCELLED", "worker w1 is GONE"), in lower
 * case as wnctl prints states everywhere else (ctl.h). */
#include "ctl.h"
#include "err.h"
#include "json.h"
#include "util.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

/* states_word returns the length of the job or worker state that s starts
 * with, in upper case and as a whole word ("CANCELLED" of "CANCELLED
 * (afterok)"); 0 for none. The names are the .proto's, without their prefix
 * (JOB_STATUS_, WORKER_STATE_). */
static size_t states_word(const char *s)
{
	static const ProtobufCEnumDescriptor *const eds[] = {
	    &whatsnext__v1__job_status__descriptor,
	    &whatsnext__v1__worker_state__descriptor,
	};
	char buf[64];
	for (size_t e = 0; e < sizeof(eds) / sizeof(eds[0]); e++) {
		for (unsigned i = 0; i < eds[e]->n_values; i++) {
			if (eds[e]->values[i].value == 0) /* UNSPECIFIED */
				continue;
			const char *name =
			    wn_json_enum_name(eds[e], eds[e]->values[i].value, buf, sizeof(buf));
			size_t n = strlen(name);
			bool same = true;
			for (size_t k = 0; k < n && same; k++)
				same = s[k] == toupper((unsigned char)name[k]);
			if (same && !isalnum((unsigned char)s[n]) && s[n] != '_')
				return n;
		}
	}
	return 0;
}

/* states_after_is tells whether the bytes of s before p end with "is ", "is
 * already " or "a ", as a state named in a sentence is introduced ("only a GONE
 * worker"). */
static bool states_after_is(const char *s, const char *p)
{
	static const char *const lead[] = {" is ", " is already ", " a "};
	for (size_t i = 0; i < sizeof(lead) / sizeof(lead[0]); i++) {
		size_t n = strlen(lead[i]);
		if ((size_t)(p - s) >= n && memcmp(p - n, lead[i], n) == 0)
			return true;
	}
	return false;
}

const char *wn_ctl_states(wn_ctl *c, const char *s)
{
	if (s == NULL)
		return NULL;
	char *out = wn_ctl_strdup(c, s);
	for (char *p = out; *p != '\0'; p++) {
		size_t n = states_after_is(out, p) ? states_word(p) : 0;
		for (size_t k = 0; k < n; k++)
			p[k] = (char)tolower((unsigned char)p[k]);
		p += n > 0 ? n - 1 : 0;
	}
	return out;
}

const char *wn_ctl_call_message(wn_ctl *c, int rv, const char *err)
{
	const char *line = wn_ctl_line(c, err ? err : wn_strerror(rv));
	return rv > 0 ? wn_ctl_states(c, line) : line;
}
