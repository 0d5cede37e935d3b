"""Each ladder stage on hand-made data, at its boundaries; nothing at or after the cutoff counts."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.loyalty import LadderConfig, LoyaltyInputs, assign_stages, member_features, stage_counts

LADDER = LadderConfig(
    window_weeks=10,
    first_time_max_baskets=1,
    loyal_window_weeks=4,
    loyal_min_active_share=0.5,
    advocate_top_spend_share=0.5,
    advocate_min_coupon_redemptions=1,
)
CATALOG = pd.DataFrame({"item_id": [1, 2], "department": ["PRODUCE", "GROCERY"]})


def _stages(
    tx_rows: list[tuple[int, int, int, float]],
    members: list[int],
    *,
    profiles: list[int] = (),  # type: ignore[assignment]
    coupons: list[tuple[int, int]] = (),  # type: ignore[assignment]
    as_of: int = 20,
) -> dict[int, str]:
    tx = pd.DataFrame(tx_rows, columns=["member_id", "basket_id", "week", "sales_value"]).assign(item_id=1)
    inputs = LoyaltyInputs(
        transactions=tx,
        catalog=CATALOG,
        members=pd.DataFrame({"member_id": members, "tier": "bronze"}),
        demographics=pd.DataFrame({"member_id": list(profiles), "kids_count": "1"}),
        coupons=pd.DataFrame([(m, w, 1) for m, w in coupons], columns=["member_id", "week", "redemptions"]),
    )
    features = member_features(inputs, as_of, LADDER.window_weeks, LADDER.loyal_window_weeks)
    return assign_stages(features, LADDER).to_dict()


def test_no_purchase_is_suspect_unless_reached() -> None:
    stages = _stages([], [1, 2, 3], profiles=[2], coupons=[(3, 15)])
    assert stages == {1: "suspect", 2: "prospect", 3: "prospect"}


def test_first_time_boundary_is_max_baskets() -> None:
    rows = [(1, 10, 5, 3.0), (2, 20, 5, 3.0), (2, 21, 6, 3.0)]
    assert _stages(rows, [1, 2]) == {1: "first_time", 2: "repeat"}


def test_loyal_needs_half_of_the_loyal_window() -> None:
    # loyal window = weeks 16..19: member 1 active in 2 of 4 (loyal), member 2 in 1 (repeat)
    rows = [(1, 1, 16, 1.0), (1, 2, 19, 1.0), (2, 3, 12, 1.0), (2, 4, 19, 1.0)]
    assert _stages(rows, [1, 2]) == {1: "loyal", 2: "repeat"}


def test_purchases_at_or_after_the_cutoff_do_not_count() -> None:
    rows = [(1, 1, 19, 1.0), (1, 2, 20, 1.0), (1, 3, 21, 1.0)]
    assert _stages(rows, [1]) == {1: "first_time"}
    assert _stages([(2, 1, 20, 5.0)], [2]) == {2: "suspect"}


def test_advocate_is_loyal_top_spender_who_redeems() -> None:
    loyal = [
        (m, m * 10 + k, w, spend)
        for m, spend in ((1, 50.0), (2, 50.0), (3, 1.0))
        for k, w in ((0, 18), (1, 19))
    ]
    stages = _stages(loyal, [1, 2, 3], coupons=[(1, 15), (3, 15), (2, 20)])
    # 1: top half and a redemption; 2: its redemption is in the cutoff week; 3: redeems, low spend
    assert stages == {1: "advocate", 2: "loyal", 3: "loyal"}


def test_no_coupon_table_means_no_advocate_when_redemptions_required() -> None:
    tx = pd.DataFrame(
        {"member_id": [1, 1], "basket_id": [1, 2], "week": [18, 19], "sales_value": 9.0, "item_id": 1}
    )
    inputs = LoyaltyInputs(tx, CATALOG, pd.DataFrame({"member_id": [1], "tier": ["gold"]}))
    features = member_features(inputs, 20, 10, 4)
    assert assign_stages(features, LADDER).tolist() == ["loyal"]
    relaxed = LADDER.model_copy(update={"advocate_min_coupon_redemptions": 0})
    assert assign_stages(features, relaxed).tolist() == ["advocate"]


def test_stage_counts_list_every_stage() -> None:
    counts = stage_counts(pd.Series(["loyal", "loyal", "repeat"]))
    assert list(counts) == ["suspect", "prospect", "first_time", "repeat", "loyal", "advocate"]
    assert counts["loyal"] == 2
    assert counts["suspect"] == 0


@pytest.mark.parametrize("bad", [{"loyal_min_active_share": 0}, {"first_time_max_baskets": 0}, {"extra": 1}])
def test_ladder_config_refuses_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        LadderConfig.model_validate(bad)
