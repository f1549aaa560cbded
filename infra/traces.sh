#!/usr/bin/env bash
# Local trace viewer (Jaeger v2) for the services' OpenTelemetry spans, without Docker.
#
# Why: the services export OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (shared/telemetry.py); a
# JSON-lines TRACE_FILE is no way to follow a decision across four services. Jaeger v2 is one Go
# binary (an OpenTelemetry collector build with Jaeger's storage and query): the Go module proxy
# serves its source and the machine's Go builds it once into the git-ignored .cache/ (as
# infra/oidc.sh builds Dex), with GOPATH, GOMODCACHE and GOCACHE under .cache/traces so nothing
# outside the repository is touched.
#
# `go install github.com/jaegertracing/jaeger/cmd/jaeger@VERSION` is refused by the go command: the
# module's go.mod has a replace directive (github.com/Shopify/sarama). So, like Dex, the module is
# downloaded (`go mod download`), copied and built with `go build` inside it, which honours that
# replace exactly as Jaeger's own release build does. Jaeger's releases are tagged v2.x *and* v1.x on
# the same commit; the module path has no /v2, so the proxy serves the v1.x tag (v1.75.0 = v2.12.0).
#
# The UI: Jaeger embeds the React UI from cmd/query/app/ui/actual/, which its release build fills
# from the jaeger-ui repository (a git submodule built with npm). The module zip carries only an
# empty actual/ folder, and no package registry serves the built jaeger-ui (it is not on npm; its
# releases are only downloads from GitHub, which these machines cannot reach), so this binary alone
# would serve Jaeger's placeholder page at /. Its HTTP query API (/api/services,
# /api/traces?service=…, /api/traces/<id>) is complete, though, and its `ui.assets_path` serves a
# folder instead of the embedded assets: infra/traces-ui/index.html is a small read-only page on
# that API (recent traces of a service; one trace as a span tree with timings), at Jaeger's own
# routes (/search, /trace/<id>), so the links stay valid with the real UI.
#
#   .cache/traces/<version>/jaeger   binary       .cache/traces/config.yaml (generated at start)
#   .cache/traces/go/                Go's GOPATH/GOMODCACHE/GOCACHE for this build
#   .cache/run/traces.pid            .cache/logs/traces.log
#
# Config: the all-in-one shape (OTLP receiver, in-memory storage, query extension, health check),
# written out with every listener on 127.0.0.1 (the built-in default binds "localhost", which may
# also be ::1, and opens Jaeger/Zipkin/sampling/zpages/expvar/metrics ports nobody here uses).
#
# Usage: infra/traces.sh install|start|stop|restart|status|env
# Env:   TRACES_OTLP_GRPC_PORT (4317), TRACES_OTLP_HTTP_PORT (4318), TRACES_UI_PORT (16686),
#        TRACES_HEALTH_PORT (13133), TRACES_MAX_TRACES (50000, in memory), TRACES_START_TIMEOUT (30 s),
#        TRACES_UI_DIR (infra/traces-ui; a folder with a jaeger-ui build, if you have one)
set -euo pipefail

_NAME=traces
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=infra/lib.sh
source "$REPO/infra/lib.sh"

JAEGER_VERSION=v2.12.0
JAEGER_MODULE_VERSION=v1.75.0 # the same commit, as the module proxy serves it
TRACES_OTLP_GRPC_PORT=${TRACES_OTLP_GRPC_PORT:-4317}
TRACES_OTLP_HTTP_PORT=${TRACES_OTLP_HTTP_PORT:-4318}
TRACES_UI_PORT=${TRACES_UI_PORT:-16686}
TRACES_HEALTH_PORT=${TRACES_HEALTH_PORT:-13133}
TRACES_MAX_TRACES=${TRACES_MAX_TRACES:-50000}
TRACES_START_TIMEOUT=${TRACES_START_TIMEOUT:-30}

THOME="$CACHE/traces"
BIN_DIR="$THOME/$JAEGER_VERSION"
CONF="$THOME/config.yaml"
PIDFILE="$RUN_DIR/traces.pid"
LOG_FILE="$LOG_DIR/traces.log"
PID_PATTERN="$BIN_DIR/jaeger --config"
UI_URL="http://127.0.0.1:$TRACES_UI_PORT"
UI_DIR=${TRACES_UI_DIR:-$REPO/infra/traces-ui} # the page Jaeger serves at / (see the header); a jaeger-ui build works too

installed() { [[ -f "$BIN_DIR/.complete" && -x "$BIN_DIR/jaeger" ]]; }

go_env() {
    export GOPATH="$THOME/go" GOMODCACHE="$THOME/go/pkg/mod" GOCACHE="$THOME/go/cache"
    export GOTOOLCHAIN=local GOFLAGS=-modcacherw CGO_ENABLED=0
}

cmd_install() {
    if installed; then
        log "Jaeger $JAEGER_VERSION already installed in $BIN_DIR (nothing to do)"
        return 0
    fi
    command -v go >/dev/null || die "go not found (Jaeger is built from the Go module proxy; Go 1.24+ is needed)"
    local t0 build dir size
    t0=$(now_ms)
    build="$THOME/.build"
    rm -rf "$build"
    mkdir -p "$build"
    go_env
    log "downloading github.com/jaegertracing/jaeger@$JAEGER_MODULE_VERSION ($JAEGER_VERSION) from the Go module proxy ..."
    if ! go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_MODULE_VERSION" >"$build/download.json" 2>"$build/go.log"; then
        cat "$build/download.json" >>"$build/go.log"
        show_log_tail "$build/go.log" 20
        die "the Go module proxy did not serve github.com/jaegertracing/jaeger@$JAEGER_MODULE_VERSION"
    fi
    dir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Dir"])' "$build/download.json")
    [[ -f $dir/go.mod ]] || die "no go.mod in $dir"
    cp -R "$dir" "$build/src"
    chmod -R u+w "$build/src"
    log "building jaeger with $(go version | cut -d' ' -f3) at nice 19 — 10+ minutes on a fresh 2-core machine ..."
    if ! (cd "$build/src" &&
        nice -n 19 go build -mod=mod -trimpath -ldflags "-s -w" -o "$build/bin/jaeger" ./cmd/jaeger) >>"$build/go.log" 2>&1; then
        show_log_tail "$build/go.log" 30
        die "building Jaeger failed (see $build/go.log)"
    fi
    rm -rf "$BIN_DIR"
    mv "$build/bin" "$BIN_DIR"
    touch "$BIN_DIR/.complete"
    rm -rf "$build"
    size=$(du -m "$BIN_DIR/jaeger" | cut -f1)
    log "installed Jaeger $JAEGER_VERSION in $BIN_DIR (${size} MB) in $(($(now_ms) - t0)) ms"
}

write_config() {
    umask 077
    cat >"$CONF" <<EOF
# Generated by infra/traces.sh at every start: Jaeger all-in-one, loopback only, in-memory storage.
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:$TRACES_HEALTH_PORT
  jaeger_query:
    storage:
      traces: memstore
    ui:
      assets_path: $UI_DIR
    http:
      endpoint: 127.0.0.1:$TRACES_UI_PORT
    grpc:
      endpoint: 127.0.0.1:0
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: $TRACES_MAX_TRACES
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$TRACES_OTLP_GRPC_PORT
      http:
        endpoint: 127.0.0.1:$TRACES_OTLP_HTTP_PORT
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
}

# ready -> 0 once the query API answers (it is the last thing Jaeger starts).
ready() {
    python3 - "$UI_URL/api/services" <<'PY' 2>/dev/null
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if "data" in json.load(r) else 1)
PY
}

cmd_start() {
    local pid t0 deadline p
    if pid=$(running_pid "$PIDFILE" "$PID_PATTERN"); then
        log "already running (pid $pid), UI $UI_URL"
        return 0
    fi
    installed || die "Jaeger is not installed: run 'infra/traces.sh install' first"
    for p in "$TRACES_OTLP_GRPC_PORT:TRACES_OTLP_GRPC_PORT" "$TRACES_OTLP_HTTP_PORT:TRACES_OTLP_HTTP_PORT" \
        "$TRACES_UI_PORT:TRACES_UI_PORT" "$TRACES_HEALTH_PORT:TRACES_HEALTH_PORT"; do
        require_port_free "${p%%:*}" "${p#*:}, the trace viewer"
    done
    t0=$(now_ms)
    mkdir -p "$THOME"
    write_config
    log "starting Jaeger $JAEGER_VERSION, OTLP 127.0.0.1:$TRACES_OTLP_GRPC_PORT (gRPC) / :$TRACES_OTLP_HTTP_PORT (HTTP), log $LOG_FILE"
    spawn "$PIDFILE" "$LOG_FILE" "$BIN_DIR/jaeger" --config "file:$CONF"
    pid=$(cat "$PIDFILE")
    deadline=$(($(date +%s) + TRACES_START_TIMEOUT))
    until ready; do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log_tail "$LOG_FILE" 25
            rm -f "$PIDFILE"
            die "Jaeger (pid $pid) exited during startup"
        fi
        if (($(date +%s) >= deadline)); then
            show_log_tail "$LOG_FILE" 25
            die "no answer from $UI_URL/api/services within ${TRACES_START_TIMEOUT}s (pid $pid; 'infra/traces.sh stop')"
        fi
        sleep 0.1
    done
    log "ready (pid $pid), UI $UI_URL, after $(($(now_ms) - t0)) ms"
}

cmd_status() {
    local pid v="not installed"
    installed && v=$JAEGER_VERSION
    if pid=$(running_pid "$PIDFILE" "$PID_PATTERN" 2>/dev/null); then
        log "running (pid $pid), UI $UI_URL, OTLP http://127.0.0.1:$TRACES_OTLP_HTTP_PORT, version $v, log $LOG_FILE"
        return 0
    fi
    log "not running, version $v"
    return 3
}

# env -> the variables a service needs to export to the running viewer (nothing if it is not running).
cmd_env() {
    running_pid "$PIDFILE" "$PID_PATTERN" >/dev/null 2>&1 || return 3
    printf 'export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%s\n' "$TRACES_OTLP_HTTP_PORT"
    printf 'export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\n'
    printf 'export TRACES_UI_URL=%s\n' "$UI_URL"
}

cmd_stop() { stop_pid "$PIDFILE" "$PID_PATTERN" "Jaeger" 15; }

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
restart)
    cmd_stop
    cmd_start
    ;;
status) cmd_status ;;
env) cmd_env ;;
*)
    echo "usage: $0 install|start|stop|restart|status|env" >&2
    exit 2
    ;;
esac
