"""Choice in serving: the options in the answer, and the member's pick (``POST .../challenge/choice``).

Issuance (:mod:`engine.serve.issuance`) assembles up to ``[choice] options`` alternatives for a member
of a listed tier (:func:`engine.challenge.choice.assemble_options`); the answer is the first option's
challenge (the default) plus ``choice``::

    "choice": {"options": [{"option_id": "1", "habitual": ..., "stretch": ..., "reward": ...,
                            "expected_cost": ..., "expected_profit": ..., "p_complete": ...,
                            "explanation": ..., "winback": ...}, ...],
               "chosen": null, "reserved_cost": <the dearest option's expected cost>}

Budget: until the member picks, the week's budget holds ``reserved_cost`` (the dearest option's expected
reward cost), so no pick can overspend it; the pick gives back ``reserved_cost`` minus the chosen
option's expected cost, in the same atomic step that records it. :func:`choose` records the pick once:
the answer becomes the chosen option's (``chosen`` set), the same pick again is a no-op 200, another
pick after it a :class:`~engine.errors.Conflict` (409). With an experiment, the exposure recorded at
issuance is the default option (first); the event store does not yet learn of the pick.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from engine.challenge import Challenge
from engine.errors import BadRequest, Conflict, NotFound
from engine.serve.programme_store import ProgrammeStore
from engine.serve.store import IssueStore

#: The fields an option carries (those of its challenge that differ between options).
OPTION_FIELDS = (
    "habitual",
    "stretch",
    "reward",
    "expected_cost",
    "expected_profit",
    "p_complete",
    "trial",
    "explanation",
    "winback",
)


def offered(options: Sequence[Challenge], challenge: Challenge) -> list[Challenge]:
    """The options still offered once the arm, opt-outs and the budget had their say.

    When ``challenge`` (what will be stored) is no longer the first option, or only one option passed,
    there is no choice.
    """
    if len(options) < 2 or challenge is not options[0]:
        return []
    return list(options)


def reserved_cost(challenge: Challenge, options: Sequence[Challenge]) -> float:
    """What the week's budget holds for this answer: the dearest option's expected cost."""
    return max([challenge.expected_cost, *(o.expected_cost for o in options)])


def with_choice(payload: bytes, options: Sequence[Challenge]) -> bytes:
    """The answer with its ``choice`` spliced in (unchanged without options)."""
    if not options:
        return payload
    listed = []
    for k, option in enumerate(options, start=1):
        body = option.model_dump(mode="json", include=set(OPTION_FIELDS))
        listed.append({"option_id": str(k), **body})
    choice = {"options": listed, "chosen": None, "reserved_cost": reserved_cost(options[0], options)}
    return b'%b,"choice":%b}' % (payload[:-1], orjson.dumps(choice))


def chosen_answer(body: dict[str, Any], option_id: str) -> tuple[bytes, dict[str, Any], float]:
    """The answer after picking ``option_id`` of the pending answer ``body``, the option and the release.

    Raises
    ------
    Conflict
        The answer offers no choice.
    BadRequest
        ``option_id`` is not one of the options.
    """
    choice = body.get("choice")
    if not isinstance(choice, dict):
        raise Conflict(
            f"member {body['member_id']}'s challenge for week {body['week']} offers no choice "
            f"(status {body['status']!r}); there is nothing to pick"
        )
    options = {o["option_id"]: o for o in choice["options"]}
    option = options.get(option_id)
    if option is None:
        raise BadRequest(f"body.option_id: {option_id!r} is not one of the options {sorted(options)}")
    fields = {k: v for k, v in option.items() if k != "option_id"}
    answer = {**body, **fields, "choice": {**choice, "chosen": option_id}}
    release = max(float(choice["reserved_cost"]) - float(option["expected_cost"]), 0.0)
    return orjson.dumps(answer), option, release


async def choose(
    store: IssueStore, choices: ProgrammeStore, member_id: str, week: int, option_id: str
) -> tuple[bytes, dict[str, Any] | None]:
    """Record the member's pick for ``week``; the answer now, and the option if this call picked it.

    Raises
    ------
    NotFound
        Nothing was issued to the member that week (ask for the challenge first).
    Conflict
        No choice is offered, or another option was picked already.
    BadRequest
        ``option_id`` is not one of the options.
    """
    pending = await store.get_issued(week, member_id)
    if pending is None:
        raise NotFound(f"no challenge was issued to member {member_id} for week {week}; GET it first")
    body = orjson.loads(pending)
    chosen = (body.get("choice") or {}).get("chosen")
    if chosen is not None:
        if chosen == option_id:
            return pending, None
        raise Conflict(
            f"member {member_id} already chose option {chosen!r} for week {week}; a choice is final "
            f"(asked for {option_id!r})"
        )
    answer, option, release = chosen_answer(body, option_id)
    result = await choices.choose_once(week, member_id, option_id, answer, release)
    if not result.issued or result.payload is None:
        raise NotFound(f"no challenge was issued to member {member_id} for week {week}; GET it first")
    if result.won:
        return result.payload, option
    if result.option == option_id:
        return result.payload, None
    raise Conflict(
        f"member {member_id} already chose option {result.option!r} for week {week}; a choice is final "
        f"(asked for {option_id!r})"
    )
