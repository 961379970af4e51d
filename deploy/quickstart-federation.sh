#!/bin/sh
# The federated quickstart (run by deploy/quickstart.sh after the
# single-hub one, or alone once built): a national hub, two province hubs
# (gd, sc) each with its own delegated registry signed by its own root key,
# two spokes under each province and one national department. It sends one
# message inside a province and one across provinces, and shows the hubs
# each crossed from the hubs' own counters; then a province admits a new
# county node with its own key alone, and that node reaches the other
# province. Everything lives in a temporary directory removed at the end
# (KEEP=1 keeps it).
set -eu
cd "$(dirname "$0")/.."
BIN=$(cd "${BUILD_DIR:-build}" && pwd)/bin
ONESTOP=$BIN/onestop

W=$(mktemp -d /tmp/onestop-federation.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT INT TERM
step() { printf '\n== %s\n' "$*"; }

step "federation keys: the national root, a root per province, the hubs and the spokes"
for k in root gd-root sc-root hub gd.hub sc.hub mps gd.tax gd.sz.market sc.tax sc.cd.market; do
	$ONESTOP keygen --out "$W/$k.key" >/dev/null
done
ANCHOR=$($ONESTOP pubkey --key "$W/root.key" | sed -n 's/.*sign_public=\([0-9a-f]*\).*/\1/p')

step "the national registry: national nodes, the province hubs, a delegation per province"
N=$W/national.reg
$ONESTOP registry init --root-key "$W/root.key" --out "$N" --hub hub
$ONESTOP registry dataset --root-key "$W/root.key" --registry "$N" --name items --mode full
for h in hub gd.hub sc.hub; do
	$ONESTOP registry add --root-key "$W/root.key" --registry "$N" --name $h --role hub --pub "$W/$h.key.pub"
done
$ONESTOP registry add --root-key "$W/root.key" --registry "$N" --name mps --pub "$W/mps.key.pub" --topic alerts --publish items
for p in gd sc; do
	$ONESTOP registry delegate --root-key "$W/root.key" --registry "$N" --prefix $p \
		--pub "$W/$p-root.key.pub" --hub $p.hub
done

step "each province signs its own registry with its own root key"
$ONESTOP registry init --root-key "$W/gd-root.key" --out "$W/gd.reg" --prefix gd
$ONESTOP registry add --root-key "$W/gd-root.key" --registry "$W/gd.reg" --name gd.tax --pub "$W/gd.tax.key.pub" --topic alerts
$ONESTOP registry add --root-key "$W/gd-root.key" --registry "$W/gd.reg" --name gd.sz.market --pub "$W/gd.sz.market.key.pub"
$ONESTOP registry init --root-key "$W/sc-root.key" --out "$W/sc.reg" --prefix sc
$ONESTOP registry add --root-key "$W/sc-root.key" --registry "$W/sc.reg" --name sc.tax --pub "$W/sc.tax.key.pub" --province-topic alerts
$ONESTOP registry add --root-key "$W/sc-root.key" --registry "$W/sc.reg" --name sc.cd.market --pub "$W/sc.cd.market.key.pub"
GEN=$($ONESTOP registry verify --anchor "$ANCHOR" --registry "$N" --part "$W/gd.reg" --part "$W/sc.reg" |
	tee /dev/stderr | sed -n 's/^chain ok version=\([0-9]*\).*/\1/p')
$ONESTOP registry show --anchor "$ANCHOR" --registry "$N" --part "$W/gd.reg" --part "$W/sc.reg"

PORT=$((20000 + ($$ + 7) % 20000))
hubconf() { # NAME PORT [PROVINCE]
	cat >"$W/$1.conf" <<CONF
name = $1
key = $W/$1.key
registry = $N
trust_anchor = $ANCHOR
listen = tcp://127.0.0.1:$2
data_dir = $W/$1.db
log_level = debug
CONF
	if [ -n "${3:-}" ]; then
		cat >>"$W/$1.conf" <<CONF
province_registry = $W/$3.reg
parent_endpoint = tcp://127.0.0.1:$PORT
parent_name = hub
CONF
	fi
}
spokeconf() { # NAME HUB PORT
	cat >"$W/$1.conf" <<CONF
name = $1
key = $W/$1.key
registry = $N
trust_anchor = $ANCHOR
hub_name = $2
hub_endpoint = tcp://127.0.0.1:$3
api = ipc://$W/$1.sock
data_dir = $W/$1.db
CONF
}
hubconf hub $PORT
hubconf gd.hub $((PORT + 1)) gd
hubconf sc.hub $((PORT + 2)) sc
spokeconf mps hub $PORT
spokeconf gd.tax gd.hub $((PORT + 1))
spokeconf gd.sz.market gd.hub $((PORT + 1))
spokeconf sc.tax sc.hub $((PORT + 2))
spokeconf sc.cd.market sc.hub $((PORT + 2))

step "start: the national hub, two province hubs, five spokes (logs in $W/*.log)"
$BIN/onestop-hub -c "$W/hub.conf" 2>"$W/hub.log" & PIDS="$PIDS $!"
$BIN/onestop-hub -c "$W/gd.hub.conf" 2>"$W/gd.hub.log" & PIDS="$PIDS $!"
GDHUB=$!
$BIN/onestop-hub -c "$W/sc.hub.conf" 2>"$W/sc.hub.log" & PIDS="$PIDS $!"
SPOKES="mps gd.tax gd.sz.market sc.tax sc.cd.market"
for n in $SPOKES; do
	$BIN/onestop-spoke -c "$W/$n.conf" 2>"$W/$n.log" & PIDS="$PIDS $!"
done
for n in $SPOKES; do
	i=0
	until $ONESTOP status --api "ipc://$W/$n.sock" 2>/dev/null | grep -q 'hub_connected=yes'; do
		i=$((i + 1)); [ $i -lt 150 ] || { echo "spoke $n did not connect"; cat "$W/$n.log"; exit 1; }
		sleep 0.1
	done
done
api() { echo "--api ipc://$W/$1.sock"; }
# Until spoke $1 holds the chain of generation $2: the province hubs pass
# each other's registries on through the national hub after they connect.
wait_chain() {
	i=0
	until $ONESTOP status $(api $1) 2>/dev/null | grep -q "^registry_version=$2\$"; do
		i=$((i + 1)); [ $i -lt 150 ] || { echo "spoke $1 did not get the chain $2"; exit 1; }
		sleep 0.1
	done
}
for n in $SPOKES; do wait_chain $n "$GEN"; done
echo "every spoke holds the whole chain (generation $GEN)"

# The hubs a message crossed: each hub logs where it routed each message
# (event=routed, at debug level) with the message's id.
crossed() { # ID
	out=""
	i=0
	for h in hub gd.hub sc.hub; do
		grep -q "event=routed id=$1" "$W/$h.log" && out="$out $h"
	done
	echo "message $1 crossed:$out"
}

step "inside a province: gd.sz.market -> gd.tax"
ID=$(echo '{"licence":"LIC-1","state":"issued"}' | $ONESTOP send $(api gd.sz.market) --to gd.tax --type gov.Notice)
$ONESTOP recv $(api gd.tax) --wait 5000 --count 1
crossed "$ID"

step "across provinces: gd.sz.market -> sc.cd.market"
ID=$(echo '{"licence":"LIC-1","verify":"please"}' | $ONESTOP send $(api gd.sz.market) --to sc.cd.market --type gov.Notice)
$ONESTOP recv $(api sc.cd.market) --wait 5000 --count 1
crossed "$ID"

step "a topic: mps -> @alerts (gd.tax hears it nationally; sc.tax only from its own province)"
ID=$(echo '{"alert":"system maintenance"}' | $ONESTOP send $(api mps) --to @alerts --type gov.Alert)
$ONESTOP recv $(api gd.tax) --wait 5000 --count 1
$ONESTOP recv $(api sc.tax) --wait 1000 --count 1 | grep . || echo "sc.tax: nothing (province-wide subscription)"
crossed "$ID"

step "gd admits a county node with its own key alone; it reaches sc at once"
$ONESTOP keygen --out "$W/gd.hz.tax.key" >/dev/null
$ONESTOP registry add --root-key "$W/gd-root.key" --registry "$W/gd.reg" --name gd.hz.tax --pub "$W/gd.hz.tax.key.pub"
kill -HUP "$GDHUB"
spokeconf gd.hz.tax gd.hub $((PORT + 1))
# gd's registry went one version up: sc.tax verifies gd.hz.tax with it.
wait_chain sc.tax $((GEN + 1))
$BIN/onestop-spoke -c "$W/gd.hz.tax.conf" 2>"$W/gd.hz.tax.log" & PIDS="$PIDS $!"
i=0
until $ONESTOP status $(api gd.hz.tax) 2>/dev/null | grep -q 'hub_connected=yes'; do
	i=$((i + 1)); [ $i -lt 150 ] || { echo "gd.hz.tax did not connect"; cat "$W/gd.hz.tax.log"; exit 1; }
	sleep 0.1
done
ID=$(echo '{"hello":"from a new county"}' | $ONESTOP send $(api gd.hz.tax) --to sc.tax --type gov.Notice)
$ONESTOP recv $(api sc.tax) --wait 5000 --count 1
crossed "$ID"

step "the hubs' queues (onestop-hub --status)"
for h in hub gd.hub sc.hub; do echo "-- $h"; $BIN/onestop-hub --status -c "$W/$h.conf"; done
step "the hubs' links"
grep -h -E 'event=(hub_connected|session_start node=(gd|sc).hub|links)' "$W/hub.log" "$W/gd.hub.log" "$W/sc.hub.log" | head -20 || true
