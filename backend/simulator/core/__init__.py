"""Venue-neutral simulator core: instruments, clock, seeded markets, accounts, matching, events, faults."""

from backend.simulator.core.accounts import (
    DEFAULT_PERPETUAL_FEES,
    DEFAULT_SPOT_FEES,
    FeeSchedule,
    Ledger,
    MarginSnapshot,
    SimAccount,
)
from backend.simulator.core.clock import SimClock
from backend.simulator.core.errors import SIM_ERROR_KINDS, Reason, SimError, VenueError
from backend.simulator.core.events import (
    AccountUpdate,
    BalanceSnapshot,
    BookUpdate,
    OrderUpdate,
    PositionSnapshot,
    PositionUpdate,
    PublicTrade,
    SimEvent,
)
from backend.simulator.core.faults import FaultState, RestFault
from backend.simulator.core.instruments import SimInstrument
from backend.simulator.core.market import SimMarket
from backend.simulator.core.matching import SimExchange
from backend.simulator.core.orders import SimFill, SimOrder

__all__ = [
    "DEFAULT_PERPETUAL_FEES",
    "DEFAULT_SPOT_FEES",
    "SIM_ERROR_KINDS",
    "AccountUpdate",
    "BalanceSnapshot",
    "BookUpdate",
    "FaultState",
    "FeeSchedule",
    "Ledger",
    "MarginSnapshot",
    "OrderUpdate",
    "PositionSnapshot",
    "PositionUpdate",
    "PublicTrade",
    "Reason",
    "RestFault",
    "SimAccount",
    "SimClock",
    "SimError",
    "SimEvent",
    "SimExchange",
    "SimFill",
    "SimInstrument",
    "SimMarket",
    "SimOrder",
    "VenueError",
]
