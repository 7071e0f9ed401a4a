"""Checkout: orders from holds, payments through a provider, tickets, check-in and refunds."""
