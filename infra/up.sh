#!/usr/bin/env bash
# Bring up the local infrastructure: Kafka (KRaft, real Apache jars), the document store and the
# OIDC provider (Dex, the stand-in for the provincial identity provider), installing them on first
# use, and create the project's topics.
# Why: no Docker engine on dev/CI machines; this is the no-Docker path (docker-compose.yml is
# the Docker path). Idempotent: running it again leaves running servers alone.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=infra/env.sh
source "$REPO/infra/env.sh"

t0=$(date +%s%3N)
# Dex is built with Go the first time (CPU, minutes); Kafka's jars come from Maven (mostly network):
# both at once. Its output is held back and shown after Kafka's, so the two do not interleave.
oidc_out=$(mktemp)
trap 'rm -f "$oidc_out"' EXIT
"$REPO/infra/oidc.sh" install >"$oidc_out" 2>&1 &
oi=$!
"$REPO/infra/kafka.sh" install
"$REPO/infra/docstore.sh" install
oidc_rc=0
wait "$oi" || oidc_rc=$?
cat "$oidc_out"
((oidc_rc == 0)) || { echo "[up] ERROR: installing the OIDC provider failed (rc=$oidc_rc)" >&2; exit 1; }
# Start all three; the docstore and Dex start while the JVM warms up, then we wait for them.
"$REPO/infra/docstore.sh" start &
ds=$!
"$REPO/infra/oidc.sh" start &
op=$!
kafka_rc=0
"$REPO/infra/kafka.sh" start || kafka_rc=$?
ds_rc=0
wait "$ds" || ds_rc=$?
op_rc=0
wait "$op" || op_rc=$?
if ((kafka_rc != 0 || ds_rc != 0 || op_rc != 0)); then
    echo "[up] ERROR: startup failed (kafka rc=$kafka_rc, docstore rc=$ds_rc, oidc rc=$op_rc); see messages above" >&2
    exit 1
fi
"$REPO/infra/kafka.sh" topics
cat <<MSG
[up] ready in $(($(date +%s%3N) - t0)) ms
[up]   KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP   MONGO_URL=$MONGO_URL   OIDC_ISSUER=$OIDC_ISSUER   (source infra/env.sh)
[up]   logs: $REPO/.cache/logs/kafka.log  $REPO/.cache/logs/docstore.log  $REPO/.cache/logs/oidc.log
[up]   stop with infra/down.sh
MSG
