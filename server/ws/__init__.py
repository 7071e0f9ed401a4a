"""The WebSocket edge: one socket core (core.py) and the two command sets registered on it."""
