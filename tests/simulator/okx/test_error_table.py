"""OKX's error table keyed by the core's Reason: order refusals are HTTP 200 with ``code: "1"`` and the reason in
``sCode`` / ``sMsg``, changing nothing; the table, not the core's message text, picks the code."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from backend.simulator.core.errors import Reason, SimError
from backend.simulator.venues.okx import errors
from tests.simulator.okx.conftest import OkxSim

ORDER = "/api/v5/trade/order"
SPOT = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.01", "px": "49000"}
SWAP = {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "limit", "sz": "1", "px": "49000"}


@pytest.mark.parametrize(("order", "expected"), [
    ({**SPOT, "sz": "0.000001"}, ("51020", "Your order should meet or exceed the minimum order amount.")),
    ({**SWAP, "sz": "1.005"}, ("51121", "Order quantity must be a multiple of the lot size.")),
    ({**SWAP, "sz": "2000000"}, ("51202", "Market order amount exceeds the maximum amount.")),
    ({**SWAP, "reduceOnly": True}, ("51169", "Order failed because you don't have any positions in this direction "
                                            "for this contract to reduce or close.")),
    ({**SPOT, "ordType": "post_only", "px": "50100"},
     ("51000", "Parameter ordType error: the post-only order would take liquidity.")),
], ids=["below-min", "lot-size", "above-max", "reduce-only", "post-only"])
async def test_order_refusals_answer_the_venues_scode(okx: OkxSim, order, expected) -> None:
    before = okx.sim.state("okx")["markets"]
    status, answer = await okx.rest.post(ORDER, order)
    assert (status, answer["code"], answer["msg"]) == (200, "1", "All operations failed")
    assert (answer["data"][0]["sCode"], answer["data"][0]["sMsg"]) == expected
    assert okx.sim.state("okx")["markets"] == before


def test_the_table_not_the_message_text_chooses_the_code() -> None:
    misleading = SimError(Reason.QUANTITY_BELOW_MIN, "lot size max min: words the old text search reacted to")
    assert errors.from_sim_error(misleading, "place", "USDT", False).code == "51020"
    error = errors.from_sim_error(SimError(Reason.MISSING_PRICE, "is required", field="price"), "place", "", False)
    assert (error.code, error.msg, error.status) == ("50014", "Parameter px can not be empty.", 400)
    gone = SimError(Reason.ORDER_CLOSED, "order 1 is already FILLED", limit=D(0))
    assert [errors.from_sim_error(gone, action, "", False).code for action in ("cancel", "amend", "query")] == \
        ["51400", "51503", "51603"]
