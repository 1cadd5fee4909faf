# Shared by the benchmark scripts (sourced, not run).

# free_port prints a loopback tcp port nothing listens on, below the kernel's
# ephemeral range (32768-60999), so no outgoing connection holds it by the
# time the server binds it.
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % 22000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}
