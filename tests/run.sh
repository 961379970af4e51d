#!/bin/sh
# The whole test suite: installs dependencies, builds with warnings as
# errors, runs every unit, fuzz-replay, layering and integration test with
# ctest, then checks that the sources are in the .clang-format dialect.
#   tests/run.sh              normal build (build/) and the format check
#   tests/run.sh --sanitize   AddressSanitizer + UBSan build (build-asan/)
set -eu
cd "$(dirname "$0")/.."
sh deploy/install-deps.sh
dir=build
flags="-DONESTOP_WERROR=ON"
format=1
if [ "${1:-}" = "--sanitize" ]; then
	dir=build-asan
	flags="$flags -DONESTOP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"
	format=0 # the same sources as the normal run, which checks them
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
cmake -S . -B "$dir" $flags >/dev/null
cmake --build "$dir" -j"$(nproc)"
# the tests, then the format, whatever the tests said; either fails the run
tested=0
(cd "$dir" && ctest --output-on-failure --timeout 600 -j1) || tested=$?
formatted=0
[ $format = 0 ] || sh tools/check-format.sh || formatted=$?
[ $tested = 0 ] || exit $tested
exit $formatted
