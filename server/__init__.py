"""Houseful: real-time seat selection for cinemas."""
