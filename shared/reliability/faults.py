"""Which failures are the infrastructure's (wait for it) and which are the message's own (count them).

Why: a store outage longer than the retry budget used to dead-letter good messages (issue "No message
wedges", item 3: a draft acknowledged by Kafka that then existed only on the dead-letter topic). An
unreachable store or broker says nothing about the message: the consumer waits, with backoff and
readiness red, until the server is back, and only a message's *own* faults (malformed, refused,
a handler bug) use up attempts and end on the dead-letter topic.
"""

from __future__ import annotations

from aiokafka import errors as kafka_errors
from pymongo import errors as mongo_errors

_INFRASTRUCTURE: tuple[type[BaseException], ...] = (
    mongo_errors.ConnectionFailure,  # AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError, …
    mongo_errors.WaitQueueTimeoutError,
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.NotLeaderForPartitionError,
    kafka_errors.LeaderNotAvailableError,
    kafka_errors.NotEnoughReplicasError,
    kafka_errors.NotEnoughReplicasAfterAppendError,
    kafka_errors.KafkaUnavailableError,
    ConnectionError,
    TimeoutError,
)

_TOO_LARGE: tuple[type[BaseException], ...] = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordListTooLargeError,
)


def is_infrastructure(exc: BaseException) -> bool:
    """The store or the broker could not be reached (or answered "not now"): retrying later helps."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # wrapped causes count too
        if isinstance(current, _INFRASTRUCTURE):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def is_too_large(exc: BaseException) -> bool:
    """The broker can never take this record (it is over the size limit): retrying cannot help."""
    return isinstance(exc, _TOO_LARGE)
