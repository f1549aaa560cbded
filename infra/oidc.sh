#!/usr/bin/env bash
# Local OpenID Connect provider (Dex) standing in for the provincial identity provider.
#
# Why Dex: org's staff sign in through an OIDC provider (services/org/signin/oidc.py); the tests
# must go through a real one (login form, code flow, signed ID tokens), with no Docker engine and no
# download site on the dev/CI machines. Dex is a Go module, so the Go module proxy serves its
# source and the machine's Go builds it once into the git-ignored .cache/ (114 s measured on this
# 2-core machine with empty Go caches, 4 s with Go's own caches warm); Dex then answers its discovery
# document 0.1 s after launch (1 s for `start` with the secrets and the config) and holds ~40 MB.
# (Keycloak 26.7 from Maven Central was measured too: 18 s to install, but 68 s to start the first
# time and 17 s every time after, ~450 MB, Java 21+: see infra/README.md.)
#
# Dex's module path is github.com/dexidp/dex while its releases are tagged v2.x, so the proxy has no
# v2.41.1 of it; the release is the pseudo-version of its tag commit (DEX_MODULE_VERSION). Its go.mod
# replaces github.com/dexidp/dex/api/v2 with ./api/v2, a nested module that the module zip does not
# carry: the build drops that replace and requires the published api/v2 module instead
# (DEX_API_VERSION, a superset of what the server uses). cmd/dex needs cgo (its SQLite storage is
# compiled in even though we use the memory storage); with libsqlite3-dev present it links the
# system library instead of compiling SQLite. A 20-line helper (dv-bcrypt) is built beside it from
# Dex's own golang.org/x/crypto, to hash the users' passwords for Dex's password database.
#
#   .cache/oidc/<version>/{dex,dv-bcrypt}   binaries      .cache/oidc/config.yaml  (mode 600, generated)
#   .cache/run/oidc.pid                     .cache/logs/oidc.log
#
# Config (generated at every start by infra/oidc_config.py from .cache/secrets/oidc/, made by
# `python -m scripts.secrets ensure`): issuer http://127.0.0.1:$OIDC_PORT/dex, memory storage, the
# password database with the users of scripts/secrets.py OIDC_USERS (bcrypt hashes of
# oidc/<email>.password), one confidential client `danvan-org` (secret oidc/client_secret) whose
# redirect URIs are org's callback on :8001 and the test app's on :$OIDC_TEST_APP_PORT.
#
# Usage: infra/oidc.sh install|start|stop|restart|status
# Env:   OIDC_PORT (5556), OIDC_TEST_APP_PORT (18001), OIDC_START_TIMEOUT (30 s); Go's own GOMODCACHE
#        and GOCACHE are used as the go command has them (so a rebuild on the same machine is quick).
set -euo pipefail

_NAME=oidc
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=infra/lib.sh
source "$REPO/infra/lib.sh"

DEX_VERSION=v2.41.1
DEX_MODULE_VERSION=v0.0.0-20240807174518-43956db7fd75 # the commit tagged v2.41.1
DEX_API_VERSION=v2.2.0
OIDC_PORT=${OIDC_PORT:-5556}
OIDC_TEST_APP_PORT=${OIDC_TEST_APP_PORT:-18001}
OIDC_START_TIMEOUT=${OIDC_START_TIMEOUT:-30}

OHOME="$CACHE/oidc"
BIN_DIR="$OHOME/$DEX_VERSION"
CONF="$OHOME/config.yaml"
PIDFILE="$RUN_DIR/oidc.pid"
LOG_FILE="$LOG_DIR/oidc.log"
PID_PATTERN="$BIN_DIR/dex serve"
SECRETS_DIR=${SECRETS_DIR:-$CACHE/secrets}
export SECRETS_DIR
ISSUER="http://127.0.0.1:$OIDC_PORT/dex"

installed() { [[ -f "$BIN_DIR/.complete" && -x "$BIN_DIR/dex" && -x "$BIN_DIR/dv-bcrypt" ]]; }

cmd_install() {
    if installed; then
        log "Dex $DEX_VERSION already installed in $BIN_DIR (nothing to do)"
        return 0
    fi
    command -v go >/dev/null || die "go not found (Dex is built from the Go module proxy; Go 1.21+ is needed)"
    command -v gcc >/dev/null || die "gcc not found (Dex's cmd/dex needs cgo: apt-get install gcc libc6-dev)"
    local t0 build dir tags=""
    t0=$(now_ms)
    build="$OHOME/.build"
    rm -rf "$build"
    mkdir -p "$build"
    export GOTOOLCHAIN=local GOFLAGS=-modcacherw CGO_ENABLED=1
    log "downloading github.com/dexidp/dex@$DEX_MODULE_VERSION ($DEX_VERSION) from the Go module proxy ..."
    if ! go mod download -json "github.com/dexidp/dex@$DEX_MODULE_VERSION" >"$build/download.json" 2>"$build/go.log"; then
        cat "$build/download.json" >>"$build/go.log"
        show_log_tail "$build/go.log" 20
        die "the Go module proxy did not serve github.com/dexidp/dex@$DEX_MODULE_VERSION"
    fi
    dir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Dir"])' "$build/download.json")
    [[ -f $dir/go.mod ]] || die "no go.mod in $dir"
    cp -R "$dir" "$build/src"
    chmod -R u+w "$build/src"
    mkdir -p "$build/src/cmd/dv-bcrypt"
    cat >"$build/src/cmd/dv-bcrypt/main.go" <<'EOF'
// dv-bcrypt (infra/oidc.sh): one password per line on stdin, one bcrypt hash (cost 10) per line out.
package main

import (
	"bufio"
	"fmt"
	"os"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		hash, err := bcrypt.GenerateFromPassword(in.Bytes(), 10)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(string(hash))
	}
	if in.Err() != nil {
		os.Exit(1)
	}
}
EOF
    [[ -f /usr/include/sqlite3.h ]] && tags=libsqlite3
    log "building dex ${tags:+(system SQLite) }with $(go version | cut -d' ' -f3) — a few minutes on a fresh machine ..."
    if ! (cd "$build/src" &&
        go mod edit -dropreplace github.com/dexidp/dex/api/v2 -require "github.com/dexidp/dex/api/v2@$DEX_API_VERSION" &&
        go build -mod=mod -trimpath -tags "$tags" -ldflags "-s -w -X main.version=$DEX_VERSION" -o "$build/bin/dex" ./cmd/dex &&
        go build -mod=mod -trimpath -ldflags "-s -w" -o "$build/bin/dv-bcrypt" ./cmd/dv-bcrypt) >>"$build/go.log" 2>&1; then
        show_log_tail "$build/go.log" 30
        die "building Dex failed (see $build/go.log)"
    fi
    rm -rf "$BIN_DIR"
    mkdir -p "$OHOME"
    mv "$build/bin" "$BIN_DIR"
    touch "$BIN_DIR/.complete"
    rm -rf "$build"
    log "installed Dex $DEX_VERSION in $BIN_DIR in $(($(now_ms) - t0)) ms"
}

ensure_secrets() {
    [[ -x $APP_PYTHON ]] || die "$APP_PYTHON not found: run './dev setup' (the provider's secrets are made by scripts/secrets.py)"
    (cd "$REPO" && "$APP_PYTHON" -m scripts.secrets ensure) || die "could not create the OIDC secrets in $SECRETS_DIR"
}

# discovery_ok -> 0 if the discovery document answers and names our issuer.
discovery_ok() {
    python3 - "$ISSUER" <<'PY' 2>/dev/null
import json, sys, urllib.request
issuer = sys.argv[1]
with urllib.request.urlopen(issuer + "/.well-known/openid-configuration", timeout=2) as r:
    sys.exit(0 if json.load(r).get("issuer") == issuer else 1)
PY
}

cmd_start() {
    local pid t0 deadline
    if pid=$(running_pid "$PIDFILE" "$PID_PATTERN"); then
        log "already running (pid $pid), issuer $ISSUER"
        return 0
    fi
    installed || die "Dex is not installed: run 'infra/oidc.sh install' first"
    require_port_free "$OIDC_PORT" "OIDC_PORT, the OIDC provider"
    t0=$(now_ms)
    ensure_secrets
    mkdir -p "$OHOME"
    (cd "$REPO" && "$APP_PYTHON" -m infra.oidc_config --issuer "$ISSUER" --port "$OIDC_PORT" \
        --test-app-port "$OIDC_TEST_APP_PORT" --bcrypt "$BIN_DIR/dv-bcrypt" --out "$CONF") ||
        die "could not write $CONF"
    log "starting Dex $DEX_VERSION, issuer $ISSUER, log $LOG_FILE"
    spawn "$PIDFILE" "$LOG_FILE" "$BIN_DIR/dex" serve "$CONF"
    pid=$(cat "$PIDFILE")
    deadline=$(($(date +%s) + OIDC_START_TIMEOUT))
    until discovery_ok; do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log_tail "$LOG_FILE" 25
            rm -f "$PIDFILE"
            die "Dex (pid $pid) exited during startup"
        fi
        if (($(date +%s) >= deadline)); then
            show_log_tail "$LOG_FILE" 25
            die "no discovery document at $ISSUER/.well-known/openid-configuration within ${OIDC_START_TIMEOUT}s (pid $pid; 'infra/oidc.sh stop')"
        fi
        sleep 0.1
    done
    log "ready (pid $pid), issuer $ISSUER, after $(($(now_ms) - t0)) ms"
}

cmd_status() {
    local pid v="not installed"
    installed && v=$DEX_VERSION
    if pid=$(running_pid "$PIDFILE" "$PID_PATTERN" 2>/dev/null); then
        log "running (pid $pid), issuer $ISSUER, version $v, log $LOG_FILE"
        return 0
    fi
    log "not running (port $OIDC_PORT), version $v"
    return 3
}

cmd_stop() { stop_pid "$PIDFILE" "$PID_PATTERN" "Dex" 15; }

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
restart)
    cmd_stop
    cmd_start
    ;;
status) cmd_status ;;
*)
    echo "usage: $0 install|start|stop|restart|status" >&2
    exit 2
    ;;
esac
