"""The group payment endpoints' part of the OpenAPI document (app/api/group_payments.py), merged
into it by openapi.py: its paths, and the models their answers use."""
from __future__ import annotations

from collections.abc import Callable

from app.api.group_payments import GroupAttendeePaymentOut, GroupPaymentOut

MODELS = [(GroupAttendeePaymentOut, "serialization"), (GroupPaymentOut, "serialization")]


def paths(json: Callable[[str, str], dict], error: Callable[[str], dict], id_parameter: Callable[[str, str], dict],
          body: Callable[[str], dict], common: dict[str, dict]) -> dict:
    """The paths, built with openapi.py's helpers (`common`: its shared 401/429/500/400 answers)."""
    group_id = id_parameter("group_id", "团体报名 id")
    not_mine = error("找不到这个团体报名，或报名人不是本人（group_not_found）")
    bearer = [{"bearerAuth": []}]
    return {
        "/groups/{group_id}/payment": {
            "get": {
                "operationId": "getGroupPayment",
                "summary": "团体报名的付款情况：待支付合计、截止时间、每位参会人",
                "description": "只有报名人（下单的人）可以查看。已过保留期的名额先释放，再返回。",
                "tags": ["payments"],
                "security": bearer,
                "parameters": [group_id],
                "responses": {
                    "200": json("GroupPaymentOut", "团体的付款情况"),
                    "401": common["unauthorized"],
                    "404": not_mine,
                    "500": common["server_error"],
                },
            }
        },
        "/groups/{group_id}/pay": {
            "post": {
                "operationId": "payGroup",
                "summary": "在小程序中为全组一次性付款：返回 wx.requestPayment 的参数",
                "description": (
                    "报名人为团体中仍保留着名额（pending_payment 或 offered、未过 pay_by）的参会人一次付清，"
                    "金额为 GroupPaymentOut.amount。先调用 wx.login() 取得 code，作为 login_code 提交；返回的五个"
                    "参数原样传给 wx.requestPayment。付款结果以微信支付通知为准：支付完成后轮询 GET "
                    "/groups/{group_id}/payment，或调用 POST /groups/{group_id}/pay/check，直到 paid 为 true。"
                    "付款到账时某位参会人的名额已释放或已取消，其份额原路退回，其他人照常确认。"
                ),
                "tags": ["payments"],
                "security": bearer,
                "parameters": [group_id],
                "requestBody": body("PayRequest"),
                "responses": {
                    "200": json("PaymentParametersOut", "wx.requestPayment 的参数"),
                    "400": common["invalid"],
                    "401": common["unauthorized"],
                    "404": not_mine,
                    "409": error(
                        "没有待支付的款项（nothing_to_pay：已付清、候补中或已取消）；支付期限已过，名额已释放"
                        "（hold_expired）；本站未开通小程序微信支付（payment_method_unavailable）；有参会人刚被调整"
                        "到其他场次（registration_changed）"
                    ),
                    "422": error("微信不接受这个登录凭证：无效、已用过或已过期，请重新调用 wx.login()"
                                 "（wechat_login_code_invalid）"),
                    "429": common["rate_limited"],
                    "500": common["server_error"],
                    "503": error("微信支付暂时无法连接，名额仍然保留，请稍后重试（payment_service_unavailable）"),
                },
            }
        },
        "/groups/{group_id}/pay/check": {
            "post": {
                "operationId": "checkGroupPayment",
                "summary": "付款后确认：向微信支付查询团体的订单，记下已付的款项，返回付款情况",
                "description": "wx.requestPayment 成功后调用：微信的付款通知可能晚到，这里主动查询一次；"
                               "微信支付暂时无法连接时照常返回。",
                "tags": ["payments"],
                "security": bearer,
                "parameters": [group_id],
                "responses": {
                    "200": json("GroupPaymentOut", "查询之后的付款情况"),
                    "401": common["unauthorized"],
                    "404": not_mine,
                    "429": common["rate_limited"],
                    "500": common["server_error"],
                },
            }
        },
    }
