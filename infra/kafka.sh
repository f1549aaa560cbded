#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft) for development and integration tests.
#
# Why: no Docker engine and no Kafka package exist on the dev/CI machines, but Maven Central is
# reachable, so we resolve the real broker jars (org.apache.kafka:kafka_2.13, newest 4.x) with
# Maven and run `kafka.Kafka` on Java 17. All state lives in the git-ignored .cache/:
#   .cache/kafka/<version>/libs/   jars        .cache/kafka/data/        KRaft log dirs
#   .cache/kafka/server.properties              .cache/run/kafka.pid      .cache/logs/kafka.log
#
# Secured like a shared broker, even on loopback: the client listener is SASL_PLAINTEXT with
# SCRAM-SHA-512 only, the StandardAuthorizer denies whatever no ACL allows, and `User:admin` is the
# only super user. Passwords come from .cache/secrets/kafka/<principal>.password
# (`python -m scripts.secrets ensure`, called here); the SCRAM users are written into the metadata
# log when the storage is formatted, the ACLs (infra/kafka_admin.py) once the broker answers.
#
# Usage: infra/kafka.sh install|start|stop|restart|status|reset|topics|acls|user [--remove] agency-NAME
# Env:   KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_VERSION (default: newest 4.x that
#        Maven resolves), KAFKA_HEAP_OPTS (-Xms256m -Xmx512m), KAFKA_START_TIMEOUT (90 s)
set -euo pipefail

_NAME=kafka
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=infra/lib.sh
source "$REPO/infra/lib.sh"

KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_VERSION_RANGE='[4.0.0,5.0.0)'
LOG4J_VERSION=2.24.3

KHOME="$CACHE/kafka"
DATA_DIR="$KHOME/data"
CONF="$KHOME/server.properties"
LOG4J_CONF="$KHOME/log4j2.properties"
PIDFILE="$RUN_DIR/kafka.pid"
LOG_FILE="$LOG_DIR/kafka.log"
OUT_FILE="$LOG_DIR/kafka.stdout.log"
PID_PATTERN="kafka.Kafka"
M2_REPO="$CACHE/m2"
SECRETS_DIR=${SECRETS_DIR:-$CACHE/secrets}
export SECRETS_DIR
ADMIN_CLIENT_CONF="$KHOME/admin-client.properties"
SCRAM_MARK="$KHOME/scram.formatted"

installed_version() {
    local v
    if [[ -n ${KAFKA_VERSION:-} ]]; then
        v=$KAFKA_VERSION
    else
        v=$(cat "$KHOME/current" 2>/dev/null) || return 1
    fi
    [[ -f "$KHOME/$v/.complete" ]] || return 1
    printf '%s\n' "$v"
}

cmd_install() {
    local v
    if v=$(installed_version); then
        log "Kafka $v already installed in $KHOME/$v (nothing to do)"
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    command -v java >/dev/null || die "java not found (Kafka 4 needs Java 17+: apt-get install openjdk-17-jre-headless)"
    local want=${KAFKA_VERSION:-$KAFKA_VERSION_RANGE}
    local build="$KHOME/.resolve"
    rm -rf "$build"
    mkdir -p "$build"
    # A throwaway pom: the broker (whose runtime deps bring kafka-server, -raft, -storage, ...),
    # plus the log4j2 binding for the slf4j 1.7 API Kafka uses (the Kafka distribution ships these).
    cat >"$build/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.infra</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$want</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-1.2-api</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
    log "resolving org.apache.kafka:kafka_2.13:$want from Maven Central (repo $M2_REPO) ..."
    local t0
    t0=$(now_ms)
    if ! mvn -B -q -f "$build/pom.xml" -Dmaven.repo.local="$M2_REPO" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$build/libs" >"$build/mvn.log" 2>&1; then
        show_log_tail "$build/mvn.log" 40
        die "Maven could not resolve Kafka (see $build/mvn.log)"
    fi
    local jar
    jar=$(find "$build/libs" -maxdepth 1 -name 'kafka_2.13-*.jar' ! -name '*-test*' | head -1)
    [[ -n $jar ]] || die "kafka_2.13 jar missing after resolution (see $build/mvn.log)"
    v=$(basename "$jar" .jar)
    v=${v#kafka_2.13-}
    rm -rf "${KHOME:?}/$v"
    mkdir -p "$KHOME/$v"
    mv "$build/libs" "$KHOME/$v/libs"
    cp "$build/pom.xml" "$KHOME/$v/pom.xml"
    touch "$KHOME/$v/.complete"
    printf '%s\n' "$v" >"$KHOME/current"
    rm -rf "$build"
    log "installed Kafka $v ($(find "$KHOME/$v/libs" -name '*.jar' | wc -l) jars) in $(($(now_ms) - t0)) ms"
}

# ensure_secrets -> the SCRAM passwords of every principal exist (created once, kept by `reset`).
ensure_secrets() {
    [[ -x $APP_PYTHON ]] || die "$APP_PYTHON not found: run './dev setup' (the broker's passwords are made by scripts/secrets.py)"
    (cd "$REPO" && "$APP_PYTHON" -m scripts.secrets ensure) || die "could not create the Kafka passwords in $SECRETS_DIR"
}

# password_of PRINCIPAL -> the password in the secrets dir (URL-safe characters only: it is embedded
# in the JAAS line and in the StorageTool SCRAM argument as is).
password_of() {
    local file="$SECRETS_DIR/kafka/$1.password" pw
    [[ -r $file ]] || die "missing $file (run: $APP_PYTHON -m scripts.secrets ensure)"
    pw=$(tr -d '\n' <"$file")
    [[ $pw =~ ^[A-Za-z0-9_-]{16,}$ ]] || die "$file must hold at least 16 URL-safe characters [A-Za-z0-9_-]"
    printf '%s' "$pw"
}

write_config() {
    mkdir -p "$DATA_DIR"
    local admin_pw
    admin_pw=$(password_of admin)
    # the files hold the admin password: readable by the owner only (also when an older, wider file
    # is there: umask does not change the mode of a file that exists)
    rm -f "$CONF" "$ADMIN_CLIENT_CONF"
    (
        umask 077
        cat >"$CONF" <<EOF
# Generated by infra/kafka.sh: single-node KRaft broker+controller for local dev/tests.
# Holds the admin password (inter-broker SCRAM login): mode 600, in the git-ignored .cache/.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
# The controller listener authenticates too: a PLAINTEXT one would make the broker's own requests
# arrive as User:ANONYMOUS, which then has to be a super user, i.e. anyone on loopback could
# administer the cluster through :$KAFKA_CONTROLLER_PORT. KRaft cannot check SCRAM there (the SCRAM
# users live in the metadata log the controller serves), so it uses PLAIN with admin as its only user.
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_pw" user_admin="$admin_pw";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
log.dirs=$DATA_DIR
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.segment.bytes=16777216
EOF
        # for Kafka's own command-line tools (--command-config), should someone install them
        cat >"$ADMIN_CLIENT_CONF" <<EOF
# Generated by infra/kafka.sh: admin client settings for 127.0.0.1:$KAFKA_PORT (mode 600, never commit).
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
EOF
    )
    cat >"$LOG4J_CONF" <<EOF
# Generated by infra/kafka.sh: broker logs go to $LOG_FILE
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $LOG_FILE
appender.file.filePattern = $LOG_FILE.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
logger.controller.name = kafka.controller
logger.controller.level = INFO
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
}

java_cmd() {
    local v=$1
    # shellcheck disable=SC2206
    local heap=($KAFKA_HEAP_OPTS)
    printf '%s\0' java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$LOG_DIR" \
        -cp "$KHOME/$v/libs/*"
}

format_storage() {
    local v=$1 cid
    if [[ -f "$DATA_DIR/meta.properties" ]]; then
        [[ -f $SCRAM_MARK ]] && return 0
        die "the storage in $DATA_DIR was formatted before the broker required SCRAM logins (no users in it): run 'infra/kafka.sh reset' (wipes the broker's data, keeps the passwords)"
    fi
    if [[ -f "$KHOME/cluster.id" ]]; then
        cid=$(cat "$KHOME/cluster.id")
    else
        local -a jc
        mapfile -d '' jc < <(java_cmd "$v")
        cid=$("${jc[@]}" kafka.tools.StorageTool random-uuid 2>>"$OUT_FILE" | tail -1)
        [[ -n $cid ]] || die "could not generate a cluster id (see $OUT_FILE)"
        printf '%s\n' "$cid" >"$KHOME/cluster.id"
    fi
    # One SCRAM user per password file (the fixed principals and every agency added with `user`).
    # The arguments go through an @file (mode 600, removed at once), not the command line, so no
    # password shows up in `ps`.
    local args="$KHOME/.format-args" f name pw n=0
    (umask 077 && : >"$args")
    for f in "$SECRETS_DIR"/kafka/*.password; do
        [[ -e $f ]] || continue
        name=$(basename "$f" .password)
        [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "bad principal name '$name' ($f)"
        pw=$(password_of "$name")
        printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$name" "$pw" >>"$args"
        n=$((n + 1))
    done
    log "formatting KRaft storage $DATA_DIR (cluster id $cid, $n SCRAM users)"
    local -a jc
    mapfile -d '' jc < <(java_cmd "$v")
    # (the tool prints its bootstrap records, SCRAM keys included: those stay out of the log)
    local rc=0
    "${jc[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$cid" -c "$CONF" "@$args" 2>&1 \
        | grep -v 'UserScramCredentialRecord' >>"$OUT_FILE" || rc=${PIPESTATUS[0]}
    rm -f "$args"
    if ((rc != 0)); then
        show_log_tail "$OUT_FILE" 30
        die "formatting the storage failed"
    fi
    touch "$SCRAM_MARK"
}

# Readiness: the broker answers a metadata request from admin over SASL; the same process then makes
# sure every SCRAM user and every ACL of infra/kafka_admin.py exists (idempotent), so a started broker
# is always usable by the services. One Python launch, no extra JVM.
wait_ready() {
    local pid=$1 deadline=$(($(date +%s) + KAFKA_START_TIMEOUT))
    while ! port_open "$KAFKA_PORT"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log_tail "$LOG_FILE" 25
            show_log_tail "$OUT_FILE" 10
            rm -f "$PIDFILE"
            die "broker process $pid exited during startup"
        fi
        if (($(date +%s) >= deadline)); then
            show_log_tail "$LOG_FILE" 40
            die "broker did not open port $KAFKA_PORT within ${KAFKA_START_TIMEOUT}s (still running as pid $pid; 'infra/kafka.sh stop' to stop it)"
        fi
        sleep 0.2
    done
    local left=$((deadline - $(date +%s)))
    ((left > 5)) || left=5
    if ! (cd "$REPO" && "$APP_PYTHON" infra/kafka_admin.py --bootstrap "127.0.0.1:$KAFKA_PORT" ready --timeout "$left"); then
        show_log_tail "$LOG_FILE" 40
        die "broker not ready within ${KAFKA_START_TIMEOUT}s"
    fi
}

cmd_start() {
    local pid v t0
    if pid=$(running_pid "$PIDFILE" "$PID_PATTERN"); then
        log "already running (pid $pid) on 127.0.0.1:$(cat "$RUN_DIR/kafka.port" 2>/dev/null || echo "$KAFKA_PORT")"
        return 0
    fi
    v=$(installed_version) || die "Kafka is not installed: run 'infra/kafka.sh install' first"
    command -v java >/dev/null || die "java not found (Kafka 4 needs Java 17+)"
    require_port_free "$KAFKA_PORT" "KAFKA_PORT, broker listener"
    require_port_free "$KAFKA_CONTROLLER_PORT" "KAFKA_CONTROLLER_PORT, KRaft controller listener"
    t0=$(now_ms)
    ensure_secrets
    write_config
    format_storage "$v"
    log "starting Kafka $v on 127.0.0.1:$KAFKA_PORT (SASL_PLAINTEXT, SCRAM-SHA-512; controller :$KAFKA_CONTROLLER_PORT), log $LOG_FILE"
    local -a jc
    mapfile -d '' jc < <(java_cmd "$v")
    spawn "$PIDFILE" "$OUT_FILE" "${jc[@]}" kafka.Kafka "$CONF"
    pid=$(cat "$PIDFILE")
    wait_ready "$pid"
    printf '%s\n' "$KAFKA_PORT" >"$RUN_DIR/kafka.port"
    log "ready (pid $pid) on 127.0.0.1:$KAFKA_PORT after $(($(now_ms) - t0)) ms"
}

cmd_status() {
    local pid v
    v=$(installed_version 2>/dev/null) || v="not installed"
    if pid=$(running_pid "$PIDFILE" "$PID_PATTERN" 2>/dev/null); then
        log "running (pid $pid) on 127.0.0.1:$(cat "$RUN_DIR/kafka.port" 2>/dev/null || echo "$KAFKA_PORT") (SASL_PLAINTEXT, SCRAM-SHA-512), version $v, log $LOG_FILE"
        return 0
    fi
    log "not running (port $KAFKA_PORT), version $v"
    return 3
}

cmd_topics() {
    local pid
    pid=$(running_pid "$PIDFILE" "$PID_PATTERN") || die "Kafka is not running: 'infra/kafka.sh start' first"
    [[ -x $APP_PYTHON ]] || die "$APP_PYTHON not found (the app venv provides aiokafka and shared.contract)"
    (cd "$REPO" && "$APP_PYTHON" infra/create_topics.py "127.0.0.1:$KAFKA_PORT" --timeout 15)
}

# user [--remove] NAME -> a new agency principal on the running broker: its password file (created
# once), its SCRAM user and its producer ACLs (WRITE/DESCRIBE on the two request topics, nothing
# else). It survives `reset`: the next format and start recreate it from the password file.
# --remove deletes the SCRAM user, its ACLs and the password file.
cmd_user() {
    local action=add-agency name
    if [[ ${1:-} == --remove ]]; then
        action=remove-agency
        shift
    fi
    name=${1:-}
    [[ -n $name ]] || die "usage: infra/kafka.sh user [--remove] agency-NAME"
    [[ $name =~ ^agency-[a-z0-9][a-z0-9._-]*$ ]] || die "an agency principal is named agency-<lowercase letters, digits, . _ ->, got '$name'"
    running_pid "$PIDFILE" "$PID_PATTERN" >/dev/null || die "Kafka is not running: 'infra/kafka.sh start' first"
    [[ -x $APP_PYTHON ]] || die "$APP_PYTHON not found (run ./dev setup)"
    (cd "$REPO" && "$APP_PYTHON" infra/kafka_admin.py --bootstrap "127.0.0.1:$KAFKA_PORT" "$action" "$name")
}

cmd_acls() {
    running_pid "$PIDFILE" "$PID_PATTERN" >/dev/null || die "Kafka is not running: 'infra/kafka.sh start' first"
    (cd "$REPO" && "$APP_PYTHON" infra/kafka_admin.py --bootstrap "127.0.0.1:$KAFKA_PORT" acls)
}

cmd_stop() {
    stop_pid "$PIDFILE" "$PID_PATTERN" "Kafka" 60
    rm -f "$RUN_DIR/kafka.port"
}

cmd_reset() {
    cmd_stop
    rm -rf "$DATA_DIR" "$KHOME/cluster.id" "$SCRAM_MARK"
    log "data wiped ($DATA_DIR; the passwords in $SECRETS_DIR/kafka are kept)"
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
restart)
    cmd_stop
    cmd_start
    ;;
status) cmd_status ;;
reset) cmd_reset ;;
topics) cmd_topics ;;
user)
    shift
    cmd_user "$@"
    ;;
acls) cmd_acls ;;
*)
    echo "usage: $0 install|start|stop|restart|status|reset|topics|acls|user [--remove] agency-NAME" >&2
    exit 2
    ;;
esac
