#!/usr/bin/env bash
# Drives the README walk-through against a server started by ./scripts/run.sh:
# health, place, authorise (through the Stripe emulator), refresh, capture, place and
# release, a refused hold, the list. Needs curl and python3 (for reading ids).
set -euo pipefail
base=${BASE_URL:-http://127.0.0.1:8787}
emulator=${STRIPE_EMULATOR_URL:-http://127.0.0.1:8788}
token=${CHITTY_ID_TOKEN:-demo-token}
auth=(-H "ChittyID-Token: $token")
json=(-H 'Content-Type: application/json')
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
step() { printf '\n== %s\n' "$*"; }

step "health"
curl -fsS "$base/health"; echo
step "place a \$200 hold"
hold=$(curl -fsS -X POST "$base/api/holds" "${auth[@]}" "${json[@]}" -H "Idempotency-Key: walkthrough-$(date +%s%N)" \
    -d '{"amount":20000,"description":"Security deposit","property_id":"prop_1","metadata":{"guest_tier":"NEW_GUEST"}}')
echo "$hold"
id=$(echo "$hold" | field id)
step "the guest authorises $id (Stripe emulator, like Stripe.js)"
curl -fsS -u sk_test_demo: "$emulator/v1/payment_intents/$id/confirm" -d payment_method=pm_card_visa | python3 -c "import json,sys; p=json.load(sys.stdin); print({k: p[k] for k in ('id','status','amount_capturable')})"
step "the emulator's signed webhook moved it to requires_capture (no refresh)"
for _ in $(seq 1 50); do
    status=$(curl -fsS "$base/api/holds/$id" "${auth[@]}" | field status)
    [ "$status" = requires_capture ] && break
    sleep 0.1
done
curl -fsS "$base/api/holds/$id" "${auth[@]}"; echo
curl -fsS "$base/api/holds/$id/events" "${auth[@]}"; echo
step "capture \$75 (the rest is released)"
curl -fsS -X POST "$base/api/holds/$id/capture" "${auth[@]}" "${json[@]}" -d '{"amount_to_capture":7500}'; echo
step "place another hold and release it"
second=$(curl -fsS -X POST "$base/api/holds" "${auth[@]}" "${json[@]}" -d '{"amount":15000,"description":"Pet deposit"}' | field id)
curl -fsS -u sk_test_demo: "$emulator/v1/payment_intents/$second/confirm" -d payment_method=pm_card_visa >/dev/null
curl -fsS -X POST "$base/api/holds/$second/cancel" "${auth[@]}"; echo
step "a hold above the NEW_GUEST limit is refused (400)"
curl -sS -X POST "$base/api/holds" "${auth[@]}" "${json[@]}" -d '{"amount":300000,"description":"Deposit","metadata":{"guest_tier":"NEW_GUEST"}}'; echo
step "the holds, newest first"
curl -fsS "$base/api/holds?limit=5" "${auth[@]}" | python3 -c "import json,sys; [print(h['id'], h['status'], h['amount'], h['amount_received'], h['chitty_id']) for h in json.load(sys.stdin)['data']]"
