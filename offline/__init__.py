"""The platform link: HTTP client, durable encrypted outbox, catalogue cache, sync. No Qt."""
