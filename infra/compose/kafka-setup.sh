#!/usr/bin/env bash
# One-shot setup of the docker-compose Kafka, run by the `kafka-setup` service (apache/kafka image)
# once the broker is healthy: a SCRAM-SHA-512 user per principal, then the ACLs below. Idempotent.
#
# Why here and not at format time: the image formats its storage itself; the broker starts with
# only `admin` (PLAIN, on the internal and controller listeners, from the JAAS file compose writes),
# and everything else is denied (allow.everyone.if.no.acl.found=false) until this has run.
#
# Env: KAFKA_ADMIN_PASSWORD and <PRINCIPAL>_KAFKA_PASSWORD (ORG_, TASKS_, NOTIFY_, REPORTS_,
# AGENCY_DEMO_, AGENCY_TEST_), all from .env.compose; BOOTSTRAP (kafka:9094), ADMIN_CONFIG.
set -euo pipefail
BOOTSTRAP=${BOOTSTRAP:-kafka:9094}
ADMIN_CONFIG=${ADMIN_CONFIG:-/etc/kafka/admin-client.properties}
BIN=${KAFKA_BIN:-/opt/kafka/bin}

# principal | topics it reads | topics it writes | consumer-group prefix ("-": none)
# The same table as infra/kafka_admin.py (the local broker's); tests/unit/test_compose.py checks it.
# Every service writes the .dlq twin of what it reads; agency systems only publish the two request
# topics; groups are PREFIXED (the tests' suffixed groups such as tasks-it-<run> are covered).
RIGHTS="
org|-|org.events,org.events.dlq|org
tasks|org.events,tasks.decision-requests,tasks.workflow-requests,org.events.dlq,tasks.decision-requests.dlq,tasks.workflow-requests.dlq|tasks.decisions,tasks.workflows,org.events.dlq,tasks.decision-requests.dlq,tasks.workflow-requests.dlq,tasks.decisions.dlq,tasks.workflows.dlq|tasks
notify|org.events,tasks.decisions,org.events.dlq,tasks.decisions.dlq|tasks.decision-requests,notify.events,org.events.dlq,tasks.decisions.dlq,tasks.decision-requests.dlq,notify.events.dlq|notify
reports|org.events,tasks.decisions,tasks.workflows,notify.events,reports.events,org.events.dlq,tasks.decision-requests.dlq,tasks.decisions.dlq,tasks.workflow-requests.dlq,tasks.workflows.dlq,notify.events.dlq,reports.events.dlq|reports.events,org.events.dlq,tasks.decisions.dlq,tasks.workflows.dlq,notify.events.dlq,reports.events.dlq|reports
agency-demo|-|tasks.decision-requests,tasks.workflow-requests|-
agency-test|-|tasks.decision-requests,tasks.workflow-requests|-
"

log() { printf '[kafka-setup] %s\n' "$*"; }
die() { printf '[kafka-setup] ERROR: %s\n' "$*" >&2; exit 1; }

password_of() {  # PRINCIPAL -> its password from the environment (URL-safe characters only)
    local var pw
    if [[ $1 == admin ]]; then var=KAFKA_ADMIN_PASSWORD; else var="$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')_KAFKA_PASSWORD"; fi
    pw=${!var:-}
    [[ -n $pw ]] || die "$var is not set (generate .env.compose with ./dev secrets)"
    [[ $pw =~ ^[A-Za-z0-9_-]{16,}$ ]] || die "$var must hold at least 16 URL-safe characters [A-Za-z0-9_-]"
    printf '%s' "$pw"
}

configs() { "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" "$@"; }
acls() { "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" "$@"; }

for _ in $(seq 1 60); do  # the healthcheck passed, but be patient with a slow first start
    "$BIN/kafka-broker-api-versions.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" \
        >/dev/null 2>&1 && break
    sleep 2
done

principals=(admin)
while IFS='|' read -r principal _ _ _; do
    [[ -n $principal ]] && principals+=("$principal")
done <<<"$RIGHTS"

for principal in "${principals[@]}"; do
    configs --alter --entity-type users --entity-name "$principal" \
        --add-config "SCRAM-SHA-512=[iterations=8192,password=$(password_of "$principal")]" >/dev/null
    log "SCRAM-SHA-512 user $principal"
done

while IFS='|' read -r principal reads writes group; do
    [[ -n $principal ]] || continue
    user="User:$principal"
    if [[ $reads != - ]]; then
        for topic in ${reads//,/ }; do
            acls --add --allow-principal "$user" --operation Read --operation Describe --topic "$topic" >/dev/null
        done
    fi
    for topic in ${writes//,/ }; do
        acls --add --allow-principal "$user" --operation Write --operation Describe --topic "$topic" >/dev/null
    done
    if [[ $group != - ]]; then
        acls --add --allow-principal "$user" --operation Read --group "$group" --resource-pattern-type prefixed >/dev/null
    fi
    log "ACLs of $user: reads ${reads}, writes ${writes}, groups ${group}*"
done <<<"$RIGHTS"
log "done: everything else is denied (User:admin is the only super user)"
