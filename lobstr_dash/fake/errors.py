"""Error responses in every body shape the lobstr API is documented to use."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Response, current_app, has_app_context

# Shapes (lobstr-api.md section 1): DRF-style detail, per-endpoint error object,
# the "errors" object of 500s and business errors, and the rate-limit body.
SHAPE_DETAIL = "detail"
SHAPE_ERROR = "error"
SHAPE_ERRORS = "errors"
SHAPE_THROTTLE = "throttle"

NOT_PROVIDED = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid token."

_DEFAULT_SHAPE = {400: SHAPE_ERROR, 401: SHAPE_DETAIL, 403: SHAPE_DETAIL, 404: SHAPE_ERROR,
                  429: SHAPE_THROTTLE, 503: SHAPE_DETAIL}
_DEFAULT_MESSAGE = {
    400: "Invalid parameter.",
    401: INVALID_TOKEN,
    403: "You do not have permission to perform this action.",
    404: "Not found",
    500: "Something went wrong",
    503: "Service temporarily unavailable, try again later.",
}
_DEFAULT_TYPE = {400: "validation_error", 404: "not_found_error", 500: "SomethingWentWrong"}
#: Error types of the current docs (docs/errors.mdx), by status, when the caller names none.
_CURRENT_TYPE = {400: "InvalidParam", 401: "NotAuthenticated", 403: "PermissionDenied",
                 404: "NotFound", 429: "Throttled", 500: "SomethingWentWrong",
                 503: "ServiceUnavailable"}
#: Legacy per-endpoint types → the current docs' names.
_CURRENT_NAMES = {"validation_error": "ParamsInvalid", "not_found_error": "NotFound"}

NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def throttle_message(seconds: int) -> str:
    """The throttling sentence with the wait in whole seconds."""
    return f"Request was throttled. Expected available in {seconds} seconds."


def legacy_shapes() -> bool:
    """True when the fake serving this request answers in the shapes of the older docs."""
    if not has_app_context() or "fake" not in current_app.extensions:
        return False
    return current_app.extensions["fake"].config.shapes == "legacy"


def error_body(status: int, *, shape: str | None = None, message: str | None = None,
               type_: str | None = None, param: str | None = None,
               retry_after: int = 1) -> dict[str, Any]:
    """JSON body of an error: the one `errors` envelope of the current docs, or (legacy) the shape
    the older docs show for `status` (or the one asked for)."""
    if not legacy_shapes():
        text = message or (throttle_message(retry_after) if status == 429
                           else _DEFAULT_MESSAGE.get(status, "Something went wrong"))
        kind = _CURRENT_NAMES.get(type_ or "", type_) or _CURRENT_TYPE.get(status, "SomethingWentWrong")
        return {"errors": {"message": text, "type": kind, "code": status}}
    shape = shape or _DEFAULT_SHAPE.get(status, SHAPE_ERRORS)
    if shape == SHAPE_THROTTLE:
        return {"error": message or throttle_message(retry_after), "type": "RateLimitExceeded",
                "code": 429}
    text = message or _DEFAULT_MESSAGE.get(status, "Something went wrong")
    if shape == SHAPE_DETAIL:
        return {"detail": text}
    kind = type_ or _DEFAULT_TYPE.get(status, "SomethingWentWrong")
    if shape == SHAPE_ERROR:
        return {"error": {"message": text, "type": kind, "param": param}}
    return {"errors": {"message": text, "type": kind, "code": status}}


def to_json(payload: Any) -> str:
    """Compact UTF-8 JSON in key order, like Django REST framework's default renderer."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def json_response(payload: Any, status: int = 200) -> Response:
    """A JSON response that keeps the payload's key order."""
    return Response(to_json(payload), status=status, mimetype="application/json")


def error_response(status: int, *, shape: str | None = None, message: str | None = None,
                   type_: str | None = None, param: str | None = None,
                   retry_after: float | None = None) -> Response:
    """An error response; 502 is an nginx HTML page, 429 carries Retry-After."""
    if status == 502:
        return Response(NGINX_502, status=502, mimetype="text/html")
    wait = max(1, math.ceil(retry_after)) if retry_after is not None else 1
    body = error_body(status, shape=shape, message=message, type_=type_, param=param,
                      retry_after=wait)
    response = json_response(body, status)
    if status == 429:
        response.headers["Retry-After"] = str(wait)
    return response


def not_found(what: str, param: str) -> Response:
    """404 "Run not found" (type RunDoesNotExist…; legacy: the per-endpoint `error{}` shape)."""
    kind = "not_found_error" if legacy_shapes() else _NOT_FOUND_TYPE.get(what, "NotFound")
    return error_response(404, message=f"{what} not found", type_=kind, param=param)


_NOT_FOUND_TYPE = {"Run": "RunDoesNotExist", "Squid": "SquidDoesNotExistException",
                   "Task": "TaskDoesNotExist"}


def action_error(code: str, message: str, status: int = 400) -> Response:
    """The action endpoints' refusal (resurrect, retry): `{"error": "<Code>", "message": …}`."""
    return json_response({"error": code, "message": message}, status)


def validation_error(message: str, param: str) -> Response:
    """400 in the `{"error": {...}}` validation shape."""
    return error_response(400, message=message, type_="validation_error", param=param)
