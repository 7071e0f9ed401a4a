"""The domain: catalog, accounts, orders. Knows nothing of aiohttp."""
