"""One error tree for the whole engine.

Every error the engine raises on purpose derives from :class:`OfferEngineError`. Each class carries
the HTTP status the service answers with and the exit code the CLI ends with, so a single FastAPI
handler and a single CLI wrapper turn any of them into ``{"error": ..., "detail": ...}``.

    OfferEngineError                 500 / exit 1
    ├── ConfigError                  500 / exit 2   a TOML config file is missing, unreadable or invalid
    │   └── RulesError               422 / exit 2   a rules file is invalid (marketer-facing)
    ├── DataValidationError          422 / exit 3   input data breaks the documented schema
    ├── ArtifactError                500 / exit 4   a candidate artifact is missing or malformed
    │   └── InvalidArtifact          422 / exit 4   an artifact offered for publishing is unreadable or
    │                                                 holds impossible values (refused, nothing changes)
    ├── NotFittedError               500 / exit 4   a model was used before ``fit``
    ├── ExperimentError              422 / exit 5   an experiment definition or its data is invalid
    ├── BadRequest                   422 / exit 6   an API request or event is malformed
    ├── NotFound                     404 / exit 6   a member, model version or experiment is unknown
    ├── Unauthorized                 401 / exit 6   a call without a valid API key
    ├── Forbidden                    403 / exit 6   a valid API key without the call's scope
    ├── Conflict                     409 / exit 6   a write that would contradict stored state
    ├── StoreUnavailable             503 / exit 7   the online store (Redis) cannot be reached
    └── BatchEngineError             500 / exit 8   the distributed batch engine (Ray) is not installed,
                                                      cannot be reached, or a member block failed on it

Library exceptions are wrapped with ``raise StoreUnavailable(...) from exc`` so callers handle ours only.
Messages and details are passed through :func:`engine.redaction.redact` when the error is built, so a
credential in a URL (``redis://:secret@host``) never reaches a response body, the CLI or a log line.
"""

from __future__ import annotations

from typing import ClassVar

from engine.redaction import redact, redact_value


class OfferEngineError(Exception):
    """Base of every error the engine raises on purpose."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, detail: object | None = None) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.detail = redact_value(detail)

    def to_dict(self) -> dict[str, object]:
        """The JSON body the service answers with."""
        return {"error": type(self).__name__, "detail": self.message if self.detail is None else self.detail}


class ConfigError(OfferEngineError):
    """A config file is missing, unreadable or fails validation."""

    exit_code = 2


class RulesError(ConfigError):
    """A rules file is invalid; the message names the file, the key and what is wrong."""

    http_status = 422


class DataValidationError(OfferEngineError):
    """Input data breaks the documented schema; the message names file, column, count and examples."""

    http_status = 422
    exit_code = 3


class ArtifactError(OfferEngineError):
    """A candidate artifact is missing, incomplete or of an unknown format version."""

    exit_code = 4


class InvalidArtifact(ArtifactError):
    """An artifact on disk is unreadable or breaks its documented value ranges (NaN scores, negative
    prices or margins); publishing it is refused and the version serving keeps serving."""

    http_status = 422


class NotFittedError(OfferEngineError):
    """A model was asked to predict or export before it was fitted."""

    exit_code = 4


class ExperimentError(OfferEngineError):
    """An experiment definition, assignment change or experiment data is invalid."""

    http_status = 422
    exit_code = 5


class BadRequest(OfferEngineError):
    """An API request or an event is malformed."""

    http_status = 422
    exit_code = 6


class NotFound(OfferEngineError):
    """A member, model version or experiment is not known."""

    http_status = 404
    exit_code = 6


class Unauthorized(OfferEngineError):
    """A call needs an API key and came without a valid one."""

    http_status = 401
    exit_code = 6


class Forbidden(OfferEngineError):
    """A valid API key that does not hold the scope the call needs."""

    http_status = 403
    exit_code = 6


class Conflict(OfferEngineError):
    """A write would contradict what is already stored."""

    http_status = 409
    exit_code = 6


class StoreUnavailable(OfferEngineError):
    """The online store cannot be reached; the service answers 503 and recovers by itself."""

    http_status = 503
    exit_code = 7


class BatchEngineError(OfferEngineError):
    """The distributed batch engine is not installed, cannot be reached, or a member block failed on it."""

    exit_code = 8
