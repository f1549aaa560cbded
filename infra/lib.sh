# shellcheck shell=bash
# Helpers shared by infra/kafka.sh and infra/docstore.sh (sourced, not run).
#
# Why: both scripts manage one long-running local server each (no Docker engine on the
# dev/CI machines), with the same rules: pid file in .cache/run, logs in .cache/logs,
# idempotent start/stop, stale pid files cleaned, a taken port reported by number.

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CACHE="$REPO/.cache"
RUN_DIR="$CACHE/run"
LOG_DIR="$CACHE/logs"
mkdir -p "$RUN_DIR" "$LOG_DIR"

# Python used for readiness checks / topic creation (needs aiokafka + pymongo: the app venv).
APP_PYTHON=${APP_PYTHON:-$REPO/.venv/bin/python}

_NAME=${_NAME:-infra}
log() { printf '[%s] %s\n' "$_NAME" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$_NAME" "$*" >&2; }
die() {
    printf '[%s] ERROR: %s\n' "$_NAME" "$*" >&2
    exit 1
}

# pid_alive PID PATTERN -> 0 if PID is alive and its command line contains PATTERN.
pid_alive() {
    local pid=$1 pattern=$2 cmdline
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"$pattern"* ]]
}

# running_pid PIDFILE PATTERN -> prints the pid if the server is running; removes a stale pid file.
running_pid() {
    local pidfile=$1 pattern=$2 pid
    [[ -f $pidfile ]] || return 1
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if pid_alive "$pid" "$pattern"; then
        printf '%s\n' "$pid"
        return 0
    fi
    warn "removing stale pid file $pidfile (pid '${pid}' is not a running '$pattern' process)"
    rm -f "$pidfile"
    return 1
}

# port_free PORT -> 0 if 127.0.0.1:PORT can be bound (same test the server's own bind will face).
port_free() {
    python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

# require_port_free PORT WHAT -> exit non-zero naming the port (and the holder if visible).
require_port_free() {
    local port=$1 what=$2 holder=""
    port_free "$port" && return 0
    holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\("[^"]*",pid=[0-9]*\).*/\1/p' | head -1 || true)
    die "port $port ($what) on 127.0.0.1 is already in use by another process${holder:+ ($holder)}; free it or choose another port"
}

# port_open PORT -> 0 if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# spawn PIDFILE LOGFILE CMD... -> start CMD detached (own session), the pid file holds CMD's own pid
# (bash records $$ and then execs CMD, so no wrapper process stays around).
spawn() {
    local pidfile=$1 logfile=$2
    shift 2
    rm -f "$pidfile"
    # shellcheck disable=SC2016
    nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 &
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -s $pidfile ]] && return 0
        sleep 0.1
    done
    die "process did not start (no pid file $pidfile); see $logfile"
}

# stop_pid PIDFILE PATTERN WHAT [TIMEOUT] -> TERM, wait, then KILL.
stop_pid() {
    local pidfile=$1 pattern=$2 what=$3 timeout=${4:-30} pid i
    if ! pid=$(running_pid "$pidfile" "$pattern"); then
        log "$what is not running"
        return 0
    fi
    log "stopping $what (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        warn "$what did not exit within ${timeout}s; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
    log "$what stopped"
}

show_log_tail() {
    local file=$1 n=${2:-30}
    if [[ -f $file ]]; then
        printf -- '----- last %s lines of %s -----\n' "$n" "$file" >&2
        tail -n "$n" "$file" >&2
        printf -- '-----\n' >&2
    fi
}

now_ms() { date +%s%3N; }
