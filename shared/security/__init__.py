"""Who sent a message: signatures over envelopes, the keys that verify them, the principal."""
