"""In-memory fakes for unit tests of the application layer (never used as proof of the real line).

One package, one module per port: the event-sourced repository, the state store, the broker port.
"""
