"""Who a person is on the platform and what they may do: roles per unit, tokens, guards, audit."""
