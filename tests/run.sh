#!/bin/sh
# The whole test suite: installs dependencies, builds, and runs every unit,
# fuzz-replay and integration test with ctest.
#   tests/run.sh              normal build (build/)
#   tests/run.sh --sanitize   AddressSanitizer + UBSan build (build-asan/)
set -eu
cd "$(dirname "$0")/.."
sh deploy/install-deps.sh
dir=build
flags=""
if [ "${1:-}" = "--sanitize" ]; then
	dir=build-asan
	flags="-DONESTOP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
cmake -S . -B "$dir" $flags >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure --timeout 600 -j1
