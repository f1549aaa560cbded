"""Error taxonomy for consumers.

Why: a consumer must decide between *retry* (the world may change: a broker
hiccup, a write conflict) and *dead-letter now* (the same input will fail the
same way forever: malformed bytes, an unknown event type, a rule violation).
"""

from __future__ import annotations


class PermanentError(Exception):
    """Retrying cannot help; the message goes to the dead-letter topic at once."""


class ConcurrencyConflict(Exception):
    """Someone else saved the aggregate first; reload and try again (transient)."""
