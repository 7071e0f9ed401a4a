"""Helpers and fixtures shared by the test modules (no tests here)."""
