"""Logging: one setup for every process, plain text or one JSON object per line, with request ids.

The request id of the HTTP request or WebSocket being served rides in a context variable that
the edge sets (server/request_log.py); every log record made while serving it carries it, so
an operator can follow one request through the log of a busy worker.
"""
from __future__ import annotations

import contextvars
import logging

from pythonjsonlogger.json import JsonFormatter

from server.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(request_id)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(request_id)s %(message)s"
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class _RequestIdFilter(logging.Filter):
    """Stamp each record with the request id being served (or '-')."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def setup_logging(settings: Settings) -> None:
    """Configure the root logger from server.log_level and server.log_format (text or json)."""
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    if settings.server.log_format == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "asctime": "time",
                                                                       "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.server.log_level)
