"""One JSON error shape for every failure the API reports::

    {"error": {"status": 404, "code": "not_found", "message": "no run local/mnist/abc123"}}

``code`` is stable for programs; ``message`` says what was wrong and what to do, for people.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from runyard.errors import ConflictError, FilterError, NotFoundError, StoreError, TooLargeError, UsageError
from runyard.server.encoding import ApiResponse

__all__ = ["ApiError", "error_body", "install_error_handlers"]

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}


class ApiError(Exception):
    """An error a handler reports to the client as it is: ``ApiError(409, "run is not running")``."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"error": {"status": status, "code": code or _CODES.get(status, "error"), "message": message}}


def _respond(status: int, message: str, code: str | None = None) -> ApiResponse:
    return ApiResponse(error_body(status, message, code), status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Map runyard's errors, HTTP errors and validation errors onto the one JSON shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> ApiResponse:
        return _respond(exc.status, exc.message, exc.code)

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> ApiResponse:
        return _respond(404, str(exc))

    @app.exception_handler(ConflictError)
    async def _conflict(request: Request, exc: ConflictError) -> ApiResponse:
        return _respond(409, str(exc))

    @app.exception_handler(TooLargeError)
    async def _too_large(request: Request, exc: TooLargeError) -> ApiResponse:
        return _respond(413, str(exc))

    @app.exception_handler(FilterError)
    async def _filter_error(request: Request, exc: FilterError) -> ApiResponse:
        return _respond(400, str(exc), "bad_filter")

    @app.exception_handler(UsageError)
    async def _usage_error(request: Request, exc: UsageError) -> ApiResponse:
        return _respond(400, str(exc))

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, exc: StoreError) -> ApiResponse:
        return _respond(503, f"the store could not answer: {exc}", "store_error")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> ApiResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path} (see /docs for the API)"
        return _respond(exc.status_code, message)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> ApiResponse:
        # Starlette still re-raises the exception after this answer, so the server's log keeps the traceback.
        return _respond(
            500,
            f"internal error ({type(exc).__name__}: {exc}); this is a bug in runyard: please report it with the "
            "server's log",
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> ApiResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
            problems.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
        return _respond(422, "invalid request: " + "; ".join(problems))
