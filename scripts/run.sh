#!/usr/bin/env bash
# The run command: builds ChittyCharge and serves the hold API on http://127.0.0.1:8787
# with the embedded defaults — SQLite in ./chittycharge.sqlite, the built-in Stripe
# emulator (its own API on :8788) and the built-in ChittyID emulator, both announced.
# Prints a curl walk-through first. Ctrl-C stops it gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
swift build --product chittycharge
bin=$(swift build --product chittycharge --show-bin-path)/chittycharge
"$bin" policy check --dir policies

if [ -z "${CHITTY_ID_TOKEN:-}" ]; then
    export CHITTY_ID_TOKEN=demo-token
    echo "CHITTY_ID_TOKEN was not set: using 'demo-token' for this local run"
fi
if [ -z "${ADMIN_TOKEN:-}" ]; then
    export ADMIN_TOKEN=demo-admin-token-local-only
    echo "ADMIN_TOKEN was not set: using 'demo-admin-token-local-only' for this local run (policy reload/rollback/status)"
fi
port=${PORT:-8787}
cat <<WALK

Walk-through (in another terminal):
  curl -s localhost:$port/health
  # place a \$200 hold (201; note its "id", pi_...)
  curl -s -X POST localhost:$port/api/holds -H "ChittyID-Token: $CHITTY_ID_TOKEN" \\
       -H 'Content-Type: application/json' -H 'Idempotency-Key: booking-1001' \\
       -d '{"amount":20000,"description":"Security deposit","property_id":"prop_1","metadata":{"guest_tier":"NEW_GUEST"}}'
  # the guest authorises it in the browser; with the emulator, confirm it like Stripe.js would
  curl -s -u sk_test_demo: localhost:8788/v1/payment_intents/PI_ID/confirm -d payment_method=pm_card_visa
  # the emulator's signed webhook has moved it to requires_capture: read it, and what Stripe told us
  curl -s "localhost:$port/api/holds/PI_ID" -H "ChittyID-Token: $CHITTY_ID_TOKEN"
  curl -s "localhost:$port/api/holds/PI_ID/events" -H "ChittyID-Token: $CHITTY_ID_TOKEN"
  # capture \$75 of it (the rest is released)
  curl -s -X POST localhost:$port/api/holds/PI_ID/capture -H "ChittyID-Token: $CHITTY_ID_TOKEN" \\
       -H 'Content-Type: application/json' -d '{"amount_to_capture":7500}'
  # place and release another one
  curl -s -X POST localhost:$port/api/holds/PI_ID2/cancel -H "ChittyID-Token: $CHITTY_ID_TOKEN"
  # a refused hold: \$3,000 for a NEW_GUEST (400 with details.current_tier / max_amount)
  curl -s -X POST localhost:$port/api/holds -H "ChittyID-Token: $CHITTY_ID_TOKEN" -H 'Content-Type: application/json' \\
       -d '{"amount":300000,"description":"Deposit","metadata":{"guest_tier":"NEW_GUEST"}}'
  # list them, newest first
  curl -s "localhost:$port/api/holds?limit=10" -H "ChittyID-Token: $CHITTY_ID_TOKEN"
  # operators: the active policy revision, a reload of policies/ (422 and no change if it fails), the metrics
  ADMIN_TOKEN=$ADMIN_TOKEN $bin policy status
  ADMIN_TOKEN=$ADMIN_TOKEN $bin policy reload
  curl -s localhost:$port/metrics | grep '^chittycharge_'
  (scripts/walkthrough.sh runs all of this for you against the running server.)

WALK
exec "$bin" serve --stripe emulator --chittyid emulator --policy-dir policies --port "$port"
