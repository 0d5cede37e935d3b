"""Structured logs: one JSON object per line on stderr, extra fields kept as keys, credentials redacted.

The handler carries :class:`~engine.redaction.RedactingFilter` and the formatter redacts the finished
line again, so no log call (ours, uvicorn's, a library's traceback) can print a password in a URL.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys

import orjson

from engine.redaction import RedactingFilter, redact

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged as a key.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format a record as a JSON line: ts, level, logger, msg, the ``extra`` fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object, no newline."""
        body: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value
        if record.exc_text:
            body["exc"] = record.exc_text
        elif record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(body, default=str).decode())


def configure_logging(level: str) -> None:
    """Send the engine's and uvicorn's logs to stderr as JSON lines at ``level``.

    Every other library's records reach the same handler through the root logger (at ``level`` or
    warning, whichever is higher), so they are redacted too.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    for name in ("engine", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(logging.getLevelName(level.upper()), logging.WARNING))
