"""Named SQL queries loaded from sql/queries/*.sql (aiosql-style `-- name: x` blocks).

Queries are plain parameterised SQL that psql can run; asyncpg's statement cache turns
each into a prepared statement per connection. `load_queries` is the only loader: the app
builds one Queries object at start (app[keys.QUERIES]) and passes it, or the part of it a
feature needs, to the code that runs SQL. Programs that run without the app (the CLI's
admin bootstrap, the load tool) call the same loader.
"""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from server.config import ROOT

QUERIES_DIR = ROOT / "sql" / "queries"
_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


class Queries(SimpleNamespace):
    """Attribute access by file then name: queries.catalog.movie_get."""


def parse_sql(text: str) -> dict[str, str]:
    """Split one .sql file into {name: sql}."""
    parts = _NAME.split(text)
    out: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        if name in out:
            raise ValueError(f"query {name} defined twice")
        out[name] = body.strip().rstrip(";")
    return out


def load_queries(folder: Path = QUERIES_DIR) -> Queries:
    """Load every sql/queries/<file>.sql into a namespace per file."""
    spaces = {}
    for path in sorted(folder.glob("*.sql")):
        spaces[path.stem] = SimpleNamespace(**parse_sql(path.read_text()))
    return Queries(**spaces)
