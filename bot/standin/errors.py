"""The stand-in's one error type: a Bot API error answer (status code, description, retry_after)."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API call that Telegram would refuse, carrying Telegram's exact answer."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    @classmethod
    def bad_request(cls, detail: str) -> ApiError:
        """400 with Telegram's "Bad Request: ..." prefix."""
        return cls(400, f"Bad Request: {detail}")

    @classmethod
    def forbidden(cls, detail: str = "bot was blocked by the user") -> ApiError:
        """403 with Telegram's "Forbidden: ..." prefix."""
        return cls(403, f"Forbidden: {detail}")

    @classmethod
    def too_many_requests(cls, retry_after: int) -> ApiError:
        """429 flood control, with parameters.retry_after."""
        return cls(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def to_json(self) -> dict[str, Any]:
        """The Bot API's error body."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body
