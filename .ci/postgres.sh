#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the store's tests (CI and local runs).
#
#   eval "$(.ci/postgres.sh start)"   # prints export lines (messages go to stderr)
#   cargo test -p campaign-store
#   .ci/postgres.sh stop              # or: .ci/postgres.sh stop DIR
#
# `start [DIR]` initialises a cluster in DIR (default: a new /tmp/campaigns-pg.*),
# listening only on 127.0.0.1 on a free port with trust auth and no durability
# (fsync, synchronous_commit and full_page_writes off: the data is thrown away,
# so speed wins), creates the database `campaigns_test` and prints
#   export CAMPAIGNS_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT/campaigns_test
#   export CAMPAIGNS_TEST_POSTGRES_DIR=DIR
# It exits non-zero with a message if it cannot, leaving no server running.
# As root it installs the distribution's `postgresql` package when no server is
# found. `stop [DIR]` (default: $CAMPAIGNS_TEST_POSTGRES_DIR) stops the server
# and removes DIR; it is idempotent.
#
# CAMPAIGNS_PG_BINDIR overrides where initdb, pg_ctl, postgres, pg_isready and
# createdb are looked for (default: the newest /usr/lib/postgresql/*/bin, the
# Debian layout; PATH is not trusted, /usr/bin/psql and friends are
# postgresql-common wrappers that pick a version of their own).
set -euo pipefail

DB_NAME=campaigns_test
DB_USER=postgres
MARKER=.campaigns-test-postgres # `stop` touches only directories holding it

say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# The newest installed server's bin directory, or nothing.
find_bindir() {
    if [ -n "${CAMPAIGNS_PG_BINDIR:-}" ]; then
        echo "$CAMPAIGNS_PG_BINDIR"
        return
    fi
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1) || true
    [ -n "$dir" ] && echo "$dir"
}

# Installs the distribution's server when none is found (root and apt only).
install_if_missing() {
    [ -n "$(find_bindir)" ] && return 0
    [ -z "${CAMPAIGNS_PG_BINDIR:-}" ] || return 0 # an explicit choice is not overridden
    [ "$(id -u)" = 0 ] || die "no PostgreSQL server under /usr/lib/postgresql and not root: install the 'postgresql' package"
    command -v apt-get >/dev/null || die "no PostgreSQL server under /usr/lib/postgresql and no apt-get to install one"
    say "installing PostgreSQL (apt-get install postgresql)"
    # The package would otherwise initdb (and maybe start) a system cluster on
    # port 5432 we do not use: seconds wasted and a server left behind.
    local no_main=/etc/postgresql-common/createcluster.d/zz-campaigns-ci.conf
    mkdir -p "${no_main%/*}" && echo "create_main_cluster = false" >"$no_main"
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql)
    # `apt-get update` only when needed: it is the slow part, and a machine
    # whose lists are current installs without it.
    local ok=1
    "${apt[@]}" >&2 || { apt-get update -q >&2 && "${apt[@]}" >&2; } || ok=
    rm -f "$no_main" && rmdir "${no_main%/*}" 2>/dev/null || true
    [ -n "$ok" ] || die "apt-get could not install postgresql"
}

# A TCP port nobody listens on (the kernel's choice when python3 is here).
# Racy by nature, hence the retries in `start`.
free_port() {
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null) || port=
    case "$port" in '' | *[!0-9]*) port=$((20000 + RANDOM % 12000)) ;; esac
    echo "$port"
}

# Runs a server command as the cluster's owner: initdb and pg_ctl refuse root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u "$DB_USER" -- "$@")
    else
        "$@"
    fi
}

# The postmaster of DIR's cluster if it runs (checked, so a reused pid is not killed).
postmaster_pid() {
    local pid
    pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null) || return 1
    case "$pid" in '' | *[!0-9]*) return 1 ;; esac
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$1/data" || return 1
    echo "$pid"
}

# Stops DIR's server if it runs; the directory stays.
stop_server() {
    local dir=$1 bindir pid
    [ -e "$dir/data/postmaster.pid" ] || return 0
    bindir=$(find_bindir) || true
    # Immediate shutdown: nothing in the cluster is worth a checkpoint.
    if [ -x "$bindir/pg_ctl" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
    fi
    if pid=$(postmaster_pid "$dir"); then
        kill -KILL "$pid" 2>/dev/null || true # its children exit once it is gone
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$dir/data/postmaster.pid"
}

cmd_stop() {
    local dir=${1:-${CAMPAIGNS_TEST_POSTGRES_DIR:-}}
    [ -n "$dir" ] || die "usage: $0 stop DIR (or set CAMPAIGNS_TEST_POSTGRES_DIR)"
    [ -d "$dir" ] || return 0
    if [ ! -e "$dir/$MARKER" ]; then
        # Empty: made by the caller for a `start` that never ran.
        rmdir -- "$dir" 2>/dev/null || die "$dir is not a cluster made by $0: left alone"
        return 0
    fi
    stop_server "$dir"
    rm -rf -- "$dir"
}

dir=
cmd_start() {
    local bindir
    dir=${1:-} # global: the EXIT trap below needs it
    if [ -z "$dir" ]; then
        # /tmp rather than $TMPDIR: the owner must reach it (not under /root) and
        # a unix socket path must stay under 108 bytes.
        dir=$(mktemp -d /tmp/campaigns-pg.XXXXXX)
    fi
    [ -d "$dir" ] && [ -z "$(ls -A "$dir")" ] || die "$dir is not an empty directory"
    dir=$(cd "$dir" && pwd -P)
    touch "$dir/$MARKER"
    # Whatever fails from here on, no server may be left running.
    trap 'status=$?; if [ "$status" != 0 ]; then cmd_stop "$dir"; fi; exit "$status"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP

    install_if_missing
    bindir=$(find_bindir) || true
    [ -n "$bindir" ] || die "no PostgreSQL server found under /usr/lib/postgresql/*/bin"
    local tool
    for tool in initdb pg_ctl postgres pg_isready createdb; do
        [ -x "$bindir/$tool" ] || die "$bindir/$tool is missing (CAMPAIGNS_PG_BINDIR=${CAMPAIGNS_PG_BINDIR:-unset})"
    done

    if [ "$(id -u)" = 0 ]; then
        local group=(--user-group)
        getent group "$DB_USER" >/dev/null && group=(--gid "$DB_USER")
        id -u "$DB_USER" >/dev/null 2>&1 ||
            useradd --system "${group[@]}" --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$DB_USER" ||
            die "cannot create the system user $DB_USER"
        chown "$DB_USER" "$dir"
    fi

    # C.UTF-8 when the system has it (always on Debian): UTF-8 text, code point order.
    local locale=C
    locale -a 2>/dev/null | grep -qixE 'c\.utf-?8' && locale=C.UTF-8
    as_owner "$bindir/initdb" -D "$dir/data" -U "$DB_USER" --auth=trust -E UTF8 --locale="$locale" \
        --no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
        { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed"; }
    cat >>"$dir/data/postgresql.conf" <<EOF

# .ci/postgres.sh: a throwaway test cluster, fast rather than durable.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
timezone = 'UTC'
EOF

    # The port is free when picked but may be taken before the server binds it:
    # try a few.
    local port attempt started=
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        rm -f "$dir/postgres.log" # pg_ctl appends to it, as the owner
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port" -w -t 30 start >/dev/null 2>&1; then
            started=1
            break
        fi
        stop_server "$dir"
        grep -q 'could not bind\|could not create listen socket\|already in use' "$dir/postgres.log" 2>/dev/null || break
        say "port $port taken (attempt $attempt), trying another"
    done
    if [ -z "$started" ]; then
        tail -n 20 "$dir/postgres.log" >&2 2>/dev/null || true
        die "the server did not start (log above, from $dir/postgres.log)"
    fi

    # pg_ctl -w waited for the server; this checks the TCP listener tests use.
    local ready=
    for _ in $(seq 100); do
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$DB_USER" -d postgres; then ready=1; break; fi
        sleep 0.1
    done
    [ -n "$ready" ] || die "the server does not accept connections on 127.0.0.1:$port"
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$DB_USER" "$DB_NAME" || die "createdb $DB_NAME failed"

    trap - EXIT INT TERM HUP
    say "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, cluster in $dir (stop: .ci/postgres.sh stop $dir)"
    printf 'export CAMPAIGNS_TEST_POSTGRES=%q\n' "postgres://$DB_USER@127.0.0.1:$port/$DB_NAME"
    printf 'export CAMPAIGNS_TEST_POSTGRES_DIR=%q\n' "$dir"
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    *) die "usage: $0 start [DIR] | stop [DIR]" ;;
esac
