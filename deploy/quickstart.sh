#!/bin/sh
# One-machine quickstart: install dependencies, build, then run a hub and two
# spokes on loopback, exchange signed messages both ways with the onestop
# CLI, and show what was delivered. Everything lives in a temporary directory
# that is removed at the end (set KEEP=1 to keep it).
set -eu
cd "$(dirname "$0")/.."
sh deploy/install-deps.sh
cmake -S . -B "${BUILD_DIR:-build}" >/dev/null
cmake --build "${BUILD_DIR:-build}" -j"$(nproc)" >/dev/null
BIN=$(cd "${BUILD_DIR:-build}" && pwd)/bin
ONESTOP=$BIN/onestop

W=$(mktemp -d /tmp/onestop-quickstart.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT INT TERM
step() { printf '\n== %s\n' "$*"; }

step "keys: the root (registry signer), the hub, and two spokes"
$ONESTOP keygen --out "$W/root.key" >/dev/null
for n in hub gd.sz.market mps.idp; do $ONESTOP keygen --out "$W/$n.key" >/dev/null; done
ANCHOR=$($ONESTOP pubkey --key "$W/root.key" | sed -n 's/.*sign_public=\([0-9a-f]*\).*/\1/p')

step "registry: signed by the root key"
R=$W/registry.bin
$ONESTOP registry init --root-key "$W/root.key" --out "$R"
$ONESTOP registry dataset --root-key "$W/root.key" --registry "$R" --name items --mode full
$ONESTOP registry dataset --root-key "$W/root.key" --registry "$R" --name identity --mode cached
$ONESTOP registry add --root-key "$W/root.key" --registry "$R" --name hub --role hub --pub "$W/hub.key.pub"
$ONESTOP registry add --root-key "$W/root.key" --registry "$R" --name gd.sz.market --pub "$W/gd.sz.market.key.pub" --topic supervision --publish items
$ONESTOP registry add --root-key "$W/root.key" --registry "$R" --name mps.idp --role spoke --role idp --pub "$W/mps.idp.key.pub" --topic supervision --publish identity
$ONESTOP registry show --registry "$R" --anchor "$ANCHOR"

PORT=$((20000 + $$ % 20000))
cat >"$W/hub.conf" <<CONF
name = hub
key = $W/hub.key
registry = $R
trust_anchor = $ANCHOR
listen = tcp://127.0.0.1:$PORT
data_dir = $W/hub.db
CONF
for n in gd.sz.market mps.idp; do
	cat >"$W/$n.conf" <<CONF
name = $n
key = $W/$n.key
registry = $R
trust_anchor = $ANCHOR
hub_endpoint = tcp://127.0.0.1:$PORT
api = ipc://$W/$n.sock
data_dir = $W/$n.db
CONF
done

step "start: onestop-hub and two onestop-spoke daemons (logs in $W/*.log)"
$BIN/onestop-hub -c "$W/hub.conf" 2>"$W/hub.log" & PIDS="$PIDS $!"
for n in gd.sz.market mps.idp; do
	$BIN/onestop-spoke -c "$W/$n.conf" 2>"$W/$n.log" & PIDS="$PIDS $!"
done
for n in gd.sz.market mps.idp; do
	i=0
	until $ONESTOP status --api "ipc://$W/$n.sock" 2>/dev/null | grep -q 'hub_connected=yes'; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "spoke $n did not connect"; cat "$W/$n.log"; exit 1; }
		sleep 0.1
	done
done
A="--api ipc://$W/gd.sz.market.sock"
B="--api ipc://$W/mps.idp.sock"

step "gd.sz.market -> mps.idp: two messages"
echo '{"item":"11440300MB2D","applicant":"subj-7f3a","state":"received"}' |
	$ONESTOP send $A --to mps.idp --type gov.Application
echo '{"item":"11440300MB2E","applicant":"subj-1c09","state":"received"}' |
	$ONESTOP send $A --to mps.idp --type gov.Application
step "mps.idp -> gd.sz.market: a reply"
echo '{"subject":"subj-7f3a","level":3}' | $ONESTOP send $B --to gd.sz.market --type gov.AssertionReply
step "mps.idp -> @supervision (both spokes subscribe)"
echo '{"event":"item_received","item":"11440300MB2D"}' | $ONESTOP send $B --to @supervision --type gov.Supervision
step "an undeliverable message: to a node that is not in the registry"
echo 'hello?' | $ONESTOP send $A --to no.such.node --type gov.Application

step "delivered to mps.idp"
$ONESTOP recv $B --wait 5000 --count 3
step "delivered to gd.sz.market (the reply, the topic message and a dead letter)"
$ONESTOP recv $A --wait 5000 --count 3

step "shared data: gd.sz.market publishes two service items (one offline-only)"
$ONESTOP put $A items 11440300MB2D --json '{"name":"Business licence","owner":"gd.sz.market",
  "kind":"licence","online":true,"materials":[{"name":"ID card","shared_data":"identity"}],
  "legal_days":20,"promised_days":5,"fee_cents":0,"regions":["gd.sz"],"min_level":2}'
$ONESTOP put $A items 11440300MB3F --json '{"name":"Food production permit","owner":"gd.sz.market",
  "kind":"permit","online":false,"offline_reason":"on-site inspection of the premises",
  "legal_days":20,"promised_days":10,"fee_cents":0,"regions":["gd.sz"],"min_level":3}'
step "mps.idp refuses to publish an item: only owners publish items"
$ONESTOP put $B items 11440300MB2D --json '{"name":"x","owner":"mps.idp","kind":"licence","online":true}' || true
step "mps.idp (identity authority) publishes a subject and issues a real-name assertion"
$ONESTOP put $B identity subj-7f3a --json '{"kind":"person","level":3,"status":"active","authority":"mps.idp"}'
ASSERTION=$($ONESTOP assert issue $B --subject subj-7f3a --level 2 --audience gd.sz.market)
i=0
until $ONESTOP items $B --offline 2>/dev/null | grep -q MB3F; do
	i=$((i + 1)); [ $i -lt 100 ] || break
	sleep 0.1
done
step "offline-only items, listed from mps.idp's local copy"
$ONESTOP items $B --offline
step "gd.sz.market verifies the assertion locally (identity filled through the hub)"
$ONESTOP assert verify $A --level 2 "$ASSERTION"
$ONESTOP assert verify $A --level 3 "$ASSERTION" || true
$ONESTOP datasets $A

step "status"
$ONESTOP status $A
$ONESTOP status $B
step "hub log (routing decisions)"
grep -E 'event=(hub_ready|session_start|msg_refused)' "$W/hub.log" || true
