"""The REST endpoint wrapper every simulated venue shares: run the venue's request handling and answer with its
result, or with the venue's rendering of a refusal, whether the venue refused (``VenueError``: bad key, bad
signature, bad parameter) or the core did (``SimError``, translated by the venue's error table). A refused request
changed nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from backend.simulator.core.errors import SimError, VenueError

Run = Callable[[web.Request], Awaitable[Any]]


def rest_endpoint(
    run: Run,
    answer: Callable[[Any], web.Response],
    refuse: Callable[[VenueError], web.Response],
    translate: Callable[[SimError], VenueError],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler: ``answer(await run(request))``, or ``refuse(error)`` for a venue or core refusal."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            result = await run(request)
        except VenueError as error:
            return refuse(error)
        except SimError as error:
            return refuse(translate(error))
        return answer(result)

    return handle


def integer_param(value: str | None, invalid: Callable[[], VenueError]) -> int | None:
    """``value`` as an integer (None when absent), or the venue's ``invalid()`` error when it is not one."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid() from None
