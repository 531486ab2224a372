"""StandInRequest: python-telegram-bot's real request layer, answered by a TelegramStandIn."""

from __future__ import annotations

import json
import re
from typing import IO, TYPE_CHECKING
from urllib.parse import unquote

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from bot.standin.errors import ApiError

if TYPE_CHECKING:
    from bot.standin.server import Files, TelegramStandIn

# <anything>/bot<token>/<method> and <anything>/file/bot<token>/<path>
_METHOD_URL = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?$")
_FILE_URL = re.compile(r"/file/bot(?P<token>[^/]+)/(?P<path>.+)$")


def split_method_url(url: str) -> tuple[str, str] | None:
    """(token, method) from ``<base>/bot<token>/<method>``, or from any base_url that ends in
    the token (python-telegram-bot's ``{token}`` insertion), e.g. ``<root>/api/<token>/<method>``.
    """
    path = url.split("?", 1)[0]
    match = _METHOD_URL.search(path)
    if match is not None:
        return unquote(match["token"]), match["method"]
    parts = path.rstrip("/").rsplit("/", 2)
    if len(parts) == 3 and parts[1] and re.fullmatch(r"[A-Za-z0-9_]+", parts[2]):
        return unquote(parts[1]), parts[2]
    return None


def _read(content: bytes | IO[bytes]) -> bytes:
    return content if isinstance(content, bytes) else content.read()


class StandInRequest(BaseRequest):
    """A BaseRequest that dispatches to a stand-in instead of the network.

    Parameters go through python-telegram-bot's own encoding (``json_parameters`` and
    ``multipart_data``), exactly what HTTPXRequest would put on the wire, so the stand-in
    decodes what Telegram would receive; python-telegram-bot's ``_request_wrapper`` then turns
    the status code and JSON into its real exceptions.
    """

    __slots__ = ("_initialized", "_read_timeout", "standin")

    def __init__(self, standin: TelegramStandIn, read_timeout: float | None = 5.0) -> None:
        self.standin = standin
        self._read_timeout = read_timeout
        self._initialized = False

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self._initialized = True

    async def shutdown(self) -> None:
        self._initialized = False

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
        if not self._initialized:
            raise RuntimeError("This StandInRequest is not initialized!")
        file_match = _FILE_URL.search(url)
        if file_match is not None:
            # python-telegram-bot percent-encodes the path (the token's ':' too)
            return self._download(unquote(file_match["token"]), unquote(file_match["path"]))
        target = split_method_url(url)
        if target is None:
            return 404, json.dumps(ApiError(404, "Not Found").to_json()).encode()
        params: dict[str, object] = {}
        files: Files = {}
        if request_data is not None:
            params.update(request_data.json_parameters)
            for name, (filename, content, mime) in request_data.multipart_data.items():
                files[name] = (filename, _read(content), mime)
        token, method_name = target
        response = await self.standin.handle(method_name, token, params, files)
        if response.timeout is not None:
            raise TimedOut("Timed out (stand-in fault)")
        return response.status, response.payload()

    def _download(self, token: str, path: str) -> tuple[int, bytes]:
        if token != self.standin.token:
            return 401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}'
        content = self.standin.file_content(path)
        if content is None:
            return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}'
        return 200, content
