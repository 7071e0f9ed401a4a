#!/usr/bin/env python3
"""Houseful's one entry point: python run.py serve|worker|migrate|create-admin|demo-data [--config FILE]."""
import sys

from server.cli import main

if __name__ == "__main__":
    sys.exit(main())
