"""The pass-through API: one upstream /v1/runtasks page, unchanged; the server adds its token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from .querystring import upstream_paging
from .services import services

bp = Blueprint("api", __name__)


@bp.get("/api/v1/runtasks")
def runtasks() -> Any:
    """One upstream /v1/runtasks page as lobstr answered it (its token never leaves the server)."""
    run, page, limit = upstream_paging(request.args)
    answer = services().client.forward("runtasks", {"run": run, "page": page, "limit": limit})
    return Response(answer.body, status=answer.status, content_type=answer.content_type)
