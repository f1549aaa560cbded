#!/usr/bin/env bash
# Bring up the local infrastructure: Kafka (KRaft, real Apache jars) + the document store,
# installing them on first use, and create the project's topics.
# Why: no Docker engine on dev/CI machines; this is the no-Docker path (docker-compose.yml is
# the Docker path). Idempotent: running it again leaves running servers alone.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=infra/env.sh
source "$REPO/infra/env.sh"

t0=$(date +%s%3N)
"$REPO/infra/kafka.sh" install
"$REPO/infra/docstore.sh" install
# Start both; the docstore starts while the JVM warms up, then we wait for both.
"$REPO/infra/docstore.sh" start &
ds=$!
kafka_rc=0
"$REPO/infra/kafka.sh" start || kafka_rc=$?
ds_rc=0
wait "$ds" || ds_rc=$?
if ((kafka_rc != 0 || ds_rc != 0)); then
    echo "[up] ERROR: startup failed (kafka rc=$kafka_rc, docstore rc=$ds_rc); see messages above" >&2
    exit 1
fi
"$REPO/infra/kafka.sh" topics
cat <<MSG
[up] ready in $(($(date +%s%3N) - t0)) ms
[up]   KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP   MONGO_URL=$MONGO_URL   (source infra/env.sh)
[up]   logs: $REPO/.cache/logs/kafka.log  $REPO/.cache/logs/docstore.log
[up]   stop with infra/down.sh
MSG
