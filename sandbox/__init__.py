"""Reference central platform (HTTP API + database) for the demo and the tests.

It shares only the API contract (its OpenAPI document) with the kiosk: it never imports
the kiosk's own packages, and the kiosk's client never imports it.
"""
