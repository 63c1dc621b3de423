"""WeChat message push (§5): the GET check of the URL and the POSTed events, XML or JSON,
plaintext or encrypted. Answers are `text/plain`; failures keep the contract's envelope."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import (
    MAX_BODY_BYTES,
    PUBLIC,
    Call,
    _current_request,
    endpoint,
    error_response,
    log,
)
from chalicelib.errors import AppError, PayloadTooLarge
from chalicelib.services import subscriptions

bp = Blueprint(__name__)

PUSH_TYPES = ["application/json", "text/xml", "application/xml", "text/plain"]
TEXT_TYPE = {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/v1/wechat/push", methods=["GET"])
@endpoint(PUBLIC)
def check_push_url(call: Call) -> Response:
    return Response(body=subscriptions.check_push_url(call.query), headers=TEXT_TYPE)


@bp.route("/v1/wechat/push", methods=["POST"], content_types=PUSH_TYPES)
def receive_push() -> Response:
    # The body is XML or JSON, so `endpoint` (JSON bodies) does not fit: same limit and envelope.
    request = _current_request.get()
    try:
        body = request.raw_body or b""
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        subscriptions.receive_push(dict(request.query_params or {}), body)
    except AppError as exc:
        if exc.status >= 500:
            log.error("POST /v1/wechat/push failed: %s", exc.code, exc_info=True)
        return error_response(exc.status, exc.code, exc.message)
    return Response(body="success", headers=TEXT_TYPE)
