"""How the processes log: uvicorn's text lines by default, or one JSON object per line for log collectors.

With `LEDGERDESK_LOG_FORMAT=json` every record is a JSON object (python-json-logger) carrying the
time, level, logger and message, the id of the request it belongs to and the correlation id that
the request's events carry (`domain/provenance.py`), so a log line leads to the events and back.
The API writes one line per request (`ledgerdesk.requests`: method, route template, path, status,
milliseconds) in place of uvicorn's access line; background processes write one per batch.
"""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from domain.provenance import current_cause

#: The id of the request being answered (None outside a request).
REQUEST_ID: ContextVar[str | None] = ContextVar("ledgerdesk_request_id", default=None)
JSON_FIELDS = "{asctime}{levelname}{name}{message}"


class RequestIds(logging.Filter):
    """Put the request id and the correlation id on every record (None outside a request or a run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the ids; keep the record."""
        record.request_id = REQUEST_ID.get()
        record.correlation_id = current_cause().correlation_id
        return True


def log_config(log_format: str) -> dict[str, Any]:
    """The logging configuration (`logging.config.dictConfig` form) of a process, for uvicorn and for the CLI."""
    if log_format != "json":
        return LOGGING_CONFIG
    handler = {"class": "logging.StreamHandler", "formatter": "json", "filters": ["ids"], "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"ids": {"()": RequestIds}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": JSON_FIELDS,
                "style": "{",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                "timestamp": False,
            }
        },
        "handlers": {"json": handler},
        "root": {"handlers": ["json"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},  # ledgerdesk.requests instead
        },
    }


def configure_logging(log_format: str) -> None:
    """Configure this process's logging (the CLI's long-running commands; uvicorn does it for `serve`)."""
    if log_format == "json":
        logging.config.dictConfig(log_config(log_format))
    else:  # warnings and errors, as a terminal shows them
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
