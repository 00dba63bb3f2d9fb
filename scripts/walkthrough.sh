#!/usr/bin/env bash
# Drives the README walk-through against a server started by ./scripts/run.sh:
# health, place, authorise (through the Stripe emulator), the webhook that follows,
# capture, place and release, an automatic release by the policy, a refused hold, the
# list; then, as an operator, the policy status, a reload and the metrics. Needs curl and python3 (for reading ids). The shipped policy allows 10 API
# requests a minute per client; when the walk-through hits that, it waits as told by
# Retry-After and goes on.
set -euo pipefail
base=${BASE_URL:-http://127.0.0.1:8787}
emulator=${STRIPE_EMULATOR_URL:-http://127.0.0.1:8788}
token=${CHITTY_ID_TOKEN:-demo-token}
admin_token=${ADMIN_TOKEN:-demo-admin-token-local-only}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
step() { printf '\n== %s\n' "$*"; }

# api METHOD PATH [JSON]: one API call; prints the body; waits out a 429 once.
api() {
    local method=$1 path=$2 body=${3:-} headers status
    for attempt in 1 2; do
        headers=$(mktemp)
        if [ -n "$body" ]; then
            status=$(curl -sS -o /tmp/walkthrough.body -D "$headers" -w '%{http_code}' -X "$method" "$base$path" \
                -H "ChittyID-Token: $token" -H 'Content-Type: application/json' -d "$body")
        else
            status=$(curl -sS -o /tmp/walkthrough.body -D "$headers" -w '%{http_code}' -X "$method" "$base$path" \
                -H "ChittyID-Token: $token")
        fi
        if [ "$status" = 429 ] && [ "$attempt" = 1 ]; then
            wait=$(grep -i '^retry-after:' "$headers" | tr -dc '0-9')
            echo "(rate limited by the policy: waiting ${wait:-60} s)" >&2
            sleep "${wait:-60}"
            continue
        fi
        rm -f "$headers"
        cat /tmp/walkthrough.body
        return 0
    done
}
confirm() { curl -fsS -u sk_test_demo: "$emulator/v1/payment_intents/$1/confirm" -d payment_method=pm_card_visa; }

step "health"
curl -fsS "$base/health"; echo
step "place a \$200 hold"
hold=$(api POST /api/holds '{"amount":20000,"description":"Security deposit","property_id":"prop_1","metadata":{"guest_tier":"NEW_GUEST"}}')
echo "$hold"
id=$(echo "$hold" | field id)
step "the guest authorises $id (Stripe emulator, like Stripe.js)"
confirm "$id" | python3 -c "import json,sys; p=json.load(sys.stdin); print({k: p[k] for k in ('id','status','amount_capturable')})"
sleep 1
step "the emulator's signed webhook moved it to requires_capture (no refresh)"
api GET "/api/holds/$id"; echo
api GET "/api/holds/$id/events" | python3 -c "import json,sys; [print(' ', e['kind'], e['type'], e.get('outcome', e.get('source', ''))) for e in json.load(sys.stdin)['data']]"
step "capture \$75 (the rest is released)"
api POST "/api/holds/$id/capture" '{"amount_to_capture":7500}'; echo
step "place another hold and release it"
second=$(api POST /api/holds '{"amount":15000,"description":"Pet deposit"}' | field id)
confirm "$second" >/dev/null
api POST "/api/holds/$second/cancel"; echo
step "a hold whose guest checked out 49 h ago: once authorised, its policy releases it by itself"
past=$(python3 -c "import datetime; print((datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=49)).strftime('%Y-%m-%dT%H:%M:%SZ'))")
third=$(api POST /api/holds "{\"amount\":10000,\"description\":\"Deposit\",\"metadata\":{\"check_out\":\"$past\"}}" | field id)
confirm "$third" >/dev/null
sleep 4   # the scheduler looks for due actions every 2 s
api GET "/api/holds/$third/events" | python3 -c "import json,sys; [print(' ', e['kind'], e['type'], e.get('outcome', e.get('source', ''))) for e in json.load(sys.stdin)['data']]"
step "a no-show: the rental app says the guest never came (booking event); the policy captures the \$50 fee"
checkin=$(python3 -c "import datetime; print((datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=3)).strftime('%Y-%m-%dT%H:%M:%SZ'))")
fourth=$(api POST /api/holds "{\"amount\":20000,\"description\":\"Deposit\",\"metadata\":{\"check_in\":\"$checkin\",\"no_show_fee\":5000}}" | field id)
confirm "$fourth" >/dev/null
sleep 1
api POST "/api/holds/$fourth/booking-events" "{\"event_id\":\"pms-noshow-$fourth\",\"type\":\"no_show\",\"occurred_at\":\"$checkin\"}" \
    | python3 -c "import json,sys; b=json.load(sys.stdin); print(' booking', b['booking']['state'], '-> scheduled', b['scheduled_action'])"
sleep 4
api GET "/api/holds/$fourth" | python3 -c "import json,sys; h=json.load(sys.stdin); print(' ', h['status'], 'amount_received', h['amount_received'])"
step "a hold above the NEW_GUEST limit is refused (400)"
api POST /api/holds '{"amount":300000,"description":"Deposit","metadata":{"guest_tier":"NEW_GUEST"}}'; echo
step "the holds, newest first"
api GET "/api/holds?limit=5" | python3 -c "import json,sys; [print(h['id'], h['status'], h['amount'], h['amount_received'], h['chitty_id']) for h in json.load(sys.stdin)['data']]"
step "operator: the active policy revision (GET /admin/policies)"
curl -fsS "$base/admin/policies" -H "Authorization: Bearer $admin_token" | python3 -c "import json,sys; a=json.load(sys.stdin)['active']; print(' ', a['revision'], 'loaded by', a['trigger'], 'at', a['loaded_at'], 'from', a['directory'])"
step "operator: reload policies/ (unchanged files: nothing to swap)"
curl -fsS -X POST "$base/admin/policies/reload" -H "Authorization: Bearer $admin_token"; echo
step "operator: a client token cannot reload (401)"
curl -sS -o /dev/null -w '  %{http_code}\n' -X POST "$base/admin/policies/reload" -H "ChittyID-Token: $token"
step "operator: what the metrics say (GET /metrics, a few series)"
# Known series start at 0; show the ones that moved. awk reads to the end, so no SIGPIPE.
curl -fsS "$base/metrics" | grep -E '^chittycharge_(hold_placements|hold_operations|webhook_events|policy_active_revision)' | grep -v ' 0$' | awk 'NR <= 12'
