"""One AppError family: each class knows its contract code and HTTP status.

Routes never build error bodies themselves; `chalicelib.api.http` renders any AppError as
`{"error": {"code", "message"}}` with its status.
"""
from __future__ import annotations


class AppError(Exception):
    """A failure the client is told about, in the contract's error envelope."""

    status = 500
    code = "INTERNAL"
    default_message = "服务器内部错误"
    retry_after: int | None = None

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class ValidationError(AppError):
    """Malformed or out-of-range input. `field` is the JSON path of the offending input
    (`tiers[2].min_growth`), a query parameter's name, or "" for the whole body."""

    status, code = 400, "VALIDATION_ERROR"

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class ReferralCodeInvalid(AppError):
    """The inviter's referral code does not belong to any member."""

    status, code, default_message = 400, "REFERRAL_CODE_INVALID", "邀请码无效"


class Unauthenticated(AppError):
    """Missing, malformed, forged or expired credentials."""

    status, code, default_message = 401, "UNAUTHENTICATED", "请先登录"


class WeChatCodeInvalid(AppError):
    """WeChat refused the wx.login code (invalid, expired or already used)."""

    status, code, default_message = 401, "WECHAT_CODE_INVALID", "登录凭证无效或已过期"


class NotAMember(AppError):
    """A visitor token on a member-only route."""

    status, code, default_message = 403, "NOT_A_MEMBER", "请先注册会员"


class Forbidden(AppError):
    """Authenticated but not allowed."""

    status, code, default_message = 403, "FORBIDDEN", "无权操作"


class NotFound(AppError):
    """No such object, or it belongs to someone else."""

    status, code, default_message = 404, "NOT_FOUND", "对象不存在"


class Conflict(AppError):
    """A business rule refuses the state change (409). Never raised itself: each contract code has
    its own subclass below, with the code as a class attribute."""

    status = 409

    def __init__(self, message: str | None = None) -> None:
        if type(self) is Conflict:
            raise TypeError("raise the Conflict subclass of the contract code, not Conflict itself")
        super().__init__(message)


class AlreadyMember(Conflict):
    """The openid already belongs to a member."""

    code, default_message = "ALREADY_MEMBER", "已经是会员"

    def __init__(self) -> None:
        super().__init__()


class AlreadyCheckedIn(Conflict):
    """That Shanghai date is already checked in (today's check-in, or a make-up of a done day)."""

    code, default_message = "ALREADY_CHECKED_IN", "今天已经签到过了"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)


class InsufficientPoints(Conflict):
    """The spendable balance is below what the change costs."""

    code = "INSUFFICIENT_POINTS"

    def __init__(self, needed: int, balance: int) -> None:
        super().__init__(f"需要 {needed} 积分，当前 {balance} 积分")


class OutOfStock(Conflict):
    """No stock left (a coupon template or a reward); coupons and rewards word it differently."""

    code = "OUT_OF_STOCK"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class LimitReached(Conflict):
    """A per-member or monthly limit is used up; the message says which."""

    code = "LIMIT_REACHED"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class CouponNotUsable(Conflict):
    """The coupon cannot be used on this order."""

    code, default_message = "COUPON_NOT_USABLE", "优惠券不可用"

    def __init__(self, message: str = "优惠券不可用") -> None:
        super().__init__(message)


class BirthdayLocked(Conflict):
    """The birthday was set before and cannot change."""

    code, default_message = "BIRTHDAY_LOCKED", "生日设置后不可修改"

    def __init__(self) -> None:
        super().__init__()


class IdempotencyKeyReused(Conflict):
    """The request_id was used before with a different body."""

    code, default_message = "IDEMPOTENCY_KEY_REUSED", "request_id 已用于另一个请求"

    def __init__(self) -> None:
        super().__init__()


class OrderConflict(Conflict):
    """The order_id (or refund_id) was recorded before with a different body."""

    code = "ORDER_CONFLICT"

    def __init__(self, what: str = "order_id", *, message: str | None = None) -> None:
        super().__init__(message or f"{what} 已用于另一笔不同的记录")


class RefundExceedsOrder(Conflict):
    """The refunds would add up to more than the order's amount."""

    code = "REFUND_EXCEEDS_ORDER"

    def __init__(self, refundable: int) -> None:
        super().__init__(f"退款总额超过订单金额，最多还可退 {refundable} 分")


class NegativeBalance(Conflict):
    """The change would take the points balance below zero."""

    code = "NEGATIVE_BALANCE"

    def __init__(self, balance: int, delta: int) -> None:
        super().__init__(f"当前 {balance} 积分，无法扣减 {-delta} 积分")


class HoldExpired(Conflict):
    """A checkout hold past its expiry can no longer take its coupon or points (§9)."""

    code, default_message = "HOLD_EXPIRED", "结算已超时，积分或优惠券已释放"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)


class HoldClosed(Conflict):
    """The checkout hold was cancelled and cannot be confirmed (§9)."""

    code, default_message = "HOLD_CLOSED", "结算已取消"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)


class PayloadTooLarge(AppError):
    """The request body is over 64 KiB."""

    status, code, default_message = 413, "PAYLOAD_TOO_LARGE", "请求体超过 64 KiB"


class WeChatUnavailable(AppError):
    """WeChat's servers failed or answered something we cannot use."""

    status, code, default_message = 502, "WECHAT_UNAVAILABLE", "微信服务暂时不可用"


class StoreUnavailable(AppError):
    """DynamoDB failed, throttled or kept conflicting after retries."""

    status, code, default_message = 503, "STORE_UNAVAILABLE", "存储服务暂时不可用"
    retry_after = 1
