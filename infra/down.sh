#!/usr/bin/env bash
# Stop the local infrastructure started by infra/up.sh (data is kept; use
# `infra/kafka.sh reset` / `infra/docstore.sh reset` to wipe it; Dex keeps nothing: memory storage).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=infra/env.sh
source "$REPO/infra/env.sh"
rc=0
"$REPO/infra/kafka.sh" stop || rc=1
"$REPO/infra/docstore.sh" stop || rc=1
"$REPO/infra/oidc.sh" stop || rc=1
exit "$rc"
