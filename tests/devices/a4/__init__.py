"""Tests of printing (issue 6)."""
