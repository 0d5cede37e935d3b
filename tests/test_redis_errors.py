"""The one mapping of Redis errors: real redis-py exceptions in, the engine's errors out."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError, TimeoutError

from engine.errors import Conflict, StoreUnavailable
from engine.redis_errors import RedisErrors, map_redis_error, redis_location


def test_a_script_conflict_is_a_conflict_with_the_scripts_words() -> None:
    error = map_redis_error(ResponseError("CONFLICT member|week 7|10: already served"), "store", "issue")
    assert isinstance(error, Conflict)
    assert error.message == "member|week 7|10: already served"


@pytest.mark.parametrize(
    "exc",
    [
        RedisConnectionError("Error 111 connecting to 127.0.0.1:6391. Connection refused."),
        TimeoutError("Timeout reading from socket"),
        ResponseError("NOPERM this user has no permissions"),
        OSError("network is unreachable"),
    ],
)
def test_everything_else_is_the_store_being_unavailable(exc: BaseException) -> None:
    error = map_redis_error(exc, "online store unavailable: Redis at 127.0.0.1:6391/0", "lookup")
    assert isinstance(error, StoreUnavailable)
    assert error.message.startswith(
        "online store unavailable: Redis at 127.0.0.1:6391/0 failed during lookup"
    )
    assert type(exc).__name__ in error.message


def test_the_context_manager_raises_ours_from_theirs() -> None:
    guard = RedisErrors("event store", "a write")
    with pytest.raises(StoreUnavailable) as raised, guard:
        raise RedisConnectionError("closed")
    assert isinstance(raised.value.__cause__, RedisConnectionError)


def test_a_location_never_shows_credentials() -> None:
    assert redis_location("redis://:s3cret@10.0.0.5:6391/2") == "10.0.0.5:6391/2"
    assert redis_location("redis://admin:s3cret@10.0.0.5") == "10.0.0.5:6379/0"
