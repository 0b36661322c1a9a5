"""The pure flow engine and the shipped flow definitions: events in, effects out.

No Qt, no devices, no I/O (checked by the import-linter contracts in CI).
"""
