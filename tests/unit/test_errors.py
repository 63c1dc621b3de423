"""One named error class per 409 code of the contract (§1), with the contract's status and messages."""
from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.errors import (
    AlreadyCheckedIn,
    AlreadyMember,
    AppError,
    BirthdayLocked,
    Conflict,
    CouponNotUsable,
    HoldClosed,
    HoldExpired,
    IdempotencyKeyReused,
    InsufficientPoints,
    LimitReached,
    NegativeBalance,
    OrderConflict,
    OutOfStock,
    RefundExceedsOrder,
)

CONTRACT_409_CODES = {
    "ALREADY_MEMBER", "ALREADY_CHECKED_IN", "INSUFFICIENT_POINTS", "OUT_OF_STOCK", "LIMIT_REACHED",
    "COUPON_NOT_USABLE", "BIRTHDAY_LOCKED", "IDEMPOTENCY_KEY_REUSED", "ORDER_CONFLICT", "REFUND_EXCEEDS_ORDER",
    "NEGATIVE_BALANCE", "HOLD_EXPIRED", "HOLD_CLOSED",
}


def _conflict_classes() -> list[type[Conflict]]:
    return [value for value in vars(errors).values()
            if isinstance(value, type) and issubclass(value, Conflict) and value is not Conflict]


def test_every_contract_409_code_has_exactly_one_class() -> None:
    classes = _conflict_classes()
    assert sorted(cls.code for cls in classes) == sorted(CONTRACT_409_CODES)
    for cls in classes:
        assert cls.status == 409 and cls.__doc__ and "\n" not in cls.__doc__.strip()


def test_conflict_itself_is_never_raised() -> None:
    with pytest.raises(TypeError):
        Conflict("anything")


@pytest.mark.parametrize("error, code, message", [
    (AlreadyMember(), "ALREADY_MEMBER", "已经是会员"),
    (AlreadyCheckedIn(), "ALREADY_CHECKED_IN", "今天已经签到过了"),
    (AlreadyCheckedIn("2026-11-04 已经签到过了"), "ALREADY_CHECKED_IN", "2026-11-04 已经签到过了"),
    (InsufficientPoints(500, 320), "INSUFFICIENT_POINTS", "需要 500 积分，当前 320 积分"),
    (OutOfStock("优惠券已领完"), "OUT_OF_STOCK", "优惠券已领完"),
    (LimitReached("每人限兑 1 次"), "LIMIT_REACHED", "每人限兑 1 次"),
    (CouponNotUsable(), "COUPON_NOT_USABLE", "优惠券不可用"),
    (CouponNotUsable("优惠券不存在"), "COUPON_NOT_USABLE", "优惠券不存在"),
    (BirthdayLocked(), "BIRTHDAY_LOCKED", "生日设置后不可修改"),
    (IdempotencyKeyReused(), "IDEMPOTENCY_KEY_REUSED", "request_id 已用于另一个请求"),
    (OrderConflict(), "ORDER_CONFLICT", "order_id 已用于另一笔不同的记录"),
    (OrderConflict("refund_id"), "ORDER_CONFLICT", "refund_id 已用于另一笔不同的记录"),
    (RefundExceedsOrder(300), "REFUND_EXCEEDS_ORDER", "退款总额超过订单金额，最多还可退 300 分"),
    (NegativeBalance(10, -30), "NEGATIVE_BALANCE", "当前 10 积分，无法扣减 30 积分"),
    (HoldExpired(), "HOLD_EXPIRED", HoldExpired.default_message),
    (HoldClosed(), "HOLD_CLOSED", HoldClosed.default_message),
])
def test_each_conflict_carries_its_code_and_message(error: AppError, code: str, message: str) -> None:
    assert isinstance(error, Conflict)
    assert (error.status, error.code, error.message, str(error)) == (409, code, message, message)


def test_the_envelope_carries_field_on_validation_errors_and_retry_after_on_503() -> None:
    import json

    from chalicelib.api.http import error_response
    from chalicelib.errors import NotFound, StoreUnavailable, ValidationError

    invalid = error_response(ValidationError("生日格式应为 YYYY-MM-DD", "birthday"))
    assert json.loads(invalid.body) == {"error": {"code": "VALIDATION_ERROR", "message": "生日格式应为 YYYY-MM-DD",
                                                  "field": "birthday"}}
    assert json.loads(error_response(NotFound()).body)["error"].keys() == {"code", "message"}
    busy = error_response(StoreUnavailable())
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
