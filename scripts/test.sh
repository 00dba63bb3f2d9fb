#!/usr/bin/env bash
# The test command: installs what the build needs, builds everything (including the
# benchmark executables, so they keep compiling) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build
