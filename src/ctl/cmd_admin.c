/* wnctl admin: the server's own upkeep: backup. */
#include "ctl.h"
#include "methods.h"
#include "util.h"

/* A backup may take a while on a large store (or where the table files must
 * be copied rather than linked): allowed this much beyond --timeout. */
#define ADMIN_BACKUP_EXTRA_MS (30 * 60 * 1000)

static int admin_backup(wn_ctl *c)
{
	char **a = wn_ctl_args(c, 1, 1, NULL);
	Whatsnext__V1__BackupRequest req = WHATSNEXT__V1__BACKUP_REQUEST__INIT;
	req.dir = a[0];
	Whatsnext__V1__BackupResponse *r =
	    wn_ctl_call(c, WN_PATH_ADMIN_BACKUP, &req.base,
	                &whatsnext__v1__backup_response__descriptor, ADMIN_BACKUP_EXTRA_MS);
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
