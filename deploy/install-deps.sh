#!/bin/sh
# Install what OneStop needs to build and test on Debian 12. Idempotent:
# does nothing when every package is already installed.
set -eu
PKGS="build-essential cmake pkg-config clang-format libzmq3-dev libprotobuf-c-dev
protobuf-c-compiler liblmdb-dev libsodium-dev libinih-dev libjansson-dev libcmocka-dev
strace"
if [ "${1:-}" = "--fuzz" ]; then PKGS="$PKGS clang libclang-rt-14-dev"; fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
