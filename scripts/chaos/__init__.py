"""The chaos harness (``./dev chaos``): the full line under faults, and an independent checker."""
