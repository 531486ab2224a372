"""An aiohttp transport for python-telegram-bot: ``AiohttpRequest`` (a ``BaseRequest``).

python-telegram-bot's default transport is httpx. Measured on this project's 2-core machine
against the stand-in over loopback, an aiohttp client does the same requests for several times
less CPU (see docs/BENCHMARKS.md), which lets one process dispatch several
hundreds of nudges a second more. ``CLOSER_TELEGRAM_TRANSPORT`` picks one (default ``aiohttp``).

The mapping mirrors ``HTTPXRequest``, except that parameters go as a JSON body (multipart when
there are files), which the Bot API accepts for every method. Timeouts raise ``TimedOut``, any
other client error raises ``NetworkError``. aiohttp does not log request URLs (which hold the
token). Only python-telegram-bot's public request API is used: ``BaseRequest``, the documented
properties of ``RequestData`` (``contains_files``, ``parameters``, ``json_parameters``,
``json_payload``, ``multipart_data``) and ``telegram.error``.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_USER_AGENT = "closer (python-telegram-bot, aiohttp)"


def _pick(value: object, default: float | None) -> float | None:
    """A timeout given to ``do_request``: a number or None (no limit) as given, anything else
    (python-telegram-bot's ``BaseRequest.DEFAULT_NONE``, "not set") the transport's own."""
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return default


class AiohttpRequest(BaseRequest):
    """python-telegram-bot's request layer over one ``aiohttp.ClientSession``."""

    __slots__ = (
        "_connect_timeout",
        "_limit",
        "_media_write_timeout",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_timeouts",
        "_write_timeout",
    )

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._limit = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                headers={"User-Agent": _USER_AGENT},
                # The Bot API sets no cookies; a dummy jar skips cookie handling per request.
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _timeout(
        self, connect: float | None, pool: float | None, read: float | None, write: float | None
    ) -> aiohttp.ClientTimeout:
        """aiohttp's timeout for these budgets (built once per combination: it is immutable).

        aiohttp has no write timeout of its own; a request body here is small (no files) or
        bounded by the total, which allows the write budget on top of the others.
        """
        key = (connect, pool, read, write)
        timeout = self._timeouts.get(key)
        if timeout is None:
            parts = [connect, pool, read, write]
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None if any(p is None for p in parts) else sum(p or 0.0 for p in parts),
                connect=None if connect is None or pool is None else connect + pool,
                sock_connect=connect,
                sock_read=read,
            )
        return timeout

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        data: Any = None
        headers: dict[str, str] | None = None
        uploads = request_data is not None and request_data.contains_files
        if request_data is not None and uploads:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mime) in request_data.multipart_data.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            data = form
        elif request_data is not None and request_data.parameters:
            # A JSON body (the Bot API takes one for every method without files): one C-level
            # json.dumps instead of percent-encoding a form, several times cheaper per nudge.
            data = request_data.json_payload
            headers = {"Content-Type": "application/json"}
        write = _pick(write_timeout, self._media_write_timeout if uploads else self._write_timeout)
        read = _pick(read_timeout, self._read_timeout)
        connect = _pick(connect_timeout, self._connect_timeout)
        pool = _pick(pool_timeout, self._pool_timeout)
        timeout = self._timeout(connect, pool, read, write)
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # asyncio's timeout is the builtin one on 3.11+
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def make_requests(transport: str) -> tuple[BaseRequest | None, BaseRequest | None]:
    """(request, getUpdates request) for a transport name; (None, None) keeps httpx."""
    if transport == "aiohttp":
        return AiohttpRequest(), AiohttpRequest(connection_pool_size=1)
    return None, None
