"""`POST /v1/delivery?squid=`: a squid's webhook settings, checked as lobstr documents them."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from lobstr_dash.fake import errors
from lobstr_dash.fake.hooks import fake_state
from lobstr_dash.fake.webhooks import EVENTS, Delivery


def _invalid(message: str, param: str) -> Response:
    return errors.validation_error(message, param)


def _fields(body: Any) -> tuple[Delivery | None, Response | None]:
    """The webhook settings of a request body, or the 400 that says what is wrong."""
    fields = body.get("webhook_fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        return None, _invalid("webhook_fields is required.", "webhook_fields")
    url = fields.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None, _invalid("Enter a valid URL.", "webhook_fields.url")
    for name in ("is_active", "retry"):
        if not isinstance(fields.get(name), bool):
            return None, _invalid("Must be a valid boolean.", f"webhook_fields.{name}")
    events = fields.get("events")
    if not isinstance(events, dict):
        return None, _invalid("events is required.", "webhook_fields.events")
    for name, value in events.items():
        if name not in EVENTS:
            return None, _invalid(f'"{name}" is not a valid event.', "webhook_fields.events")
        if not isinstance(value, bool):
            return None, _invalid("Must be a valid boolean.", f"webhook_fields.events.{name}")
    missing = [name for name in EVENTS if name not in events]
    if missing:
        return None, _invalid(f"{missing[0]} is required.", f"webhook_fields.events.{missing[0]}")
    return Delivery("", url, fields["is_active"], fields["retry"], dict(events)), None


def configure_delivery() -> Response:
    """POST /v1/delivery?squid=: store the squid's webhook settings; 201 echoes them."""
    state = fake_state()
    squid_id = request.args.get("squid")
    if not squid_id:
        return errors.error_response(400, shape=errors.SHAPE_DETAIL,
                                     message="The 'squid' query parameter is required.")
    if state.catalog.squid(squid_id) is None:
        return errors.not_found("Squid", "squid")
    delivery, problem = _fields(request.get_json(silent=True))
    if problem is not None:
        return problem
    assert delivery is not None
    delivery.squid_id = squid_id
    state.webhooks.configure(squid_id, delivery)
    return errors.json_response({"webhook_fields": delivery.fields()}, 201)
