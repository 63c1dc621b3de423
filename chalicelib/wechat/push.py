"""WeChat message push, the adapter side: signatures, the EncodingAESKey scheme and one normalised
event out of an XML or JSON body, plaintext or encrypted.

A push is signed with `sha1(sorted([token, timestamp, nonce]))` (`signature`); in safe mode
(`encrypt_type=aes`) the body is `{ToUserName, Encrypt}` and `msg_signature` covers `Encrypt` too.
`Encrypt` is base64 of AES-256-CBC (key = base64(EncodingAESKey + "="), IV = key[:16]) over
16 random bytes + 4-byte big-endian length + message + appid, PKCS#7-padded to 32 bytes.
xmltodict and the crypto stack are imported on first use only, so `import app` stays fast.

When an EncodingAESKey is configured (safe mode, every deployed stage), a plaintext push is refused:
its signature covers token, timestamp and nonce only, not the body. A push is bounded to what
WeChat sends (an openid of at most 64 characters, a CreateTime of at most 12 digits, a few templates
per popup); anything bigger is `400`, never a write DynamoDB would refuse.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import Unauthenticated, ValidationError
from chalicelib.schema import parse_json

MAX_SKEW_SECONDS = 300
MAX_NONCE_CHARS = 64
MAX_TIMESTAMP_DIGITS = 12
MAX_OPENID_CHARS = 64
MAX_EVENT_CHARS = 64
MAX_ITEMS = 20  # wx.requestSubscribeMessage offers at most 3 templates at once
MAX_TEMPLATE_ID_CHARS = 64  # WeChat's template ids are 43 characters
MAX_VALUE_CHARS = 128
PAD_BLOCK = 32
EVENT_WRAPPERS = ("SubscribeMsgPopupEvent", "SubscribeMsgChangeEvent", "SubscribeMsgSentEvent")


@dataclass(frozen=True)
class PushEvent:
    """One push as the app sees it: sender, WeChat's CreateTime, event name and the `List` items
    of a subscribe event (always a list of flat string maps)."""

    openid: str
    create_time: int
    event: str
    items: tuple[dict[str, str], ...]
    timestamp: str = ""
    nonce: str = ""

    @property
    def dedupe_key(self) -> str:
        """(sender, CreateTime, content hash): equal for a retry or a replay of this push."""
        content = json.dumps([self.event, list(self.items)], sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]
        return f"{self.openid}#{self.create_time}#{digest}"


def signature(*parts: str) -> str:
    """WeChat's signature: sha1 of the parts sorted and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(expected: str | None, *parts: str) -> None:
    """Unauthenticated unless `expected` is the signature of `parts`."""
    if not expected or not hmac.compare_digest(expected.lower().encode(), signature(*parts).encode()):
        raise Unauthenticated("微信签名无效")


def verify_url(conf: Settings, query: Mapping[str, str]) -> str:
    """The GET check of the push URL: `echostr` when `signature` is right."""
    timestamp, nonce, echostr = (query.get(name) for name in ("timestamp", "nonce", "echostr"))
    if not conf.wechat_token or not timestamp or not nonce or echostr is None:
        raise Unauthenticated("微信签名无效")
    check_signature(query.get("signature"), conf.wechat_token, timestamp, nonce)
    return echostr


def read_push(conf: Settings, query: Mapping[str, str], body: bytes, now: datetime) -> PushEvent:
    """Authenticate a POSTed push (signature, timestamp within 5 minutes of `now`, and in safe mode
    msg_signature, decryption and appid) and normalise it. Unauthenticated for anything forged,
    stale or undecryptable; ValidationError for an authentic body that is not a push."""
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not conf.wechat_token or not _digits(timestamp, MAX_TIMESTAMP_DIGITS) or not _token_like(nonce,
                                                                                               MAX_NONCE_CHARS):
        raise Unauthenticated("微信签名无效")
    if abs(int(timestamp) - now.timestamp()) > MAX_SKEW_SECONDS:
        raise Unauthenticated("微信推送已过期")
    if query.get("encrypt_type", "raw") != "aes":
        check_signature(query.get("signature"), conf.wechat_token, timestamp, nonce)
        if conf.wechat_encoding_aes_key:
            raise Unauthenticated("微信推送须为安全模式（加密）")
        return replace(normalise(parse_document(body)), timestamp=timestamp, nonce=nonce)
    try:
        encrypt = parse_document(body).get("Encrypt")
    except ValidationError:
        raise Unauthenticated("无法解密微信推送") from None
    if not isinstance(encrypt, str) or not encrypt:
        raise Unauthenticated("无法解密微信推送")
    check_signature(query.get("msg_signature"), conf.wechat_token, timestamp, nonce, encrypt)
    message = decrypt(conf.wechat_encoding_aes_key, encrypt, conf.wechat_appid)
    return replace(normalise(parse_document(message)), timestamp=timestamp, nonce=nonce)


def _digits(text: str, most: int) -> bool:
    """1..`most` ASCII digits."""
    return 0 < len(text) <= most and text.isascii() and text.isdigit()


def _token_like(text: str, most: int) -> bool:
    """1..`most` printable ASCII characters without spaces (an openid, a nonce, a template id)."""
    return 0 < len(text) <= most and text.isascii() and text.isprintable() and " " not in text


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind a 43-character EncodingAESKey."""
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("WECHAT_ENCODING_AES_KEY must be 43 base64 characters")
    return key


def pkcs7_unpad(data: bytes, block: int = PAD_BLOCK) -> bytes:
    """Strip PKCS#7 padding to `block` bytes; ValueError if it is not well formed."""
    pad = data[-1] if data else 0
    if not 1 <= pad <= block or len(data) < pad or data[-pad:] != bytes([pad]) * pad:
        raise ValueError("bad PKCS#7 padding")
    return data[:-pad]


def decrypt(encoding_aes_key: str, encrypt: str, appid: str) -> bytes:
    """The message inside an `Encrypt` value, checked to be addressed to `appid`."""
    from Crypto.Cipher import AES

    key = aes_key(encoding_aes_key)
    try:
        sealed = base64.b64decode(encrypt, validate=True)
    except (binascii.Error, ValueError):
        raise Unauthenticated("无法解密微信推送") from None
    if not sealed or len(sealed) % 16:
        raise Unauthenticated("无法解密微信推送")
    try:
        plain = pkcs7_unpad(AES.new(key, AES.MODE_CBC, iv=key[:16]).decrypt(sealed))
    except ValueError:
        raise Unauthenticated("无法解密微信推送") from None
    content = plain[16:]
    length = int.from_bytes(content[:4], "big")
    if len(content) < 4 or len(content) < 4 + length:
        raise Unauthenticated("无法解密微信推送")
    if content[4 + length:] != appid.encode("utf-8"):
        raise Unauthenticated("推送的 appid 不符")
    return content[4:4 + length]


def parse_document(body: bytes) -> dict[str, Any]:
    """An XML (`<xml>…</xml>`) or JSON object body as a dict; ValidationError otherwise."""
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValidationError("推送内容不是 UTF-8 文本", "") from None
    if text.startswith("<"):
        from xml.parsers.expat import ExpatError

        import xmltodict

        try:
            value = xmltodict.parse(text).get("xml")
        except (ExpatError, ValueError, RecursionError):
            raise ValidationError("推送内容不是有效的 XML", "") from None
    else:
        value = parse_json(text.encode("utf-8"))
    if not isinstance(value, dict):
        raise ValidationError("推送内容应为 XML 或 JSON 对象", "")
    return value


def normalise(document: Mapping[str, Any]) -> PushEvent:
    """One PushEvent from a parsed push, XML or JSON: `List` may sit at the top (JSON) or inside
    the event's wrapper element (XML), and be one object instead of an array of one. Bounded: see
    the module docstring."""
    openid, created, event = document.get("FromUserName"), document.get("CreateTime"), document.get("Event")
    if not isinstance(openid, str) or not _token_like(openid, MAX_OPENID_CHARS):
        raise ValidationError("FromUserName 无效", "FromUserName")
    if isinstance(created, bool) or not _digits(str(created or "").strip(), MAX_TIMESTAMP_DIGITS):
        raise ValidationError("CreateTime 应为不超过 12 位的整数", "CreateTime")
    if isinstance(event, str) and len(event) > MAX_EVENT_CHARS:
        raise ValidationError("Event 过长", "Event")
    items = _items(document)
    return PushEvent(openid, int(str(created).strip()), event if isinstance(event, str) else "", items)


def _items(document: Mapping[str, Any]) -> tuple[dict[str, str], ...]:
    """The `List` items as flat string maps; ValidationError when more or bigger than WeChat sends."""
    listed = document.get("List")
    for wrapper in EVENT_WRAPPERS:
        if listed is None and isinstance(document.get(wrapper), Mapping):
            listed = document[wrapper].get("List")
    if isinstance(listed, Mapping):
        listed = [listed]
    if not isinstance(listed, list):
        listed = []
    if len(listed) > MAX_ITEMS:
        raise ValidationError(f"List 最多 {MAX_ITEMS} 项", "List")
    items = tuple({str(k): str(v) for k, v in item.items() if v is not None}
                  for item in listed if isinstance(item, Mapping))
    for index, item in enumerate(items):
        template_id = item.get("TemplateId", "").strip()
        if template_id and not _token_like(template_id, MAX_TEMPLATE_ID_CHARS):
            raise ValidationError("TemplateId 无效", f"List[{index}].TemplateId")
        if any(len(key) > MAX_VALUE_CHARS or len(value) > MAX_VALUE_CHARS for key, value in item.items()):
            raise ValidationError(f"List 的值最长 {MAX_VALUE_CHARS} 个字符", f"List[{index}]")
    return items
