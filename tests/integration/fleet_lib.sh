# Helpers shared by the fleet integration tests (fleet_*.sh): workers that
# join with resources and labels, run by the real wnd, wnworker and wnctl.
# Sourced after lib.sh and worker_lib.sh.

# fleet_head PROJECTS RESOURCES [SLOTS]: the top of a worker.yaml serving
# PROJECTS (a name or a YAML list) that offers RESOURCES (a YAML mapping),
# with settings that keep tests quick; the caller appends `tasks:`.
fleet_head() {
	cat <<EOF
projects: $1
slots: ${3:-1}
fetch_wait_ms: 500
heartbeat_ms: 200
kill_grace_s: 1
rpc_timeout_ms: 2000
log_dir: $WN_TMP/logs
resources: $2
EOF
}

# fleet_gated NAME: a task NAME whose job writes what it was given
# ("[CUDA_VISIBLE_DEVICES] WN_CPUS WN_MEMORY_MB WN_WORKER") to env-ID, says
# started-ID, and waits until the file release-ID exists.
fleet_gated() {
	cat <<EOF
  $1:
    command: [/bin/sh, -c, 'echo "[\${{CUDA_VISIBLE_DEVICES-unset}}] \$WN_CPUS \$WN_MEMORY_MB \$WN_WORKER" > env-\$1; touch started-\$1; while [ ! -e release-\$1 ]; do sleep 0.05; done',
              sh, "{job.id}"]
    workdir: $WN_TMP
EOF
}

# fleet_logged NAME: a task NAME whose job appends "PROJECT ID" to the file
# order, at once.
fleet_logged() {
	cat <<EOF
  $1:
    command: [/bin/sh, -c, 'echo "\$WN_PROJECT \$WN_JOB_ID" >> $WN_TMP/order']
EOF
}

# worker_get NAME EXPR: a field of worker NAME, EXPR over the parsed JSON `j`.
worker_get() {
	jget "$(wnctl --json worker show "$1")" "$2"
}

worker_state_is() { [ "$(worker_get "$1" "j['state']")" = "$2" ]; }

# wait_worker_state NAME STATE [SECONDS]: wait until worker NAME is in STATE.
wait_worker_state() {
	wait_until "${3:-20}" "worker $1 to be $2 (it is $(worker_get "$1" "j['state']" 2>/dev/null))" \
		worker_state_is "$1" "$2"
}

# wait_joined NAME: wait until worker NAME has joined and is active.
wait_joined() { wait_worker_state "$1" active 10; }

# job_field_is ID EXPR VALUE: EXPR over job ID's JSON `j` is VALUE.
job_field_is() { [ "$(job_get "$1" "$2")" = "$3" ]; }
