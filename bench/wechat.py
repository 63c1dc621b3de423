"""WeChat figures: the latency of encrypted XML pushes through `POST /v1/wechat/push`, each
granting one subscribe-message send, then the notifier's sends against the fake WeChat."""
from __future__ import annotations

import base64
import hashlib
import secrets
import statistics
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from bench.stack import BENCH_ENV, Bench

WECHAT_PUSHES = 200  # pushes timed, each granting the one send made later to its openid
PUSH_EVENT = "subscribe_msg_popup_event"
NOTICE_TEMPLATE = "tpl-bench-notice"


def sealed_push(openid: str, template_id: str) -> tuple[str, str]:
    """(query string, body) of an encrypted XML `subscribe_msg_popup_event` push accepting
    `template_id` for `openid`, signed and encrypted as WeChat does with the bench's settings."""
    from wechatpy.crypto import PrpCrypto

    created = str(int(time.time()))
    message = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
               f"</FromUserName><CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
               f"<Event><![CDATA[{PUSH_EVENT}]]></Event><SubscribeMsgPopupEvent><List>"
               f"<TemplateId><![CDATA[{template_id}]]></TemplateId>"
               f"<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>"
               f"<PopupScene><![CDATA[0]]></PopupScene></List></SubscribeMsgPopupEvent></xml>")
    key = base64.b64decode(BENCH_ENV["WECHAT_ENCODING_AES_KEY"] + "=")
    encrypt = PrpCrypto(key).encrypt(message, BENCH_ENV["WECHAT_APPID"]).decode()
    nonce = secrets.token_hex(4)

    def sign(*parts: str) -> str:
        return hashlib.sha1("".join(sorted((BENCH_ENV["WECHAT_TOKEN"], created, nonce, *parts))).encode()).hexdigest()

    query = {"signature": sign(), "timestamp": created, "nonce": nonce, "openid": openid,
             "encrypt_type": "aes", "msg_signature": sign(encrypt)}
    body = f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return urlencode(query), body


def measure_wechat(bench: Bench) -> dict[str, Any]:
    """Time `WECHAT_PUSHES` pushes through the route (each grants one send to a new openid), then
    send each openid one notice through the notifier against the fake WeChat."""
    from chalicelib.services import notify  # noqa: F401  (imported first: no import lands in a timed push)

    openids = ["o" + hashlib.sha256(f"bench-push-{i}".encode()).hexdigest()[:27] for i in range(WECHAT_PUSHES)]
    return {"push": time_pushes(bench, openids), "notify": send_notices(bench, openids)}


def time_pushes(bench: Bench, openids: list[str]) -> dict[str, Any]:
    """One push per openid accepting `NOTICE_TEMPLATE`: latency percentiles and round trips."""
    latencies_ms: list[float] = []
    push_ops: list[str] = []
    for openid in openids:
        query, body = sealed_push(openid, NOTICE_TEMPLATE)
        with bench.meter.record() as dynamodb:
            started = time.perf_counter()
            response = bench.client.http.post(f"/v1/wechat/push?{query}", headers={"Content-Type": "text/xml"},
                                              body=body)
            latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or response.body != b"success":
            raise RuntimeError(f"push: got {response.status_code}: {response.body!r}")
        push_ops += dynamodb.operations
    percentiles = statistics.quantiles(latencies_ms, n=100)
    return {
        "pushes": len(openids),
        "event": f"{PUSH_EVENT} (encrypted XML, one template accepted)",
        "p50_ms": round(statistics.median(latencies_ms), 2),
        "p95_ms": round(percentiles[94], 2),
        "max_ms": round(max(latencies_ms), 2),
        "round_trips_per_push": round(len(push_ops) / len(openids), 2),
        "calls": dict(Counter(push_ops)),
    }


def send_notices(bench: Bench, openids: list[str]) -> dict[str, Any]:
    """One `notify.send_notice` per openid (each granted by its push): sends/s and calls a send."""
    from chalicelib import clock, wiring
    from chalicelib.services import notify

    now = clock.now()
    wechat_before = len(bench.wechat.calls)
    with bench.meter.record() as dynamodb:
        started = time.perf_counter()
        values = {"thing1": "会员日福利已到账"}
        outcomes = Counter(
            notify.send_notice(wiring.uow(), wiring.wechat(), f"m-bench-{i}", openid, NOTICE_TEMPLATE, values,
                               job="bench", business_date=clock.business_date(now), now=now, weekly_cap=3)
            for i, openid in enumerate(openids))
        send_s = time.perf_counter() - started
    if outcomes[notify.SENT] != len(openids):
        raise RuntimeError(f"send_notice: {dict(outcomes)}")
    wechat_calls = bench.wechat.calls[wechat_before:]
    return {
        "sends": len(openids),
        "outcomes": dict(outcomes),
        "wall_s": round(send_s, 2),
        "sends_per_s": round(len(openids) / send_s, 1),
        "dynamodb_calls_per_send": round(len(dynamodb.operations) / len(openids), 2),
        "calls": dict(Counter(dynamodb.operations)),
        "wechat_calls_per_send": round(len(wechat_calls) / len(openids), 2),
        "wechat_calls": dict(Counter(wechat_calls)),
    }
