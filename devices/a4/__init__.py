"""A4 printing through CUPS."""
