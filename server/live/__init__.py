"""Live seats: holds in Redis (holds.py), their expiry sweeper, and the rooms that show them."""
