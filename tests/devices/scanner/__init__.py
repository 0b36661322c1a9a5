"""Code scanning tests (issue 7)."""
