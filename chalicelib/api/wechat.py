"""WeChat message push (§5): the GET check of the URL and the POSTed events, XML or JSON,
plaintext or encrypted. Answers are `text/plain`; failures keep the contract's envelope."""
from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.declare import PUBLIC
from chalicelib.api.http import Call, route
from chalicelib.schema import Enum, Schema, Str
from chalicelib.services import subscriptions
from chalicelib.wiring import uow

bp = Blueprint(__name__)

PUSH_TYPES = ["application/json", "text/xml", "application/xml", "text/plain"]
TEXT_TYPE: dict[str, str | list[str]] = {"Content-Type": "text/plain; charset=utf-8"}
SIGNED: dict[str, Schema] = {
    "signature": Str(64, pattern="[0-9a-fA-F]{1,64}"),
    "timestamp": Str(12, pattern="[0-9]{1,12}"),
    "nonce": Str(64, pattern="[A-Za-z0-9_-]{1,64}"),
}


@route(bp, "GET", "/v1/wechat/push", PUBLIC, "WeChat's check of the push URL (answers echostr)",
       query={**SIGNED, "echostr": Str(512, pattern="[A-Za-z0-9_=+/.-]{1,512}")}, refusals=(401,))
def check_push_url(call: Call) -> Response:
    return Response(body=subscriptions.check_push_url(call.query), headers=TEXT_TYPE)


@route(bp, "POST", "/v1/wechat/push", PUBLIC, "A pushed WeChat event (XML or JSON, plaintext or AES)",
       query={**SIGNED, "encrypt_type": Enum(["aes", "raw"]), "msg_signature": Str(64, pattern="[0-9a-fA-F]{1,64}"),
              "openid": Str(128, pattern="[A-Za-z0-9_-]{1,128}")},
       content_types=PUSH_TYPES, refusals=(401,))
def receive_push(call: Call) -> Response:
    subscriptions.receive_push(uow(), call.query, call.raw)
    return Response(body="success", headers=TEXT_TYPE)
