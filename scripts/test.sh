#!/usr/bin/env bash
# The test command: installs what the build needs, starts a throw-away PostgreSQL (the
# PostgreSQL store's conformance checks and the several-instance tests run against it),
# builds everything (including the benchmark executables, so they keep compiling) and
# runs the whole test suite. The cluster is stopped and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
# The manual's test runs its curl examples (bootstrap.sh installed luacheck).
test_tools=()
command -v curl >/dev/null 2>&1 || test_tools+=(curl)
if ((${#test_tools[@]})); then
    echo "test: installing ${test_tools[*]}"
    sudo_cmd=(); if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${test_tools[@]}" >/dev/null
fi
if ! cluster=$(./scripts/postgres-test-cluster.sh start); then
    echo "test: PostgreSQL could not be started (see above); the PostgreSQL tests cannot run" >&2
    exit 1
fi
read -r cluster_folder _ postgres_url <<<"$cluster"
trap './scripts/postgres-test-cluster.sh stop "$cluster_folder"' EXIT
echo "test: PostgreSQL for the tests at $postgres_url"
export CHITTYCHARGE_TEST_POSTGRES_URL="$postgres_url"
swift build --build-tests
swift test --skip-build
