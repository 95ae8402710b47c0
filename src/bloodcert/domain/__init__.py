"""Pure rules of the field: no IO, no framework, no SQL."""
