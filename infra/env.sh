# shellcheck shell=bash
# Connection settings for the local infrastructure started by infra/up.sh.
# Source it (`. infra/env.sh`); values already set in the environment win.
# Why: one place for the addresses that scripts, tests and services share.
export KAFKA_PORT="${KAFKA_PORT:-9092}"
export DOCSTORE_PORT="${DOCSTORE_PORT:-27017}"
export KAFKA_BOOTSTRAP="${KAFKA_BOOTSTRAP:-127.0.0.1:$KAFKA_PORT}"
export MONGO_URL="${MONGO_URL:-mongodb://127.0.0.1:$DOCSTORE_PORT}"
# The local OIDC provider (infra/oidc.sh, Dex). OIDC_ISSUER is the provider org's sign-in uses;
# unset it (OIDC_ISSUER= ) in the environment of a service to turn OIDC sign-in off.
export OIDC_PORT="${OIDC_PORT:-5556}"
export OIDC_TEST_APP_PORT="${OIDC_TEST_APP_PORT:-18001}"
export OIDC_ISSUER="${OIDC_ISSUER-http://127.0.0.1:$OIDC_PORT/dex}"
