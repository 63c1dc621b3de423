"""Each page of the merchant console driven through its main flow in headless Chromium, against a
`python -m devstack` server with data made through the API (`console_data`); a screenshot of each page
goes to `test-output/browser/`, and no test may leave a console error (see `conftest.console`)."""
from __future__ import annotations

import pytest
from console_data import (
    AUTOMATION,
    GIFT,
    MEMBERS_TOTAL,
    NICKNAMES,
    PHONES,
    TARGET_SEGMENT_MEMBERS,
    TEMPLATE,
    StoreApi,
)
from console_driver import Console
from servers import ADMIN_KEY

NEW_TEMPLATE = "会员专享满200减30"
NEW_REWARD = "会员帆布袋"


@pytest.mark.refusals(401)
def test_login_refuses_a_wrong_key_and_keeps_the_right_one_for_the_session(console: Console) -> None:
    console.browser.execute_script("sessionStorage.clear()")
    console.open("/dashboard")
    console.element(".login-card")
    console.type("input[name='admin-key']", "not-the-key")
    console.button("登录")
    console.text_of(".login-card .el-form-item__error", "管理密钥不正确")
    console.screenshot("01-login")
    console.type("input[name='admin-key']", ADMIN_KEY)
    console.button("登录")
    console.text_of(".page-title", "数据概览")
    stored = console.browser.execute_script("return sessionStorage.getItem('member-loyalty-admin-key')")
    assert stored == ADMIN_KEY


def test_dashboard_shows_the_figures_charts_and_rfm_of_the_data(console: Console) -> None:
    console.open("/dashboard")
    assert console.text_of("[data-kpi='会员总数'] .value", str(MEMBERS_TOTAL)).strip() == str(MEMBERS_TOTAL)
    console.text_of("[data-kpi='销售额'] .value", "¥")
    console.text_of("[data-kpi='复购率'] .value", "%")
    console.wait(lambda: len(console.visible(".chart canvas")) >= 7, "the six charts and the RFM bars")
    console.text_of(".segments-table", "一般发展客户")
    console.row(".segments-table", "一般发展客户").find_element("css selector", "a")
    console.text_of(".matrix", "潜在客户")
    console.screenshot("02-dashboard")


def test_members_phone_look_up_member_page_and_points_adjustment(console: Console, stack: tuple[StoreApi, Console]) -> None:
    console.open("/members")
    console.type("input[name='phone']", PHONES[0])
    console.button("查找")
    console.click(".member-table .el-table__body tr", NICKNAMES[0])
    page = console.text_of(".member-page", PHONES[0])
    assert all(section in page for section in ("基本资料", "等级与成长值", "成长值", "可用积分", "订阅消息授权", "RFM"))
    console.text_of(".ledger-table", "订单积分")
    balance = stack[0].call("GET", f"/v1/admin/members/{stack[0].member_ids[0]}")["points"]["balance"]
    console.button("调整积分")
    console.field("delta", "100", ".adjust-dialog")
    console.field("reason", "门店活动补发", ".adjust-dialog")
    console.button("确定", ".adjust-dialog")
    console.text_of("[data-balance]", f"{balance + 100:,}")
    console.text_of(".ledger-table .el-table__body tr", "人工调整")
    console.screenshot("03-member")
    console.open("/members?segment=general_develop")
    console.wait(lambda: len(console.visible(".member-table .el-table__body tr")) == TARGET_SEGMENT_MEMBERS,
                 "the segment's members")


def test_marketing_templates_targeted_issue_and_automation_lift(console: Console) -> None:
    console.open("/marketing")
    console.button("新建优惠券模板")
    console.field("name", NEW_TEMPLATE, ".template-dialog")
    console.field("amount_off_fen", "30", ".template-dialog")
    console.field("min_spend_fen", "200", ".template-dialog")
    console.button("保存", ".template-dialog")
    console.row(".templates-table", NEW_TEMPLATE)
    console.row(".templates-table", TEMPLATE).find_element("xpath", ".//button[contains(., '停用')]").click()
    console.wait(lambda: "停用" in console.row(".templates-table", TEMPLATE).find_element("css selector", ".el-tag").text,
                 "the template deactivated")
    console.screenshot("04-marketing-templates")
    console.click(".el-tabs__item", "定向发券")
    console.choose(".issue-form [data-field='template_id']", NEW_TEMPLATE)
    console.choose(".issue-form [data-field='segment']", "一般发展客户")
    console.button("发放", ".issue-form")
    console.confirm("发放")
    console.text_of(".issue-result", f"已发放 {TARGET_SEGMENT_MEMBERS} 张，跳过 0 人")
    console.click(".el-tabs__item", "自动化营销")
    row = console.row(".automations-table", AUTOMATION)
    assert "尚不显著" in row.text and "50%" in row.text
    console.screenshot("05-marketing-automations")


def test_mall_rewards_and_gift_shipping(console: Console) -> None:
    console.open("/mall")
    console.row(".rewards-table", GIFT)
    console.button("新建奖励")
    console.field("name", NEW_REWARD, ".reward-dialog")
    console.field("points_cost", "300", ".reward-dialog")
    console.button("保存", ".reward-dialog")
    console.row(".rewards-table", NEW_REWARD)
    console.click(".el-tabs__item", "礼品发货")
    row = console.row(".fulfilments-table", "上海市 徐汇区")
    assert GIFT in row.text and NICKNAMES[0] in row.text
    console.screenshot("06-mall-fulfilments")
    console.button("标记发货", ".fulfilments-table")
    console.type(".el-message-box input", "顺丰 SF1234567890")
    console.confirm("已发货")
    console.text_of(".fulfilments-table", "没有待发货的礼品")
    console.click(".el-radio-button", "已发货")
    console.row(".fulfilments-table", "顺丰 SF1234567890")


@pytest.mark.refusals(400)
def test_program_shows_the_servers_error_at_its_field_then_saves(console: Console, stack: tuple[StoreApi, Console]) -> None:
    console.open("/program")
    console.field("tiers[2].min_growth", "500")
    console.button("保存规则")
    error = console.text_of(".el-form-item.is-error[data-field='tiers[2].min_growth'] .el-form-item__error", "递增")
    assert error == console.text_of(".field-error-alert", "tiers[2].min_growth").splitlines()[0]
    console.screenshot("07-program-error")
    console.field("tiers[2].min_growth", "5000")
    console.field("checkin.points", "8")
    console.button("保存规则")
    console.text_of(".el-message--success", "规则已保存")
    program = stack[0].call("GET", "/v1/admin/program")
    assert program["checkin"]["points"] == 8 and program["tiers"][2]["min_growth"] == 5000
    console.click(".el-radio-button", "JSON")
    text = console.element(".json textarea").get_attribute("value")
    assert '"points": 8' in text and '"automations"' in text


def test_jobs_dry_run_first_then_run(console: Console) -> None:
    console.open("/jobs")
    run = console.element("button.run")
    assert not run.is_enabled()
    console.button("试运行")
    dry = console.text_of(".run-result", "试运行")
    assert f"涉及会员 {MEMBERS_TOTAL}" in dry
    console.button("正式运行")
    console.confirm("运行")
    console.text_of(".run-result", "已运行")
    console.choose(".job-select", "checkout-expiry")  # the list is the API's (GET /v1/admin/jobs)
    console.text_of(".jobs-page", "每小时 15 分")
    assert not run.is_enabled()
    console.button("试运行")
    console.text_of(".run-result", "过期锁定")
    console.screenshot("08-jobs")


@pytest.mark.parametrize("size", [(820, 1180), (1180, 820)], ids=["ipad-portrait", "ipad-landscape"])
def test_pages_fit_an_ipad(console: Console, stack: tuple[StoreApi, Console], size: tuple[int, int]) -> None:
    console.browser.set_window_size(*size)
    console.open(f"/members/{stack[0].member_ids[0]}")
    console.text_of(".profile", PHONES[0])
    console.open("/dashboard")
    console.text_of("[data-kpi='会员总数'] .value", str(MEMBERS_TOTAL))
    width = console.browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], "the page scrolls sideways"
    folded = console.browser.execute_script("return document.querySelector('.frame-aside').offsetWidth")
    assert (folded == 64) == (size[0] < 1100)
    console.screenshot(f"09-dashboard-{size[0]}x{size[1]}")
