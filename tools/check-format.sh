#!/bin/sh
# tools/check-format.sh: every project .c and .h is in the one dialect of
# .clang-format. Lists the files clang-format would change and exits 1;
# exits 0 when none would change. Changes no file. Run with --help.
set -eu

usage() {
	cat <<'EOF2'
usage: tools/check-format.sh [--help] [ROOT]

Runs `clang-format --dry-run --Werror` with ROOT/.clang-format over every
.c and .h under ROOT (default: the tree this script belongs to), skipping
.git/, build*/ at the top (generated code lives there) and every directory
named fixtures/ (test data). Prints each file that is not formatted, with
the number of places clang-format would change, and exits 1 if there is
any; exits 2 when clang-format is missing (CLANG_FORMAT=path
picks one). To format a file: clang-format -i FILE.
EOF2
}

case "${1:-}" in
-h | --help)
	usage
	exit 0
	;;
-*)
	usage >&2
	exit 2
	;;
esac
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
	for c in clang-format-14 clang-format; do
		if command -v "$c" >/dev/null 2>&1; then
			cf=$c
			break
		fi
	done
fi
if [ -z "$cf" ]; then
	echo "check-format: clang-format not found (deploy/install-deps.sh installs it)" >&2
	exit 2
fi

list=$(find . \( -path ./.git -o -path './build*' -o -name fixtures \) -prune -o \
	-type f \( -name '*.c' -o -name '*.h' \) -print | sed 's|^\./||' | LC_ALL=C sort)
# one clang-format for all files; its notes (FILE:LINE:COL: error: ...) name
# the files that differ
set +e
notes=$(echo "$list" | xargs "$cf" --style=file --dry-run --Werror 2>&1 >/dev/null)
rc=$?
set -e
bad=$(echo "$notes" | sed -n 's/^\([^ :]*\):[0-9]*:[0-9]*: error: .*/\1/p' | uniq -c)
if [ $rc -ne 0 ] && [ -z "$bad" ]; then
	echo "check-format: $cf failed:" >&2
	echo "$notes" >&2
	exit 2
fi
if [ -n "$bad" ]; then
	echo "check-format: these files are not in the .clang-format dialect (fix: $cf -i FILE):"
	echo "$bad" | while read -r count f; do
		echo "  $f ($count places differ)"
	done
	exit 1
fi
echo "check-format: $(echo "$list" | wc -l) files in the .clang-format dialect"
