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
# the dashboard's test runs in a real headless Chromium (tests/browser)
pkgs+=(chromium fonts-dejavu-core)
# the tests' shells run sleep, seq, rm and mktemp as bash's loadable builtins
pkgs+=(bash-builtins)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm run the browser tests (tests/browser); a node from elsewhere
# (with its own npm) serves as well as Debian's.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
else
	sudo=
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# puppeteer-core for the dashboard's test in Chromium, from package-lock.json
# into tests/browser/node_modules (ignored by git); it drives the chromium
# installed above and downloads no browser of its own.
browser=$(cd "$(dirname "$0")/../tests/browser" && pwd)
if [ ! -f "$browser/node_modules/.package-lock.json" ] ||
	[ "$browser/package-lock.json" -nt "$browser/node_modules/.package-lock.json" ]; then
	(cd "$browser" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
