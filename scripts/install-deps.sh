#!/usr/bin/env bash
# Installs the Debian packages WhatsNext needs to build, test and benchmark.
# Safe to run again: only missing packages are installed.
set -euo pipefail
pkgs=(build-essential pkg-config git ca-certificates
      libnng-dev libprotobuf-c-dev protobuf-c-compiler librocksdb-dev libyaml-dev libjansson-dev
      libmbedtls-dev openssl util-linux iproute2
      clang python3 jq procps psmisc
      beanstalkd valgrind
      slurmctld slurmd slurm-client munge
      curl python3-protobuf protobuf-compiler prometheus)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
else
	sudo=
fi
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
