#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests: `start` makes one with initdb in a new
# folder, starts it on a loopback port and prints "FOLDER BINDIR URL"; `stop FOLDER` stops
# it and removes the folder; `stop-server`/`start-server FOLDER` stop and start the server
# alone (an outage, for the fault tests). Installs Debian's `postgresql` when no server is found.
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres`
# user, in a folder that user owns under a parent it can traverse (/tmp, not a
# root-owned mktemp folder).
set -euo pipefail

find_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    done
    command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
    return 1
}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    local bin
    if ! bin=$(find_bin); then
        echo "postgres-test-cluster: installing postgresql" >&2
        local sudo_cmd=()
        if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
        "${sudo_cmd[@]}" apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq postgresql >/dev/null
        bin=$(find_bin) || { echo "postgres-test-cluster: postgresql installed but initdb not found" >&2; exit 1; }
    fi
    local folder port
    folder=$(mktemp -d /tmp/chittycharge-pg.XXXXXX)
    chmod 755 "$folder"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$folder"; fi
    # A free loopback port: ask the kernel for one.
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$folder/data" -U chittycharge --auth=trust --no-instructions -E UTF8 >"$folder/initdb.log" 2>&1 \
        || { cat "$folder/initdb.log" >&2; echo "postgres-test-cluster: initdb failed" >&2; exit 1; }
    # Durable as in production (fsync, synchronous_commit on); enough connections for
    # several `serve` processes with their pools.
    as_owner "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 start \
        -o "-p $port -k $folder -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on -c synchronous_commit=on" >/dev/null \
        || { cat "$folder/server.log" >&2; echo "postgres-test-cluster: the server did not start" >&2; exit 1; }
    echo "$port" >"$folder/port"
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U chittycharge chittycharge_test \
        || { echo "postgres-test-cluster: createdb failed" >&2; exit 1; }
    echo "$folder $bin postgres://chittycharge@127.0.0.1:$port/chittycharge_test?sslmode=disable"
}

# The server alone, keeping the data: a test's database outage and its end.
stop_server() {
    as_owner "$(find_bin)/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null
}

start_server() {
    local folder=$1 port
    port=$(cat "$folder/port")
    as_owner "$(find_bin)/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 start \
        -o "-p $port -k $folder -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on -c synchronous_commit=on" >/dev/null
}

stop() {
    local folder=$1 bin
    bin=$(find_bin)
    as_owner "$bin/pg_ctl" -D "$folder/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$folder"
}

case "${1:-}" in
    start) start ;;
    stop) stop "$2" ;;
    stop-server) stop_server "$2" ;;
    start-server) start_server "$2" ;;
    *) echo "usage: $0 start | stop FOLDER | stop-server FOLDER | start-server FOLDER" >&2; exit 2 ;;
esac
