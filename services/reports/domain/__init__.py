"""Pure read-model code of the reports service (no I/O): decision views, compliance
aggregates, reporting periods, dead-letter records, the periodic report text."""
