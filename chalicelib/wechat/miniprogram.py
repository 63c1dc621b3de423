"""WeChat's mini-program server API through wechatpy, pointed at `WECHAT_API_BASE_URL`.

wechatpy (and the crypto stack under it) is imported on first use only, so `import app` stays
fast. The access token comes from `cgi-bin/stable_token` (never `cgi-bin/token`, which would
invalidate the other instances' tokens) and is shared through a `TokenCache` (the settings table
when deployed); every instance checks its expiry on read and refreshes it five minutes early.
Every call has a short connect and read timeout (`TIMEOUT_SECONDS`) and is never retried here.
Each failure is counted by errcode, and each accepted subscribe message as a grant spent
(`chalicelib/metrics.py`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib import clock, metrics
from chalicelib.config import Settings
from chalicelib.errors import ValidationError, WeChatCodeInvalid, WeChatUnavailable

CODE_INVALID = {40029, 40163, 40226}
TOKEN_REJECTED = {40001, 42001}
TOKEN_REFRESH_MARGIN_SECONDS = 300
# (connect, read) seconds of every call: a hanging WeChat is answered 502 in about 2.5 s, well inside
# the API function's 10 s timeout, even when a request calls WeChat twice (a token, then the call).
TIMEOUT_SECONDS = (1.0, 2.5)
SYSTEM_BUSY = -1


class SendRefused(WeChatUnavailable):
    """WeChat answered a subscribe send with an errcode: the message was not sent and sending it
    again will not help (43101: the user holds no grant for the template)."""

    def __init__(self, errcode: int) -> None:
        super().__init__(f"微信订阅消息发送失败 ({errcode})")
        self.errcode = errcode


class TokenCache(Protocol):
    """Where every instance finds the shared access token."""

    def get(self) -> tuple[str, int] | None:
        """The shared token and its expiry (epoch seconds), if any."""

    def put(self, token: str, expires_at: int, now: datetime) -> None:
        """Share a new token."""


@dataclass(frozen=True)
class LoginSession:
    """What jscode2session answers: the user's openid and the session_key we keep server side."""

    openid: str
    session_key: str


class WeChatGateway:
    """Calls WeChat for the app; maps WeChat failures to the contract's errors."""

    def __init__(self, conf: Settings, tokens: TokenCache) -> None:
        self._conf = conf
        self._tokens = tokens
        self._token: tuple[str, int] | None = None
        self._client: Any = None

    # ---- access token ------------------------------------------------------------------------

    def prime_token(self, cached: tuple[str, int] | None) -> None:
        """Use a token the caller already read from the store (saves a round trip)."""
        if cached:
            self._token = cached

    def access_token(self) -> str:
        """A valid access token: this instance's copy, the shared one, or a new stable token."""
        token = self._token if self._fresh(self._token) else self._tokens.get()
        if token is not None and self._fresh(token):
            self._token = token
            return token[0]
        return self.refresh_access_token()

    @staticmethod
    def _fresh(token: tuple[str, int] | None) -> bool:
        return token is not None and token[1] - clock.now().timestamp() > TOKEN_REFRESH_MARGIN_SECONDS

    def refresh_access_token(self, rejected: str | None = None) -> str:
        """Fetch the stable token and share it; force a new one only if WeChat rejected this one."""
        token, expires_in = self._stable_token(force=False)
        if token == rejected:
            token, expires_in = self._stable_token(force=True)
        now = clock.now()
        self._token = (token, int(now.timestamp()) + expires_in)
        self._tokens.put(token, self._token[1], now)
        return token

    def _stable_token(self, *, force: bool) -> tuple[str, int]:
        def post(client: Any) -> Any:
            response = client._http.post(
                f"{self._conf.wechat_api_base_url}/cgi-bin/stable_token", timeout=TIMEOUT_SECONDS,
                json={"grant_type": "client_credential", "appid": self._conf.wechat_appid,
                      "secret": self._conf.wechat_secret, "force_refresh": force})
            response.raise_for_status()
            return response.json()

        result = self._call(post)
        if not isinstance(result, dict) or not result.get("access_token"):
            errcode = result.get("errcode") if isinstance(result, dict) else "?"
            raise WeChatUnavailable(f"微信 access_token 获取失败 ({errcode})")
        return str(result["access_token"]), int(result.get("expires_in", 7200))

    # ---- API calls ---------------------------------------------------------------------------

    def code_to_session(self, code: str) -> LoginSession:
        """Exchange a wx.login code (jscode2session); invalid or used codes are 401 WECHAT_CODE_INVALID."""
        # A list of params keeps wechatpy from attaching an access token this call does not need.
        result = self._call(lambda c: c.get("sns/jscode2session", api_base_url=self._conf.wechat_api_base_url + "/",
                                            params=[("appid", self._conf.wechat_appid),
                                                    ("secret", self._conf.wechat_secret),
                                                    ("js_code", code), ("grant_type", "authorization_code")]),
                            invalid=WeChatCodeInvalid())
        if not isinstance(result, dict) or not result.get("openid") or not result.get("session_key"):
            raise WeChatUnavailable("微信登录返回异常")
        return LoginSession(str(result["openid"]), str(result["session_key"]))

    def phone_number(self, phone_code: str) -> str:
        """The phone number behind a getPhoneNumber code (getuserphonenumber)."""
        result = self._call(lambda c: c.post("wxa/business/getuserphonenumber",
                                             api_base_url=self._conf.wechat_api_base_url + "/",
                                             data={"code": phone_code}),
                            invalid=ValidationError("手机号授权码无效或已过期", "phone_code"))
        info = result.get("phone_info") if isinstance(result, dict) else None
        number = info.get("purePhoneNumber") or info.get("phoneNumber") if isinstance(info, dict) else None
        if not number:
            raise WeChatUnavailable("微信手机号返回异常")
        return str(number)

    def send_subscribe(self, openid: str, template_id: str, data: dict[str, dict[str, str]],
                       page: str | None = None) -> str:
        """Send one subscribe message (message/subscribe/send); return WeChat's msgid. SendRefused
        for WeChat's refusals; WeChatUnavailable for 5xx, busy (-1) and transport failures, after
        which a retry may succeed."""
        from wechatpy.exceptions import WeChatClientException

        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if page is not None:
            body["page"] = page

        def post(client: Any) -> Any:
            try:
                return client.post("message/subscribe/send", data=body)
            except WeChatClientException as exc:
                if exc.errcode is None or exc.errcode in TOKEN_REJECTED or exc.errcode == SYSTEM_BUSY:
                    raise  # _call refreshes a rejected token once; the rest is WeChatUnavailable
                raise SendRefused(int(exc.errcode)) from exc

        result = self._call(post)
        metrics.grant_spent()
        return str(result.get("msgid", "")) if isinstance(result, dict) else ""

    def _call(self, request: Any, invalid: Exception | None = None, *, retried: bool = False) -> Any:
        """Run one wechatpy call; a rejected access token is refreshed once and the call retried;
        errcodes and transport failures become contract errors."""
        import requests
        from wechatpy.exceptions import WeChatClientException

        try:
            return request(self._wechatpy())
        except SendRefused as exc:
            metrics.wechat_failed(exc.errcode)
            raise
        except WeChatClientException as exc:
            metrics.wechat_failed(exc.errcode)
            if exc.errcode in TOKEN_REJECTED and not retried:
                self.refresh_access_token(rejected=self._token[0] if self._token else None)
                return self._call(request, invalid, retried=True)
            if invalid is not None and exc.errcode in CODE_INVALID:
                raise invalid from exc
            raise WeChatUnavailable(f"微信接口错误 ({exc.errcode})") from exc
        except (requests.RequestException, ValueError) as exc:
            metrics.wechat_failed("transport")
            raise WeChatUnavailable() from exc

    def _wechatpy(self) -> Any:
        if self._client is None:
            self._client = _make_client(self)
        return self._client


def _make_client(gateway: WeChatGateway) -> Any:
    """A wechatpy client whose access token is the gateway's shared stable token."""
    from wechatpy import WeChatClient

    class _MiniProgramClient(WeChatClient):  # type: ignore[misc]
        gateway: WeChatGateway | None = None  # attached after construction: wechatpy's __new__ reads properties

        @property
        def access_token(self) -> str | None:
            return self.gateway.access_token() if self.gateway else None

        def fetch_access_token(self) -> dict[str, Any]:
            """Never `cgi-bin/token`: always the shared stable token."""
            return {"access_token": self.gateway.refresh_access_token() if self.gateway else None}

    conf = gateway._conf
    client = _MiniProgramClient(conf.wechat_appid, conf.wechat_secret, timeout=TIMEOUT_SECONDS, auto_retry=False)
    client.API_BASE_URL = conf.wechat_api_base_url + "/cgi-bin/"
    client.gateway = gateway
    return client

