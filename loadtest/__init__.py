"""The rush-release load tool: python -m loadtest rush|fanout|connections|soak|check."""
