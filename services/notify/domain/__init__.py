"""Pure domain code of the notify service (no I/O): action links, message rendering,
digest grouping and the delivery state machine.

Kept free of I/O so the rules (who may open which link, when a message is retried or
dead-lettered, how notifications are grouped) can be tested exhaustively and reused by
the service wiring without a broker or a database.
"""
