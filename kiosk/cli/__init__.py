"""The ``kiosk`` technician command line (typer + rich)."""
