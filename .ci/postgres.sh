#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: `.ci/postgres.sh start` prints its SQLAlchemy URL,
# `.ci/postgres.sh stop` removes it. Installs Debian's postgresql when the binaries are missing.
set -euo pipefail
DIR="${WANGGE_PG_DIR:-/tmp/wangge-test-pg}"
PORT="${WANGGE_PG_PORT:-54329}"
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
run() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
case "${1:-}" in
  start)
    if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
      echo "installing Debian's postgresql for the store tests" >&2
      SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends postgresql >/dev/null 2>&1 \
        || { $SUDO apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends postgresql >/dev/null; }
      BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    fi
    "$0" stop >/dev/null 2>&1 || true
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    run "$BIN/initdb -D $DIR/data -A trust -U wangge >/dev/null"
    run "$BIN/pg_ctl -D $DIR/data -o '-p $PORT -k $DIR -c listen_addresses=' -l $DIR/log -w start >/dev/null"
    "$BIN/psql" -h "$DIR" -p "$PORT" -U wangge -d postgres -qc "create database wangge_test" >/dev/null
    echo "postgresql+psycopg://wangge@/wangge_test?host=$DIR&port=$PORT"
    ;;
  stop)
    if [ -n "$BIN" ] && [ -d "$DIR/data" ]; then run "$BIN/pg_ctl -D $DIR/data -m immediate stop" >/dev/null 2>&1 || true; fi
    rm -rf "$DIR"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
