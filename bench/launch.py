"""Start a Houseful server for a benchmark with its open-file limit raised: python -m bench.launch ARGS...

The same as `python run.py ARGS...`, after setrlimit(RLIMIT_NOFILE) to the hard limit so one
worker can hold 10,000 sockets (run.py itself keeps the system default).
"""
from __future__ import annotations

import resource
import sys


def main() -> int:
    """Raise the limit, then hand over to the real CLI."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    from server.cli import main as serve

    return serve(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
