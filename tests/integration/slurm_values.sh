# Values in a SLURM batch script, run by SLURM's own bash (see slurm_lib.sh):
# parameters written to run a command (touch a marker file) reach the script
# as the literal data they are, wherever the task's template puts them: a
# word, quotes, $( ... ), a here-document's body, a comment after one.
# test-tier: long
source "${BASH_SOURCE[0]%/*}/worker_lib.sh"
source "${BASH_SOURCE[0]%/*}/slurm_lib.sh"

test_parameters_never_run_as_commands() {
	slurm_start
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	slurm_worker_yaml w.yaml
	cat >>w.yaml <<'EOF'
  t:
    formatter: slurm
    poll_ms: 300
    script: |
      cat <<END
      doc {a}
      END
      # note {x}
      printf '[%s]\n' {x} "{x}" 'in {x} sq'
      y=$(printf '<%s>' {x}); printf '%s\n' "$y"
      printf 'done\n'
EOF
	local pwn=$WN_TMP/PWN
	local payloads=(
		$'a b\ntouch '"$pwn"' #'
		"\$(touch $pwn)"
		"\`touch $pwn\`"
		"'; touch $pwn; '"
		"\"; touch $pwn; \""
		$'x\nEND\ntouch '"$pwn"
	)
	local ids=() v
	for v in "${payloads[@]}"; do
		ids+=("$(wnctl job add p t --param a=safe --param "x=$v")")
	done
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	[ ! -e "$pwn" ] || fail "a parameter ran a command: $pwn exists"
	local i id want tail
	for i in "${!payloads[@]}"; do
		id=${ids[$i]} v=${payloads[$i]}
		expect_eq "$(job_get "$id" "j['status']")" completed "job $id, x=[$v]"
		want=$(printf 'doc safe\n[%s]\n[%s]\n[in %s sq]\n<%s>\ndone' "$v" "$v" "$v" "$v")
		tail=$(job_get "$id" "j['output_tail']")
		expect_contains "$tail" "$want"
	done
}

# sbatch splits an #SBATCH line at any white space, a vertical tab or a form
# feed too: a value holding one stays one word, and adds no option of its
# own (here --export, which would give the job a variable).
test_parameters_never_add_sbatch_options() {
	slurm_start
	wn_start
	wnctl project create p >/dev/null
	wnctl task create p t >/dev/null
	slurm_worker_yaml w.yaml
	cat >>w.yaml <<'EOF2'
  t:
    formatter: slurm
    poll_ms: 300
    job_name: "{n}"
    script: |
      echo "pwned=${{WN_PWNED-no}}"
EOF2
	local ids=() v
	for v in $'n\v--export=ALL,WN_PWNED=yes' $'n\f--export=ALL,WN_PWNED=yes'; do
		ids+=("$(wnctl job add p t --param "n=$v")")
	done
	worker_start w1 w.yaml --exit-when-empty
	worker_wait "$WORKER_PID" 60
	local id
	for id in "${ids[@]}"; do
		expect_eq "$(job_get "$id" "j['status']")" completed "job $id"
		expect_contains "$(job_get "$id" "j['output_tail']")" "pwned=no"
	done
}
