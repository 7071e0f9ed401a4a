"""Workflows that span features: the edge calls these; they call the domain."""
