"""The shipped flow definitions (package data: one YAML document per flow)."""
