#!/usr/bin/env bash
# Runs `cargo bench --bench server` with its PostgreSQL rows: a throwaway PostgreSQL cluster
# in target/bench-postgres (as an unprivileged user: under root, in a user namespace, since
# PostgreSQL refuses to run as root), stopped at the end whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")")
dir="$PWD/target/bench-postgres"
rm -rf "$dir" && mkdir -p "$dir"
as_user=()
[ "$(id -u)" -ne 0 ] || as_user=(unshare --user --map-user=1000 --map-group=1000)
"${as_user[@]}" "$bin/initdb" -D "$dir/data" -U keyseal --auth=trust --no-sync >"$dir/initdb.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_user[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 >"$dir/server.log" 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q && break
    sleep 0.1
done
"$bin/psql" -h 127.0.0.1 -p "$port" -U keyseal -d postgres -qc "CREATE DATABASE bench" 
KEYSEAL_BENCH_POSTGRES="postgresql://keyseal@127.0.0.1:$port/bench?sslmode=disable" cargo bench --bench server "$@"
