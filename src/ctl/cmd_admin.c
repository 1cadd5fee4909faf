/* wnctl admin: the server's own upkeep: backup. */
#include "ctl.h"
#include "err.h"
#include "methods.h"
#include "util.h"

/* A backup may take a while on a large store (or where the table files must
 * be copied rather than linked): allowed this much beyond --timeout. */
#define ADMIN_BACKUP_EXTRA_MS (30 * 60 * 1000)

/* admin_call asks for the backup to dir; a server that answered the connection and then
 * went away (killed during the backup) is said to have, and what it leaves: it exits 3. */
static Whatsnext__V1__BackupResponse *admin_call(wn_ctl *c, char *dir)
{
	Whatsnext__V1__BackupRequest req = WHATSNEXT__V1__BACKUP_REQUEST__INIT;
	req.dir = dir;
	int code = 0;
	Whatsnext__V1__BackupResponse *r = wn_ctl_call_soft(
	    c, WN_PATH_ADMIN_BACKUP, &req.base, &whatsnext__v1__backup_response__descriptor,
	    ADMIN_BACKUP_EXTRA_MS, &code, true);
	if (r != NULL)
		return r;
	if (code != WN_EUNAVAIL || !wn_ctl_reached(c)) /* not a connection lost */
		wn_ctl_die(c, wn_ctl_exit_code(code), "%s", wn_ctl_call_error(c));
	wn_ctl_die(c, WN_CTL_EXIT_UNREACHABLE,
	           "wnd went away during the backup (%s): no backup was made at %s, unless wnd "
	           "finished it just before (a backup appears whole or not at all); a hidden "
	           ".wn-backup-XXXXXX directory it leaves beside it is removed by the next backup "
	           "into the same directory",
	           wn_ctl_call_error(c), dir);
}

static int admin_backup(wn_ctl *c)
{
	char **a = wn_ctl_args(c, 1, 1, NULL);
	Whatsnext__V1__BackupResponse *r = admin_call(c, a[0]);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return WN_CTL_EXIT_OK;
	}
	wn_ctl_field("backup", "%s", r->dir);
	wn_ctl_field("files", "%u", r->files);
	wn_ctl_field("bytes", "%llu (%.1f MiB)", (unsigned long long)r->bytes,
	             (double)r->bytes / (1024.0 * 1024.0));
	wn_ctl_field("last_job_id", "%llu", (unsigned long long)r->last_job_id);
	wn_ctl_field("duration", "%lld ms", (long long)r->duration_ms);
	wn_ctl_field("restore",
	             "on the server's machine: cp -a %s COPY && wnd --check --data COPY && "
	             "wnd --data COPY",
	             r->dir);
	return WN_CTL_EXIT_OK;
}

static const struct wn_ctl_verb admin_verbs[] = {
    {"backup", admin_backup, "DIR",
     "Copy the server's data, as it is at one moment, into the new directory DIR on the "
     "server's machine (an absolute path; its parent must exist, DIR must not) while the "
     "server keeps serving. Every change acknowledged before the command started is in it. "
     "To restore, check a copy of DIR with wnd --check --data and start wnd with --data on "
     "it.",
     NULL, NULL},
};

const struct wn_ctl_noun wn_ctl_admin = {
    "admin",
    "The server's own upkeep: backups.",
    admin_verbs,
    WN_ARRAY_LEN(admin_verbs),
};
