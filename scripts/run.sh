#!/usr/bin/env bash
# The run command. The HTTP server arrives with the next issue; until then this checks the
# default policy set, runs its test cases and shows two decisions, all through the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
swift build --product chittycharge
bin=$(swift build --product chittycharge --show-bin-path)/chittycharge
"$bin" policy check --dir policies
"$bin" policy test --dir policies | tail -n 1
echo "hold_limit for a NEW_GUEST hold of \$3,000:"
"$bin" policy eval --dir policies hold_limit '{"amount":300000,"currency":"usd","description":"Damage deposit","metadata":{"guest_tier":"NEW_GUEST"},"client":"demo"}'
echo "cors for https://evilchitty.cc:"
"$bin" policy eval --dir policies cors '{"origin":"https://evilchitty.cc","method":"POST","path":"/api/holds"}'
