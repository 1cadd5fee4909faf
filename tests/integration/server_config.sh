# wnd --config: settings from a YAML file, the token, mistakes in the file.
source "${BASH_SOURCE[0]%/*}/server_lib.sh"

test_config_file_and_token() {
	cat >wnd.yaml <<'EOF'
durability: sync
lease_ms: 500
threads: 2
token: s3cret
EOF
	# a config file holding a token must be its owner's only
	expect_exit 2 "$WN_BIN/wnd" --config wnd.yaml --data data --listen "ipc://$WN_TMP/s"
	expect_contains "$WN_ERR" "wnd.yaml holds a token and may be read or changed by other users"
	chmod 600 wnd.yaml
	WN_TOKEN=s3cret wn_start --config wnd.yaml
	export WN_TOKEN=s3cret
	mkproject p
	mktask p t
	# Without the token, or with another one, nothing is served or changed.
	expect_exit 8 env -u WN_TOKEN "$WN_BIN/wnctl" project list
	expect_contains "$WN_ERR" "wnctl: "
	expect_exit 8 env -u WN_TOKEN "$WN_BIN/wnctl" --token wrong project create x
	expect_exit 8 env WN_TOKEN=wrong "$WN_BIN/wnctl" job add p t
	expect_exit 0 env -u WN_TOKEN "$WN_BIN/wnctl" --token s3cret project show p
	expect_exit 4 wnctl project show x
	expect_eq "$(all_job_ids)" "" "jobs after refused submits"
	raw_call $M_PROJECT/List ""
	expect_raw UNAUTHENTICATED "raw request without a token"
	raw_call $M_PROJECT/List "" --token s3cret
	expect_raw OK "raw request with the token"

	# lease_ms from the file: an unheartbeated lease runs out.
	local id
	id=$(wnctl job add p t)
	expect_eq "$(fetch_job p w | jq -r .id)" "$id" "fetched job"
	wait_for 30 "the lease of job $id (lease_ms 500) to expire" status_is "$id" pending
	wn_stop
}

test_config_mistakes_stop_wnd() {
	local rc
	printf 'lease_ms: 500\nno_such_key: 1\n' >unknown.yaml
	rc=0
	timeout 20 "$WN_BIN/wnd" --config unknown.yaml --data "$WN_TMP/d1" \
		--listen "ipc://$WN_TMP/c1.sock" >unknown.log 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "wnd accepted an unknown key (exit $rc)"
	expect_contains "$(<unknown.log)" unknown.yaml "message about the unknown key"
	expect_contains "$(<unknown.log)" no_such_key "message about the unknown key"

	printf 'threads: many\n' >type.yaml
	rc=0
	timeout 20 "$WN_BIN/wnd" --config type.yaml --data "$WN_TMP/d2" \
		--listen "ipc://$WN_TMP/c2.sock" >type.log 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "wnd accepted 'threads: many' (exit $rc)"
	expect_contains "$(<type.log)" type.yaml "message about the bad value"

	rc=0
	timeout 20 "$WN_BIN/wnd" --config "$WN_TMP/missing.yaml" --data "$WN_TMP/d3" \
		--listen "ipc://$WN_TMP/c3.sock" >missing.log 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "wnd started without its config file (exit $rc)"
	[ -s missing.log ] || fail "missing config file refused without a message"

	rc=0
	timeout 20 "$WN_BIN/wnd" --lease-ms soon --data "$WN_TMP/d4" \
		--listen "ipc://$WN_TMP/c4.sock" >opt.log 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "wnd accepted --lease-ms soon (exit $rc)"
	[ -s opt.log ] || fail "bad --lease-ms refused without a message"
}

# An address wnd cannot listen on stops it before it creates its data directory.
test_listen_bad_address_creates_nothing() {
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen 127.0.0.1:7804
	expect_contains "$WN_ERR" "wnd: cannot listen on 127.0.0.1:7804: " "message"
	[ ! -e "$WN_TMP/never" ] || fail "wnd created its data directory before refusing the address"
}

# An address in use (another wnd's socket, a port taken) stops wnd the same
# way, before it creates its data directory.
test_listen_address_in_use_creates_nothing() {
	wn_start --http 127.0.0.1:0
	wn_http_url
	local port=${WN_HTTP##*:}
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "$WN_SERVER"
	expect_eq "$WN_ERR" "wnd: cannot listen on $WN_SERVER: address in use" "an ipc socket in use"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "tcp://127.0.0.1:$port"
	expect_eq "$WN_ERR" "wnd: cannot listen on tcp://127.0.0.1:$port: address in use" "a port in use"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "ipc://$WN_TMP/other.sock" \
		--http "127.0.0.1:$port"
	expect_eq "$WN_ERR" "wnd: cannot serve http on 127.0.0.1:$port: address in use" "an http port in use"
	[ ! -e "$WN_TMP/never" ] || fail "wnd created its data directory: $(ls "$WN_TMP/never")"
	[ ! -e "$WN_TMP/other.sock" ] || fail "wnd left its socket file behind"
	expect_serving
}

# A setting read at start that cannot be used (an admin token file or an
# audit log directory that is not there, as after a config file changed
# between two starts) stops wnd before it creates or opens its data
# directory.
test_a_missing_token_file_or_audit_log_directory_changes_nothing() {
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "ipc://$WN_TMP/n.sock" \
		--admin-token-file "$WN_TMP/no/admin.token"
	expect_eq "$WN_ERR" "wnd: cannot open admin_token_file $WN_TMP/no/admin.token: No such file or directory"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "ipc://$WN_TMP/n.sock" \
		--audit-log "$WN_TMP/no/audit.log"
	expect_eq "$WN_ERR" "wnd: cannot open the audit log $WN_TMP/no/audit.log: No such file or directory"
	[ ! -e "$WN_TMP/never" ] || fail "wnd created its data directory: $(ls "$WN_TMP/never")"
	wn_start
	mkproject p
	wn_stop
	local before
	before=$(ls -l --time-style=full-iso data)
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/n.sock" \
		--admin-token-file "$WN_TMP/no/admin.token"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/n.sock" \
		--audit-log "$WN_TMP/no/audit.log"
	expect_eq "$(ls -l --time-style=full-iso data)" "$before" "the data directory after the refused starts"
	# an audit log of the data directory's own is fine, even before it exists
	wn_start --data "$WN_TMP/fresh" --audit-log "$WN_TMP/fresh/admin-audit.log"
	mkproject q
	[ -f fresh/admin-audit.log ] || fail "no audit log in the new data directory"
}

# Two --config files: the first would be dropped without a word (files are
# not merged), so wnd refuses, naming both, and creates nothing.
test_config_given_twice_is_refused() {
	printf 'lease_ms: 500\n' >a.yaml
	printf 'threads: 3\n' >b.yaml
	expect_exit 2 "$WN_BIN/wnd" --config a.yaml --config b.yaml --data "$WN_TMP/never" \
		--listen "ipc://$WN_TMP/n.sock"
	expect_eq "$WN_ERR" "wnd: --config given twice (a.yaml, then b.yaml): give one file; an option overrides one of its settings"
	[ ! -e "$WN_TMP/never" ] || fail "wnd created its data directory"
}

# A RocksDB database of another program (keys, but no m/version, which every
# wnd writes first, and no wnd.lock) given as the data directory: wnd would
# take it for its own, write its version into it and make its files private.
# It is refused with nothing in it changed; a backup's copy, which has no
# wnd.lock either, is served.
test_another_programs_database_is_refused() {
	"$WN_BIN/wnstore" "$WN_TMP/other" put-text user:1 alice
	"$WN_BIN/wnstore" "$WN_TMP/other" del m/version
	rm other/wnd.lock
	chmod 755 other
	chmod 644 other/*
	local before
	before=$(ls -l --time-style=full-iso other)
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/other" --listen "ipc://$WN_TMP/n.sock"
	expect_eq "$WN_ERR" "wnd: data directory $WN_TMP/other holds a database that is not wnd's: it has keys (such as 'user:1') but no data layout version (m/version); give --data (data) a new or empty directory (if it is a wnd data directory that lost its version, wnd --check --data $WN_TMP/other says what else is wrong)"
	expect_eq "$(ls -l --time-style=full-iso other)" "$before" "the other program's directory"
	expect_eq "$("$WN_BIN/wnstore" "$WN_TMP/other" list)" "user:1 5" "its keys"

	wn_start
	mkproject p
	wnctl admin backup "$WN_TMP/bk" >/dev/null
	wn_stop
	wn_start --data "$WN_TMP/bk"
	expect_eq "$(project_names)" p "projects of the backup served"
}

# A data layout version wnd cannot serve stops it with what it is: a newer
# wnd's, or a value that is no version at all (which atoi read as 0).
test_a_layout_version_wnd_cannot_serve_is_named() {
	local v
	umask 077
	for v in 2 abc 0 ''; do
		rm -rf "$WN_TMP/vd"
		"$WN_BIN/wnstore" "$WN_TMP/vd" put-text p/x y 2>/dev/null
		"$WN_BIN/wnstore" "$WN_TMP/vd" put-text m/version "$v" 2>/dev/null
		expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/vd" --listen "ipc://$WN_TMP/n.sock"
		if [ "$v" = 2 ]; then
			expect_eq "$WN_ERR" "wnd: data layout version 2 is newer than this wnd knows (1): a newer wnd wrote it; serve it with that one"
		else
			expect_eq "$WN_ERR" "wnd: the data layout version (m/version) is '$v', not a version of wnd's: the directory is damaged or not wnd's; run 'wnd --check --data $WN_TMP/vd'"
		fi
	done
}

# A data directory of a layout wnd cannot serve (a newer wnd's) was refused
# only once wnd had made it private (chmod) and RocksDB had written a new
# manifest and log into it; it is now refused first, with nothing in it
# changed: modes, files and what they hold.
test_a_layout_version_wnd_cannot_serve_changes_nothing() {
	wn_start
	mkproject p
	wn_stop
	"$WN_BIN/wnstore" "$WN_TMP/data" put-text m/version 2
	# as a newer wnd, or an older one, may leave it: open to other users
	chmod 755 data
	chmod 644 data/*
	local before
	before=$(ls -l --time-style=full-iso data)
	expect_exit 1 timeout 20 "$WN_BIN/wnd" --data "$WN_TMP/data" --listen "ipc://$WN_TMP/n.sock"
	expect_eq "$WN_ERR" "wnd: data layout version 2 is newer than this wnd knows (1): a newer wnd wrote it; serve it with that one"
	expect_eq "$(stat -c %a data)" 755 "the mode of the data directory"
	expect_eq "$(ls -l --time-style=full-iso data)" "$before" "the data directory after the refused start"
}

# Two addresses of wnd's own that take one socket or port (one given twice,
# 127.0.0.1 and localhost, http on a listen port) passed the check of each
# address alone and stopped wnd once its data directory was made, as "address
# in use"; they now stop it first, said as such.
test_addresses_that_take_one_port_change_nothing() {
	local port
	port=$(free_port)
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "ipc://$WN_TMP/a.sock" \
		--listen "ipc://$WN_TMP/a.sock"
	expect_eq "$WN_ERR" "wnd: cannot listen on ipc://$WN_TMP/a.sock: another listen address takes the same socket; give each address once"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "tcp://127.0.0.1:$port" \
		--listen "tcp://localhost:$port"
	expect_eq "$WN_ERR" "wnd: cannot listen on tcp://localhost:$port: another listen address takes the same port; give each address once"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "tcp://127.0.0.1:$port" \
		--http "127.0.0.1:$port"
	expect_eq "$WN_ERR" "wnd: cannot serve http on 127.0.0.1:$port: a listen address takes the same port; give each address once"
	[ ! -e "$WN_TMP/never" ] || fail "wnd created its data directory: $(ls "$WN_TMP/never")"
	[ ! -e "$WN_TMP/a.sock" ] || fail "a socket file was left"
	# each alone is served
	wn_start --listen "ipc://$WN_TMP/a.sock" --http "127.0.0.1:$port"
}

# A mistake in wnd's options is said in lines that begin "wnd:", as every
# other message of wnd's, not with the path wnd was run by.
test_option_mistakes_are_said_as_wnd() {
	expect_exit 2 "$WN_BIN/wnd" --bogus
	expect_eq "$WN_ERR" "wnd: unrecognized option '--bogus'
wnd: try 'wnd --help'"
	expect_exit 2 "$WN_BIN/wnd" --data
	expect_eq "$WN_ERR" "wnd: option '--data' requires an argument
wnd: try 'wnd --help'"
}

# A long option is taken by its whole name only: getopt_long took a
# beginning of one (--lease for --lease-ms), which a new option beginning the
# same way would make ambiguous, or another option's. wnd refuses it, naming
# the options meant, and creates nothing.
test_an_option_not_spelled_in_full_is_refused() {
	expect_exit 2 timeout 20 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "ipc://$WN_TMP/n.sock" --lease 5000
	expect_eq "$WN_ERR" "wnd: option '--lease' is not spelled in full (wnd takes an option by its whole name only): did you mean '--lease-ms'?"
	expect_exit 2 timeout 20 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "ipc://$WN_TMP/n.sock" --lease=5000
	expect_eq "$WN_ERR" "wnd: option '--lease' is not spelled in full (wnd takes an option by its whole name only): did you mean '--lease-ms'?"
	expect_exit 2 timeout 20 "$WN_BIN/wnd" --dat "$WN_TMP/never" --listen "ipc://$WN_TMP/n.sock"
	expect_eq "$WN_ERR" "wnd: option '--dat' is not spelled in full (wnd takes an option by its whole name only): did you mean '--data'?"
	expect_exit 2 timeout 20 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "ipc://$WN_TMP/n.sock" --l 5
	expect_eq "$WN_ERR" "wnd: option '--l' is not spelled in full (wnd takes an option by its whole name only): did you mean '--lease-ms', '--log-level' or '--listen'?"
	expect_exit 2 timeout 20 "$WN_BIN/wnd" --vers
	expect_eq "$WN_OUT" "" "stdout of --vers"
	expect_contains "$WN_ERR" "did you mean '--version'?"
	[ ! -e "$WN_TMP/never" ] || fail "wnd created its data directory"
	# written in full, with its value after a space or '=', or as the value
	# of another option, it is taken
	expect_exit 0 "$WN_BIN/wnd" --lease-ms=5000 --audit-log --lease --version
	expect_contains "$WN_OUT" "wnd " "--version"
	wn_start --lease-ms 5000 --log-level=info
	expect_serving
}

# An audit log that is not a regular file (a device such as /dev/null, here a
# node of its own; a directory) is refused before anything is made: wnd made
# a device's mode 0600, which for /dev/null broke every other user's programs.
test_an_audit_log_that_is_not_a_file_is_refused() {
	[ "$(id -u)" -eq 0 ] || fail "the test needs root (mknod)"
	mknod -m 666 "$WN_TMP/null" c 1 3
	expect_exit 1 timeout 20 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "ipc://$WN_TMP/n.sock" \
		--audit-log "$WN_TMP/null"
	expect_eq "$WN_ERR" "wnd: the audit log $WN_TMP/null is not a regular file: give the path of a file (wnd makes it its owner's only, chmod 600)"
	expect_eq "$(stat -c %a "$WN_TMP/null")" 666 "the device's mode"
	mkdir "$WN_TMP/logs"
	expect_exit 1 timeout 20 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "ipc://$WN_TMP/n.sock" \
		--audit-log "$WN_TMP/logs"
	expect_contains "$WN_ERR" "is not a regular file"
	[ ! -e "$WN_TMP/never" ] || fail "wnd created its data directory"
}

# An admin token file that is a directory is said to be one, not a file
# other users may read whose fix would be chmod 600 on the directory.
test_an_admin_token_file_that_is_a_directory_is_named() {
	mkdir -m 1777 "$WN_TMP/shared"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "ipc://$WN_TMP/n.sock" \
		--admin-token-file "$WN_TMP/shared"
	expect_eq "$WN_ERR" "wnd: admin_token_file $WN_TMP/shared is not a regular file"
	expect_eq "$(stat -c %a "$WN_TMP/shared")" 1777 "the directory's mode"
	[ ! -e "$WN_TMP/never" ] || fail "wnd created its data directory"
}

# So is a tls_key that is a directory (its fix is not chmod 600 on it).
test_a_tls_key_that_is_a_directory_is_named() {
	mkdir -m 755 "$WN_TMP/keys"
	echo cert >"$WN_TMP/cert.pem"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "tls+tcp://127.0.0.1:$(free_port)" \
		--tls-cert "$WN_TMP/cert.pem" --tls-key "$WN_TMP/keys"
	expect_eq "$WN_ERR" "wnd: tls_key $WN_TMP/keys is not a regular file"
	[ ! -e "$WN_TMP/never" ] || fail "wnd created its data directory"
}

# An ipc address whose path is a file that is no socket was refused as
# "address in use"; it is now said to be no socket, and the file stays.
test_an_ipc_path_that_is_a_file_is_named() {
	echo keep >"$WN_TMP/notes"
	expect_exit 1 "$WN_BIN/wnd" --data "$WN_TMP/never" --listen "ipc://$WN_TMP/notes"
	expect_eq "$WN_ERR" "wnd: cannot listen on ipc://$WN_TMP/notes: $WN_TMP/notes is there and is not a socket (wnd replaces only a socket left over): give another path"
	expect_eq "$(<"$WN_TMP/notes")" keep "the file at the socket's path"
	[ ! -e "$WN_TMP/never" ] || fail "wnd created its data directory"
}
