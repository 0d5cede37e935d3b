"""The error tree: every project error maps to an HTTP status and exit code and renders as JSON."""

from __future__ import annotations

import inspect

import pytest

from engine import errors


def _project_errors() -> list[type[errors.OfferEngineError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.OfferEngineError)
    ]


@pytest.mark.parametrize("cls", _project_errors())
def test_every_error_renders_its_name_and_message(cls: type[errors.OfferEngineError]) -> None:
    exc = cls("something is wrong in file.toml at key x")
    body = exc.to_dict()
    assert body == {"error": cls.__name__, "detail": "something is wrong in file.toml at key x"}
    assert 400 <= cls.http_status < 600
    assert cls.exit_code >= 1


def test_store_unavailable_is_a_503() -> None:
    assert errors.StoreUnavailable.http_status == 503
