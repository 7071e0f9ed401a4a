"""The rush-release load tool: python -m server.loadtest rush|fanout|connections|soak|check."""
