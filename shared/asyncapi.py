"""AsyncAPI 3.0 documents generated from the event registry.

Why our own generator: every consumer in this platform receives raw envelopes
(so malformed bytes can be dead-lettered rather than dropped by a framework
decoder), which would make FastStream's generated document show "bytes". The
contract that matters to agency systems is the envelope plus one payload
schema per event type and version — generated here from the pydantic models,
so the document cannot drift from the code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from shared.contract.envelope import Envelope, Event
from shared.contract.topics import dead_letter


def _msg_name(cls: type[Event]) -> str:
    return f"{cls.event_type}.v{cls.event_version}"


def document(
    service: str,
    *,
    description: str,
    publishes: Iterable[type[Event]],
    consumes: Iterable[type[Event]],
    version: str = "1.0.0",
) -> dict[str, Any]:
    publishes, consumes = list(publishes), list(consumes)
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Envelope": Envelope.model_json_schema()}
    operations: dict[str, Any] = {}

    def add(cls: type[Event]) -> str:
        name = _msg_name(cls)
        schema = cls.model_json_schema(ref_template="#/components/schemas/{model}")
        for key, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(key, sub)
        schemas[name] = schema
        messages[name] = {
            "name": name,
            "title": cls.__name__,
            "summary": (cls.__doc__ or "").strip().split("\n\n")[0],
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "dv-event-type": {"const": cls.event_type},
                    "traceparent": {"type": "string"},
                    "dv-signature": {
                        "type": "string",
                        "description": (
                            "Compact JWS (alg Ed25519, kid = RFC 7638 thumbprint of a key registered in the org "
                            'registry) whose payload is {"iss": system id, "sha256": base64url SHA-256 of the '
                            'record value, "iat": unix seconds}. Required on every request topic: an unsigned, '
                            "unknown-key, revoked-key, tampered or replayed (iat more than "
                            "SIGNATURE_MAX_SKEW_SECONDS from the broker's append time) request is answered with "
                            "a *.request_rejected event."
                        ),
                    },
                },
                **({"required": ["dv-signature"]} if cls.topic.endswith("-requests") else {}),
            },
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/Envelope"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": cls.event_type},
                            "version": {"const": cls.event_version},
                            "subject": {"description": f"= payload.{cls.subject_field}; Kafka key"},
                            "payload": {"$ref": f"#/components/schemas/{name}"},
                        },
                    },
                ]
            },
        }
        channel = channels.setdefault(
            cls.topic,
            {
                "address": cls.topic,
                "messages": {},
                "description": f"Kafka topic {cls.topic}; key = aggregate id",
            },
        )
        channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
        return name

    for action, classes in (("send", publishes), ("receive", consumes)):
        by_topic: dict[str, list[str]] = {}
        for cls in sorted(classes, key=_msg_name):
            by_topic.setdefault(cls.topic, []).append(add(cls))
        for topic, names in by_topic.items():
            operations[f"{action}_{topic}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{topic}"},
                "messages": [{"$ref": f"#/channels/{topic}/messages/{n}"} for n in names],
            }
    for topic in sorted({c.topic for c in consumes}):
        dlq = dead_letter(topic)
        channels[dlq] = {
            "address": dlq,
            "description": (
                "Dead letters: the original bytes and key of a message this service could not process, "
                "with headers dv-dlq-reason (and dv-dlq-reason-vi), dv-dlq-original-topic/partition/offset, dv-dlq-service, "
                "dv-dlq-attempts, dv-dlq-at."
            ),
        }
        operations[f"send_{dlq}"] = {"action": "send", "channel": {"$ref": f"#/channels/{dlq}"}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"dân vận platform — {service}", "version": version, "description": description},
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "SASL_PLAINTEXT with SCRAM-SHA-512; ACLs give each principal only its own topics",
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": schemas,
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": "one SCRAM principal per service and per agency system (infra/README.md)",
                }
            },
        },
    }


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
