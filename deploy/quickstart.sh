#!/bin/sh
# One-machine quickstart: install dependencies, build, then run a hub and
# four spokes on loopback, exchange signed messages both ways with the
# onestop CLI, share the item catalogue and identity, run two one-stop
# cases from a service hall to the owning department, the second reusing
# the e-licence the first one issued, then public supervision: the
# applicant rates a case, complains about the other (answered by the
# department the province's supervisor assigns it to), and the supervisor
# prints its statistics; then the federated topology (deploy/quickstart-
# federation.sh). Everything lives in a temporary directory that is
# removed at the end (set KEEP=1 to keep it).
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

step "keys: the root (registry signer), the hub, and four spokes"
$ONESTOP keygen --out "$W/root.key" >/dev/null
for n in hub gd.sz.market mps.idp gd.sz.hall gd.sup; do $ONESTOP keygen --out "$W/$n.key" >/dev/null; done
ANCHOR=$($ONESTOP pubkey --key "$W/root.key" | sed -n 's/.*sign_public=\([0-9a-f]*\).*/\1/p')

step "registry: signed by the root key"
R=$W/registry.bin
$ONESTOP registry init --root-key "$W/root.key" --out "$R"
$ONESTOP registry dataset --root-key "$W/root.key" --registry "$R" --name items --mode full
$ONESTOP registry dataset --root-key "$W/root.key" --registry "$R" --name identity --mode cached
$ONESTOP registry dataset --root-key "$W/root.key" --registry "$R" --name licences --mode cached
$ONESTOP registry add --root-key "$W/root.key" --registry "$R" --name hub --role hub --pub "$W/hub.key.pub"
$ONESTOP registry add --root-key "$W/root.key" --registry "$R" --name gd.sz.market --pub "$W/gd.sz.market.key.pub" --topic supervision --publish items --publish licences
$ONESTOP registry add --root-key "$W/root.key" --registry "$R" --name mps.idp --role spoke --role idp --pub "$W/mps.idp.key.pub" --topic supervision --publish identity
$ONESTOP registry add --root-key "$W/root.key" --registry "$R" --name gd.sz.hall --pub "$W/gd.sz.hall.key.pub"
$ONESTOP registry add --root-key "$W/root.key" --registry "$R" --name gd.sup --role spoke --role supervisor --pub "$W/gd.sup.key.pub" --topic supervision
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
printf '2027-01-01\n' >"$W/holidays.txt"
for n in gd.sz.market mps.idp gd.sz.hall gd.sup; do
	cat >"$W/$n.conf" <<CONF
name = $n
key = $W/$n.key
registry = $R
trust_anchor = $ANCHOR
hub_endpoint = tcp://127.0.0.1:$PORT
api = ipc://$W/$n.sock
data_dir = $W/$n.db
holidays_file = $W/holidays.txt
calendar_utc_offset_min = 480
CONF
done

step "start: onestop-hub and four onestop-spoke daemons (logs in $W/*.log)"
$BIN/onestop-hub -c "$W/hub.conf" 2>"$W/hub.log" & PIDS="$PIDS $!"
for n in gd.sz.market mps.idp gd.sz.hall gd.sup; do
	$BIN/onestop-spoke -c "$W/$n.conf" 2>"$W/$n.log" & PIDS="$PIDS $!"
done
for n in gd.sz.market mps.idp gd.sz.hall gd.sup; do
	i=0
	until $ONESTOP status --api "ipc://$W/$n.sock" 2>/dev/null | grep -q 'hub_connected=yes'; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "spoke $n did not connect"; cat "$W/$n.log"; exit 1; }
		sleep 0.1
	done
done
A="--api ipc://$W/gd.sz.market.sock"
B="--api ipc://$W/mps.idp.sock"
H="--api ipc://$W/gd.sz.hall.sock"
S="--api ipc://$W/gd.sup.sock"

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
  "kind":"licence","online":true,"materials":[{"name":"ID card","shared_data":"identity"},
  {"name":"floor plan"}],
  "legal_days":20,"promised_days":5,"fee_cents":0,"regions":["gd.sz"],"min_level":2}'
$ONESTOP put $A items 11440300MB4A --json '{"name":"Food business permit","owner":"gd.sz.market",
  "kind":"permit","online":true,"materials":[{"name":"ID card","shared_data":"identity"},
  {"name":"business licence","shared_data":"licences"}],
  "legal_days":20,"promised_days":3,"fee_cents":0,"regions":["gd.sz"],"min_level":2}'
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

step "one-stop case 1: the applicant applies for a business licence at the service hall"
# The idp issues an assertion for the hall; the hall files the case with the
# identity as shared data and an upload; the form and the upload are sealed
# to the market regulator, so the hub routes what it cannot read.
$ONESTOP assert issue $B --subject subj-7f3a --level 2 --audience gd.sz.hall >"$W/a1.hex"
echo "shop: 12 Keyuan Road, 40 m2, kitchen" >"$W/form.txt"
echo "floor plan of 12 Keyuan Road" >"$W/plan.txt"
i=0
until $ONESTOP items $H 2>/dev/null | grep -q MB4A; do
	i=$((i + 1)); [ $i -lt 100 ] || break
	sleep 0.1
done
CASE1=$($ONESTOP apply $H --item 11440300MB2D --assertion "$W/a1.hex" --channel hall \
	--material identity:subj-7f3a --upload "floor plan=$W/plan.txt" --form "$W/form.txt" |
	sed -n 's/^case \([0-9a-f]*\) filed.*/\1/p')
echo "filed case $CASE1 at gd.sz.hall"
wait_state() { # API CASE STATE: until the case reaches STATE at that spoke
	i=0
	until $ONESTOP case show $1 $2 $3 2>/dev/null | grep -q "^state=$4 "; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "case $3 did not reach $4"; exit 1; }
		sleep 0.1
	done
}
wait_state --api "ipc://$W/gd.sz.market.sock" "$CASE1" filed
step "the market regulator's approval system: accepts, approves; an e-licence is issued"
$ONESTOP case accept $A "$CASE1"
$ONESTOP case decide $A "$CASE1" --approve --reason "complete" --licence-days 1825
wait_state --api "ipc://$W/gd.sz.hall.sock" "$CASE1" decided
step "the case at the owner (the form opened there) and at the hall: the same history"
$ONESTOP case show $A "$CASE1"
$ONESTOP case show $H "$CASE1"
LIC=$($ONESTOP case show $H "$CASE1" | sed -n "s/^state=.* licence=\\(LIC-[0-9a-f]*\\).*/\\1/p")
step "the e-licence $LIC, verified at the hall for its holder"
i=0
until $ONESTOP licence verify $H "$LIC" --holder subj-7f3a >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || break
	sleep 0.1
done
$ONESTOP licence show $H "$LIC"
$ONESTOP licence verify $H "$LIC" --holder subj-7f3a

step "one-stop case 2: a food business permit, the licence given by reference instead of paper"
$ONESTOP assert issue $B --subject subj-7f3a --level 2 --audience gd.sz.hall >"$W/a2.hex"
CASE2=$($ONESTOP apply $H --item 11440300MB4A --assertion "$W/a2.hex" --channel hall \
	--material identity:subj-7f3a --material "licences:$LIC" |
	sed -n 's/^case \([0-9a-f]*\) filed.*/\1/p')
echo "filed case $CASE2 at gd.sz.hall"
wait_state --api "ipc://$W/gd.sz.market.sock" "$CASE2" filed
$ONESTOP case accept $A "$CASE2"
$ONESTOP case need $A "$CASE2" --missing "hygiene certificate" --reason "staff hygiene certificate"
wait_state --api "ipc://$W/gd.sz.hall.sock" "$CASE2" more_needed
echo "staff hygiene certificates" >"$W/hygiene.txt"
$ONESTOP case resubmit $H "$CASE2" --upload "hygiene certificate=$W/hygiene.txt"
wait_state --api "ipc://$W/gd.sz.market.sock" "$CASE2" resubmitted
$ONESTOP case accept $A "$CASE2"
$ONESTOP case decide $A "$CASE2" --approve --reason "granted"
wait_state --api "ipc://$W/gd.sz.hall.sock" "$CASE2" decided
$ONESTOP case show $H "$CASE2"
step "cases listed at each end"
$ONESTOP cases $H --state decided
$ONESTOP cases $A --item 11440300MB4A
step "supervision: mps.idp subscribes to @supervision; the owner sent a metadata-only event per step"
$ONESTOP recv $B --wait 3000 --count 9 | grep -c 'type=onestop.Supervision' || true

step "public supervision: the applicant rates case 1 at the hall (5 of 5)"
$ONESTOP assert issue $B --subject subj-7f3a --level 2 --audience gd.sz.hall >"$W/a3.hex"
$ONESTOP rate $H "$CASE1" --score 5 --comment "clear and quick, thank you" --assertion "$W/a3.hex" --channel hall
step "a complaint about case 2, filed at the hall, goes to the province's supervisor gd.sup"
$ONESTOP assert issue $B --subject subj-7f3a --level 2 --audience gd.sz.hall >"$W/a4.hex"
CP=$($ONESTOP complain $H --about "case:$CASE2" --channel hall --assertion "$W/a4.hex" \
	--text "I was asked twice for the same hygiene certificate" |
	sed -n 's/^complaint \([0-9a-f]*\) filed.*/\1/p')
echo "filed complaint $CP at gd.sz.hall"
wait_complaint() { # API ID STATE: until the complaint reaches STATE at that spoke
	i=0
	until $ONESTOP complaint show $1 $2 $3 --json 2>/dev/null | grep -q "\"state\":\"$4\""; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "complaint $3 did not reach $4"; exit 1; }
		sleep 0.1
	done
}
wait_complaint --api "ipc://$W/gd.sup.sock" "$CP" received
step "the supervisor (the hotline) assigns it to the market regulator, which answers"
$ONESTOP complaint assign $S "$CP" --to gd.sz.market
wait_complaint --api "ipc://$W/gd.sz.market.sock" "$CP" assigned
$ONESTOP complaint answer $A "$CP" --text "Sorry: the certificate was on file; the step is fixed"
wait_complaint --api "ipc://$W/gd.sz.hall.sock" "$CP" answered
step "the answered complaint at the hall (the answer opened there only)"
$ONESTOP complaint show $H "$CP"
$ONESTOP complaints $S
step "the supervisor's statistics: per owning department, per item, and the market monitor"
i=0
until $ONESTOP stats $S --by owner --json 2>/dev/null | grep -q '"evaluations":1'; do
	i=$((i + 1)); [ $i -lt 100 ] || break
	sleep 0.1
done
$ONESTOP stats $S --by owner
$ONESTOP stats $S --by item --csv
$ONESTOP market $S --days 3

step "the hub never saw the form, the uploads, the complaint or the answer in clear"
if grep -rqa -e "Keyuan" -e "floor plan of" -e "hygiene certificates" -e "asked twice" \
	-e "the step is fixed" -e "clear and quick" "$W/hub.db" "$W/hub.log"; then
	echo "FOUND in clear at the hub"; exit 1
fi
echo "no form data, upload, complaint, answer or comment in the hub's store or log"

step "status"
$ONESTOP status $A
$ONESTOP status $B
$ONESTOP status $H
$ONESTOP status $S
step "hub log (routing decisions)"
grep -E 'event=(hub_ready|session_start|msg_refused)' "$W/hub.log" || true

step "federation: a national hub, two province hubs with their own registries, spokes under each"
sh deploy/quickstart-federation.sh
