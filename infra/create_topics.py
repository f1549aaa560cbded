"""Create the project's Kafka topics (shared/contract/topics.py: ALL and their .dlq twins).

Why: auto.create.topics.enable=false everywhere, so topics exist only when created on purpose,
with the partition count the keying scheme expects. Idempotent; used by infra/kafka.sh topics
and by the kafka-init job in docker-compose.yml.

Usage: python infra/create_topics.py [BOOTSTRAP] [--partitions 3] [--replication-factor 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.contract import topics


async def create(bootstrap: str, partitions: int, replication: int, wait_s: float) -> None:
    wanted = [t for name in topics.ALL for t in (name, topics.dead_letter(name))]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
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
                await admin.create_topics([NewTopic(name, partitions, replication)])
        print(
            f"[kafka] topics: {len(missing)} created, {len(wanted) - len(missing)} already present"
            f" ({len(wanted)} wanted, {partitions} partitions each)"
        )
        for name in missing:
            print(f"[kafka]   created {name}")
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
