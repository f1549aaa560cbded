"""Create the project's Kafka topics (shared/contract/topics.py: ALL and their .dlq twins).

Why: auto.create.topics.enable=false everywhere, so topics exist only when created on purpose,
with the partition count the keying scheme expects. The two request topics (what agency systems
publish) are stamped by the broker (``message.timestamp.type=LogAppendTime``): a producer cannot
choose the time its request carries. Idempotent (an existing request topic gets that setting if it
lacks it); connects as ``admin`` (shared/kafka_auth.py). Used by infra/kafka.sh topics and by the
kafka-init job in docker-compose.yml.

Usage: python infra/create_topics.py [BOOTSTRAP] [--partitions 3] [--replication-factor 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from shared.contract import topics
from shared.kafka_auth import aiokafka_kwargs
from shared.settings import CommonSettings

BROKER_STAMPED = {"message.timestamp.type": "LogAppendTime"}
KEPT_FOR_EVER = {"retention.ms": "-1", "retention.bytes": "-1"}
TOPIC_CONFIGS: dict[str, dict[str, str]] = {
    topics.DECISION_REQUESTS: BROKER_STAMPED,
    topics.WORKFLOW_REQUESTS: BROKER_STAMPED,
    # every process rebuilds its org registry copy from the whole topic (shared/reliability/topic_copy.py)
    topics.ORG_EVENTS: KEPT_FOR_EVER,
}
"""Per-topic settings; every other topic keeps the broker's defaults."""


async def fix_configs(admin: AIOKafkaAdminClient, names: list[str]) -> list[str]:
    """Give the existing ``names`` the settings of TOPIC_CONFIGS they lack; returns those changed."""
    if not names:
        return []
    [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    current = {
        name: {entry[0]: entry[1] for entry in entries}
        for _code, _msg, _type, name, entries in described.resources
    }
    stale = [n for n in names if any(current.get(n, {}).get(k) != v for k, v in TOPIC_CONFIGS[n].items())]
    if stale:
        # AlterConfigs sets the topic's whole dynamic config: these topics have no other setting
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, TOPIC_CONFIGS[n]) for n in stale]
        )
    return stale


async def create(bootstrap: str, partitions: int, replication: int, wait_s: float) -> None:
    wanted = [t for name in topics.ALL for t in (name, topics.dead_letter(name))]
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=15000, **aiokafka_kwargs(CommonSettings(), "admin")
    )
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:  # the broker may still be starting (docker-compose)
        try:
            await admin.start()
            break
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1)
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        for name in missing:  # one by one: a concurrent creator must not fail the whole batch
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(name, partitions, replication, topic_configs=TOPIC_CONFIGS.get(name))]
                )
        fixed = await fix_configs(admin, [t for t in TOPIC_CONFIGS if t in existing])
        print(
            f"[kafka] topics: {len(missing)} created, {len(wanted) - len(missing)} already present"
            f" ({len(wanted)} wanted, {partitions} partitions each)"
        )
        for name in missing:
            extra = "".join(f" {k}={v}" for k, v in TOPIC_CONFIGS.get(name, {}).items())
            print(f"[kafka]   created {name}{extra}")
        for name in fixed:
            print(f"[kafka]   set {', '.join(f'{k}={v}' for k, v in TOPIC_CONFIGS[name].items())} on {name}")
    finally:
        await admin.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bootstrap", nargs="?", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--replication-factor", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the broker")
    args = ap.parse_args()
    asyncio.run(create(args.bootstrap, args.partitions, args.replication_factor, args.timeout))


if __name__ == "__main__":
    main()
