# What wnd keeps on disk is its owner's only: the data directory (0700), every
# file in it (0600: job parameters and outputs), backups, and ipc sockets
# (0600: with no token, whoever can connect can delete everything). A data
# directory an older wnd left open (0755, files 0644) is tightened at start,
# with a warning in the log.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

# mode PATH: the permission bits of PATH, in octal ("700").
mode() { stat -c %a "$1"; }

# expect_private DIR WHAT: DIR is 0700 and nothing in it is open to group or
# others (symbolic links aside).
expect_private() {
	expect_eq "$(mode "$1")" 700 "$2: mode of $1"
	local open
	open=$(find "$1" ! -type l -perm /077 -printf '%m %p\n')
	[ -z "$open" ] || fail "$2: open to other users: $open"
	[ -n "$(find "$1" -type f)" ] || fail "$2: no files in $1"
}

# some_data: a project, a task, jobs with parameters and an output.
some_data() {
	mkproject p
	mktask p t
	wnctl job add p t --param secret=hunter2 >/dev/null
	wnctl queue fetch p --worker w1 >/dev/null
	wnctl queue complete 1 1 --worker w1 --output "token=abc" >/dev/null
}

test_data_directory_files_and_socket_are_the_owners_only() {
	umask 022 # what a user's shell usually has
	wn_start
	some_data
	local sock=${WN_SERVER#ipc://}
	expect_eq "$(mode "$sock")" 600 "mode of the ipc socket"
	expect_private "$WN_TMP/data" "running server"
	wn_stop
	expect_private "$WN_TMP/data" "after a stop"
	# files made at the next start (a new log, a new manifest) too
	wn_start
	wnctl job add p t >/dev/null
	wn_stop
	expect_private "$WN_TMP/data" "after a restart"
}

test_backups_are_the_owners_only() {
	umask 022
	wn_start
	some_data
	wnctl admin backup "$WN_TMP/backup" >/dev/null
	expect_private "$WN_TMP/backup" "backup"
	# the backup is a data directory a server opens
	wn_stop
	"$WN_BIN/wnd" --data "$WN_TMP/backup" --check >/dev/null || fail "the backup does not check"
}

test_an_open_data_directory_is_tightened_at_start() {
	umask 022
	wn_start
	some_data
	wn_stop
	# as an older wnd left it
	chmod 755 "$WN_TMP/data"
	find "$WN_TMP/data" -type f -exec chmod 644 {} +
	[ "$(mode "$WN_TMP/data/wnd.lock")" = 644 ] || fail "the test could not open the files"
	: >"$WN_TMP/wnd.log"
	wn_start
	expect_private "$WN_TMP/data" "tightened directory"
	expect_contains "$(<"$WN_TMP/wnd.log")" \
		"data directory $WN_TMP/data was open to other users: the directory from 0755 to 0700, " \
		"log at start"
	expect_eq "$(job_field 1 .params.secret)" hunter2 "a job kept across the tightening"
	# open files in a private directory: the log names only what changed
	wn_stop
	chmod 644 "$WN_TMP/data/wnd.lock" "$WN_TMP/data/CURRENT"
	: >"$WN_TMP/wnd.log"
	wn_start
	expect_private "$WN_TMP/data" "tightened files"
	expect_contains "$(<"$WN_TMP/wnd.log")" \
		"data directory $WN_TMP/data was open to other users: 2 of its files to 0600" \
		"log of files tightened"
	expect_not_contains "$(<"$WN_TMP/wnd.log")" "from 0700 to 0700" "log of files tightened"
	# a directory that is private already is left as it is, without a word
	wn_stop
	: >"$WN_TMP/wnd.log"
	wn_start
	expect_not_contains "$(<"$WN_TMP/wnd.log")" "open to other users" "log of a private start"
}

# A data directory given as a symbolic link to it (/var/lib/wnd -> /srv/wnd)
# is served, and the directory it names is tightened; the links inside it are
# left as they are.
test_a_data_directory_reached_by_a_symbolic_link() {
	umask 022
	wn_start
	some_data
	wn_stop
	mv "$WN_TMP/data" "$WN_TMP/real"
	ln -s real "$WN_TMP/data"
	chmod 755 "$WN_TMP/real"
	ln -s /etc/hostname "$WN_TMP/real/a-link"
	wn_start
	expect_eq "$(job_field 1 .params.secret)" hunter2 "a job served through the link"
	wnctl job add p t >/dev/null
	expect_private "$WN_TMP/real" "the directory the link names"
	[ -L "$WN_TMP/data" ] || fail "the link to the data directory was replaced"
	wn_stop
	expect_exit 0 "$WN_BIN/wnd" --check --data "$WN_TMP/data"
	expect_contains "$WN_OUT" "2 job(s)"
}

# as_nobody CMD...: run CMD as user nobody (the test needs root).
as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }

# A data directory wnd cannot use stops it, and the check, with what is wrong
# and what to do, and nothing in it changes: a file, another user's
# directory, one on a read-only file system. Root started on another user's
# directory is warned that what it makes there is closed to the owner.
test_a_data_directory_wnd_cannot_use_says_what_to_do() {
	[ "$(id -u)" -eq 0 ] || fail "the test needs root (to run wnd as another user)"
	wn_start
	some_data
	wn_stop
	echo text >afile
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/afile" --listen "ipc://$WN_TMP/n.sock"
	expect_eq "$WN_ERR" "wnd: data directory $WN_TMP/afile is not a directory: give --data (data) a directory, or a path that does not exist yet"
	expect_exit 2 "$WN_BIN/wnd" --check --data "$WN_TMP/afile"
	expect_contains "$WN_ERR" "is not a directory"
	expect_eq "$(<afile)" text "the file given as a data directory"

	# root's directory, wnd run as nobody (a socket directory nobody may use)
	chmod 711 "$WN_TMP"
	mkdir -m 777 "$WN_TMP/sock"
	local before
	before=$(ls -ln --time-style=full-iso data)
	expect_exit 1 as_nobody "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/sock/n"
	expect_eq "$WN_ERR" "wnd: data directory $WN_TMP/data belongs to user root (uid 0), and wnd runs as user nobody (uid 65534): run wnd as its owner, or make user nobody (uid 65534) its owner (chown -R 65534 $WN_TMP/data)"
	expect_exit 2 as_nobody "$WN_BIN/wnd" --check --data "$WN_TMP/data"
	expect_eq "$WN_ERR" "wnd: cannot check $WN_TMP/data: data directory $WN_TMP/data belongs to user root (uid 0) and may not be read by user nobody (uid 65534): run the check as its owner"
	expect_eq "$(ls -ln --time-style=full-iso data)" "$before" "the data directory after the refusals"

	# a read-only file system: refused; the check reads it there
	mount_disk 16m
	cp -a data disk/data
	mount -o remount,ro "$WN_TMP/disk"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/disk/data" --listen "ipc://$WN_TMP/n.sock"
	expect_eq "$WN_ERR" "wnd: data directory $WN_TMP/disk/data is on a read-only file system, and wnd writes there: mount it read-write, or copy the directory to a disk wnd may write to (wnd --check reads it where it is)"
	expect_exit 0 "$WN_BIN/wnd" --check --data "$WN_TMP/disk/data"

	# root on nobody's directory: served, with a warning
	chown -R 65534 data
	: >wnd.log
	wn_start
	expect_contains "$(<wnd.log)" "data directory $WN_TMP/data belongs to user nobody (uid 65534): the files wnd makes in it now are root's, which a wnd run as its owner cannot open"
	expect_eq "$(job_field 1 .params.secret)" hunter2 "a job of nobody's directory"
}

# The files root's wnd makes in another user's data directory (a start, a
# wnd --check --repair) are root's: the owner's wnd then failed on them in
# RocksDB's words ("Invalid argument: Found options incompatible with
# filesystem: IO error: While open a file for random read: .../CURRENT:
# Permission denied"), after rolling its LOG. A file of the store this wnd
# may not open is now named with what to do, before anything changes.
test_a_file_of_the_store_wnd_cannot_open_says_what_to_do() {
	[ "$(id -u)" -eq 0 ] || fail "the test needs root (to run wnd as another user)"
	wn_start
	some_data
	wn_stop
	chown -R 65534 data
	# root serves nobody's directory: what it makes there is root's
	wn_start
	wnctl job add p t >/dev/null
	wn_stop
	chmod 711 "$WN_TMP"
	mkdir -m 777 "$WN_TMP/sock"
	local before
	before=$(ls -ln --time-style=full-iso data)
	expect_contains "$before" " 0 0 " "files root made in nobody's directory"
	expect_exit 1 as_nobody "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/sock/n"
	expect_contains "$WN_ERR" "wnd: file "
	expect_contains "$WN_ERR" " of data directory $WN_TMP/data belongs to user root (uid 0) (mode 0600), and wnd runs as user nobody (uid 65534): run wnd as its owner, or make user nobody (uid 65534) the owner of every file there (chown -R 65534 $WN_TMP/data)"
	expect_exit 2 as_nobody "$WN_BIN/wnd" --check --data "$WN_TMP/data"
	expect_contains "$WN_ERR" "and the check runs as user nobody (uid 65534): run the check as its owner"
	expect_eq "$(ls -ln --time-style=full-iso data)" "$before" "the data directory after the refusals"
	# a file closed to its owner
	chown -R 65534 data
	local sst
	sst=$(cd data && ls ./*.sst | head -n 1)
	chmod 000 "data/$sst"
	expect_exit 1 as_nobody "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/sock/n"
	expect_eq "$WN_ERR" "wnd: file ${sst#./} of data directory $WN_TMP/data (mode 0000) is closed to its owner: chmod -R u+rw $WN_TMP/data"
	chmod -R u+rw data
	# the audit log is not the store's (--audit-log may put it elsewhere)
	chown 0 data/audit.log
	expect_exit 0 as_nobody "$WN_BIN/wnd" --check --data "$WN_TMP/data"
	expect_contains "$WN_OUT" "2 job(s)"
}

# A directory with no database but other files given as the data directory
# (a home directory, /srv instead of /srv/wnd): wnd made every file in it
# private, four levels down, and put its database among them. It is refused
# with nothing changed; an empty directory, or the root of a file system
# (lost+found), is taken.
test_a_directory_of_other_files_is_not_made_a_data_directory() {
	umask 022
	mkdir -p home/docs fresh/lost+found
	echo hi >home/notes.txt
	echo hi >home/docs/report.txt
	local before
	before=$(ls -lR --time-style=full-iso home)
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/home" --listen "ipc://$WN_TMP/n.sock"
	expect_contains "$WN_ERR" "wnd: data directory $WN_TMP/home holds no database but other files (such as '"
	expect_contains "$WN_ERR" "'), which wnd would make private and put its own among: give --data (data) a new or empty directory"
	expect_eq "$(ls -lR --time-style=full-iso home)" "$before" "the directory after the refusal"
	wn_start --data "$WN_TMP/fresh"
	mkproject p
	expect_eq "$(project_names)" p "projects in a file system's root"
	# a database that lost its CURRENT, beside a file of the operator's, is
	# said to be that
	wn_stop
	rm fresh/CURRENT
	echo x >fresh/notes.txt
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/fresh" --listen "ipc://$WN_TMP/n.sock"
	expect_contains "$WN_ERR" "Corruption: its CURRENT file is missing"
}
