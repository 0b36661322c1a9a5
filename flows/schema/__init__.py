"""JSON Schema of flow documents (package data: ``flow.schema.json``)."""
