"""The last safety net of the web server: input that a view failed to parse is a 400, not a 500.

Every view parses its input defensively and answers its own 4xx with the reason; this
middleware only catches what a view missed. An exception of the kinds that parsing raises
(a value or type it did not expect, text that is not Unicode, nesting too deep) becomes
``400 {"error": ...}`` and is logged with its traceback as a bug to fix. Anything else (the
database, the broker, our own code) stays a 500: hiding it as "bad input" would lie.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What parsing untrusted input raises. UnicodeError and json.JSONDecodeError are ValueErrors;
# LookupError covers a missing key or index in a payload; OverflowError a date or number
# beyond range.
INPUT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    LookupError,
    RecursionError,
    OverflowError,
)


@web.middleware
async def input_errors_are_400(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 400 with a JSON reason when a view fails on what it was sent."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except INPUT_ERRORS as exc:
        log.error(
            "%s %s: unhandled %s answered as 400 (a view should have refused this input)",
            request.method,
            request.path,
            type(exc).__name__,
            exc_info=exc,
        )
        return web.json_response(
            {"error": f"the request could not be processed: {type(exc).__name__}"}, status=400
        )
