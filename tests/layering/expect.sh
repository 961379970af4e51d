#!/bin/sh
# Runs tools/check-layers.sh on one fixture tree and checks that it exits
# with the given status and prints exactly the fixture's expected lines.
#   tests/layering/expect.sh FIXTURE-DIR STATUS
set -u
here=$(cd "$(dirname "$0")" && pwd)
tree=$1
want=$2
out=$(sh "$here/../../tools/check-layers.sh" "$tree" 2>&1)
got=$?
ok=1
if [ "$got" != "$want" ]; then
	echo "FAIL: check-layers.sh $tree exited $got, expected $want"
	ok=0
fi
if [ "$out" != "$(cat "$tree/expected")" ]; then
	echo "FAIL: check-layers.sh $tree printed:"
	echo "$out"
	echo "expected:"
	cat "$tree/expected"
	ok=0
fi
[ $ok = 1 ] || exit 1
echo "ok: $tree exits $got and prints what $tree/expected says"
