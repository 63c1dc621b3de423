"""WeChat message push (§5): the GET check of the URL and the POSTed events, XML or JSON,
plaintext or encrypted. Answers are `text/plain`; failures keep the contract's envelope."""
from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.http import PUBLIC, Call, endpoint
from chalicelib.services import subscriptions
from chalicelib.wiring import uow

bp = Blueprint(__name__)

PUSH_TYPES = ["application/json", "text/xml", "application/xml", "text/plain"]
TEXT_TYPE: dict[str, str | list[str]] = {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/v1/wechat/push", methods=["GET"])
@endpoint(PUBLIC)
def check_push_url(call: Call) -> Response:
    return Response(body=subscriptions.check_push_url(call.query), headers=TEXT_TYPE)


@bp.route("/v1/wechat/push", methods=["POST"], content_types=PUSH_TYPES)
@endpoint(PUBLIC, json_body=False)
def receive_push(call: Call) -> Response:
    subscriptions.receive_push(uow(), call.query, call.raw)
    return Response(body="success", headers=TEXT_TYPE)
