"""GET /api/v1/openapi.json: an OpenAPI 3.1 description of the API.

Schemas come from the pydantic models the views use (schemas.py), so bodies and responses cannot
drift from the code; the paths are written out here, and a test checks that every API route is in.
"""
from __future__ import annotations

import functools

from pydantic.json_schema import models_json_schema

from app.api import bp, openapi_group_payments
from app.api.auth import token_max_age
from app.api.group_schemas import AttendeeIn, GroupBookingRequest, GroupListOut, GroupOut
from app.api.schemas import (
    BookingRequest,
    CancellationOut,
    ErrorOut,
    PaymentParametersOut,
    PayRequest,
    RegistrationListOut,
    RegistrationOut,
    SessionDetailOut,
    SessionListOut,
    SessionOut,
    SignupRequest,
    TokenOut,
    TokenRequest,
    UserOut,
)
from app.api.staff_roster import RosterOut
from app.common.routing import MAX_ID
from app.roster.queries import MAX_PER_PAGE, PER_PAGE, STATUS_FILTERS

_REF = "#/components/schemas/{model}"
_BEARER = [{"bearerAuth": []}]


def _ref(name: str) -> dict:
    return {"$ref": _REF.format(model=name)}


def _json(schema_name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema_name)}}}


def _error(description: str) -> dict:
    return _json("ErrorOut", description)


def _id_parameter(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
    }


def _body(schema_name: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema_name)}}}


_INVALID = _error("请求体不是 JSON 对象、缺少字段、类型不对或内容不合规则（code: invalid_request，fields 逐项说明）")
_UNAUTHORIZED = _error("缺少令牌（authentication_required），或令牌无效、过期、已因修改密码而失效（invalid_token）")
_RATE_LIMITED = _error("请求太频繁（rate_limited）")
_SERVER_ERROR = _error("服务器内部错误（internal_error）")
_REGISTRATION_ID = _id_parameter("registration_id", "报名 id")
_NOT_MINE = _error("找不到这条报名，或不是本人的（registration_not_found）")

_GROUP_ID = _id_parameter("group_id", "团体报名 id")
_NOT_MY_GROUP = _error("找不到这个团体报名，或不是本人代报的（group_not_found）")
# 团体报名 (app/api/groups.py).
_GROUP_PATHS: dict = {
    "/sessions/{session_id}/groups": {
        "post": {
            "operationId": "bookGroup",
            "summary": "团体报名：为多位参会人一起报名，全部有名额或一个也不占",
            "description": (
                "登录的人（代报人，可以不参加）为 2 位以上参会人各报一个名额：场次的 group_booking_open "
                "为 true 时可用，人数不超过 max_group_size。每位参会人各有一条报名和电子票，"
                "按手机号找到其账号或为其新建账号。"
                "剩余名额够全组时全部确认（付费场次为 pending_payment，名额保留到 pay_by，由代报人付款）；"
                "不够时一个也不占，返回 409 not_enough_seats 及 seats_left，可减少人数重试，或带 "
                "join_waitlist: true 整组候补。之后代报人可以取消某位参会人（DELETE /registrations/{registration_id}）"
                "或换人。"
            ),
            "tags": ["groups"],
            "security": _BEARER,
            "parameters": [_id_parameter("session_id", "场次 id")],
            "requestBody": _body("GroupBookingRequest"),
            "responses": {
                "201": _json("GroupOut", "新的团体报名：各参会人的报名都是 confirmed、pending_payment，或（整组候补时）"
                                         "waitlisted"),
                "400": _error(
                    "请求体不是 JSON 对象或格式不对，或参会人不是 2–50 位（invalid_request）；参会人信息有误，"
                    "如姓名、手机号、邮箱、报名问题的回答，或此人已报名这个场次（invalid_attendees，fields 以 "
                    "attendees.<序号>.<字段> 逐项说明）；人数超过场次的 max_group_size（group_size_invalid）"
                ),
                "401": _UNAUTHORIZED,
                "404": _error("场次不存在（session_not_found）或未发布（session_not_published）"),
                "409": _error(
                    "剩余名额不够全组（not_enough_seats，seats_left 为此刻剩余的名额）；场次不接受团体报名或需要审核"
                    "（group_booking_not_offered）；报名尚未开始（registration_not_open_yet）、报名已截止"
                    "（registration_closed）、已开课（session_started）；场次正在调整，稍后重试（session_changing）"
                ),
                "429": _RATE_LIMITED,
                "500": _SERVER_ERROR,
            },
        }
    },
    "/me/groups": {
        "get": {
            "operationId": "listMyGroups",
            "summary": "我代报的团体报名，开课晚的在前",
            "tags": ["groups"],
            "security": _BEARER,
            "responses": {
                "200": _json("GroupListOut", "团体报名列表"),
                "401": _UNAUTHORIZED,
                "500": _SERVER_ERROR,
            },
        }
    },
    "/groups/{group_id}": {
        "get": {
            "operationId": "getMyGroup",
            "summary": "我代报的一个团体报名，含每位参会人的报名状态和电子票号",
            "tags": ["groups"],
            "security": _BEARER,
            "parameters": [_GROUP_ID],
            "responses": {
                "200": _json("GroupOut", "团体报名"),
                "401": _UNAUTHORIZED,
                "404": _NOT_MY_GROUP,
                "500": _SERVER_ERROR,
            },
        }
    },
    "/groups/{group_id}/registrations/{registration_id}/replace": {
        "post": {
            "operationId": "replaceAttendee",
            "summary": "换人：把一位参会人的名额给另一个人",
            "description": (
                "取消截止时间之前，代报人可以把团体中一位参会人的名额换给另一个人：名额、候补位置和已付的钱不变，"
                "新的参会人有新的电子票号，原来的票号作废；双方都会收到邮件。请求体为新的参会人，"
                "有误时 fields 以 name、phone、email、answers.<问题 id> 逐项说明。"
            ),
            "tags": ["groups"],
            "security": _BEARER,
            "parameters": [_GROUP_ID, _REGISTRATION_ID],
            "requestBody": _body("AttendeeIn"),
            "responses": {
                "200": _json("GroupOut", "换人之后的团体报名"),
                "400": _error("请求体不是 JSON 对象或格式不对（invalid_request）；新参会人的信息有误，"
                              "或已报名这个场次，或就是现在的参会人（invalid_attendees，fields 逐项说明）"),
                "401": _UNAUTHORIZED,
                "404": _error("找不到这个团体报名，或不是本人代报的（group_not_found）；这条报名不属于这个团体"
                              "（registration_not_found）"),
                "409": _error("已过取消截止时间，不能再换人（replacement_closed）；这位参会人的报名已经取消或已过期"
                              "（already_cancelled）；报名刚被调整到其他场次（registration_changed）"),
                "429": _RATE_LIMITED,
                "500": _SERVER_ERROR,
            },
        }
    },
}

_PATHS: dict = {
    "/auth/signup": {
        "post": {
            "operationId": "signup",
            "summary": "注册学员账号",
            "description": "校验规则与网页注册表单相同：邮箱格式、11 位大陆手机号、姓名、密码 8–128 位。",
            "tags": ["auth"],
            "requestBody": _body("SignupRequest"),
            "responses": {
                "201": _json("UserOut", "已创建的账号"),
                "400": _INVALID,
                "409": _error("邮箱已注册（email_taken）或手机号已被使用（phone_taken）"),
                "429": _RATE_LIMITED,
                "500": _SERVER_ERROR,
            },
        }
    },
    "/auth/token": {
        "post": {
            "operationId": "issueToken",
            "summary": "用邮箱或手机号和密码换取令牌",
            "tags": ["auth"],
            "requestBody": _body("TokenRequest"),
            "responses": {
                "200": _json("TokenOut", "访问令牌"),
                "400": _INVALID,
                "401": _error("账号或密码不正确（invalid_credentials）"),
                "403": _error("账号已停用（account_disabled）"),
                "429": _RATE_LIMITED,
                "500": _SERVER_ERROR,
            },
        }
    },
    "/sessions": {
        "get": {
            "operationId": "listSessions",
            "summary": "即将开课的场次（已发布、未结束），按开课时间排序",
            "tags": ["sessions"],
            "responses": {"200": _json("SessionListOut", "场次列表"), "500": _SERVER_ERROR},
        }
    },
    "/sessions/{session_id}": {
        "get": {
            "operationId": "getSession",
            "summary": "一个已发布的场次，含报名时要回答的问题（questions）",
            "tags": ["sessions"],
            "parameters": [_id_parameter("session_id", "场次 id")],
            "responses": {
                "200": _json("SessionDetailOut", "场次及其报名问题"),
                "404": _error("场次不存在或未发布（session_not_found）"),
                "500": _SERVER_ERROR,
            },
        }
    },
    "/sessions/{session_id}/registrations": {
        "post": {
            "operationId": "bookSession",
            "summary": "报名；满员时加入候补",
            "description": (
                "场次有报名问题（GET /sessions/{session_id} 的 questions）时，请求体的 answers 带上回答；"
                "没有问题的场次可以不带请求体。重复报名（连点、重试）返回已有的报名记录，状态码 200，"
                "不会再次保存回答。"
            ),
            "tags": ["registrations"],
            "security": _BEARER,
            "parameters": [_id_parameter("session_id", "场次 id")],
            "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("BookingRequest")}}},
            "responses": {
                "201": _json("RegistrationOut", "新的报名：confirmed（已确认）、waitlisted（候补），或付费场次的 "
                                                "pending_payment（名额保留到 pay_by，须在此前支付 amount）；"
                                                "需要审核的场次为 pending_review（报名申请，待审核，不占名额）"),
                "200": _json("RegistrationOut", "本人已有的有效报名或待审核的申请"),
                "400": _error(
                    "请求体不是 JSON 对象或格式不对（invalid_request）；报名问题的回答缺少或有误（invalid_answers），"
                    "fields 以 answers.<问题 id> 逐项说明"
                ),
                "401": _UNAUTHORIZED,
                "404": _error("场次不存在（session_not_found）或未发布（session_not_published）"),
                "409": _error(
                    "不能报名：报名尚未开始（registration_not_open_yet）、报名已截止（registration_closed）、"
                    "已开课（session_started）；场次正在调整，稍后重试（session_changing）"
                ),
                "422": _error("请先在个人资料中填写姓名和手机号（profile_incomplete）"),
                "429": _RATE_LIMITED,
                "500": _SERVER_ERROR,
            },
        }
    },
    "/me": {
        "get": {
            "operationId": "getMe",
            "summary": "当前登录的账号",
            "tags": ["auth"],
            "security": _BEARER,
            "responses": {
                "200": _json("UserOut", "账号信息"),
                "401": _UNAUTHORIZED,
                "500": _SERVER_ERROR,
            },
        }
    },
    "/me/registrations": {
        "get": {
            "operationId": "listMyRegistrations",
            "summary": "我的报名，含已取消的，最新的在前",
            "tags": ["registrations"],
            "security": _BEARER,
            "responses": {
                "200": _json("RegistrationListOut", "报名列表"),
                "401": _UNAUTHORIZED,
                "500": _SERVER_ERROR,
            },
        }
    },
    "/registrations/{registration_id}": {
        "get": {
            "operationId": "getMyRegistration",
            "summary": "本人的一条报名（付款后轮询它，直到 status 变为 confirmed）",
            "tags": ["registrations"],
            "security": _BEARER,
            "parameters": [_REGISTRATION_ID],
            "responses": {
                "200": _json("RegistrationOut", "报名"),
                "401": _UNAUTHORIZED,
                "404": _NOT_MINE,
                "500": _SERVER_ERROR,
            },
        },
        "delete": {
            "operationId": "cancelRegistration",
            "summary": "取消本人的报名；空出的名额自动给候补第一位；已付的钱按课程退款规则原路退回。"
                       "待审核的报名申请（pending_review）随时可撤回（status: withdrawn）",
            "tags": ["registrations"],
            "security": _BEARER,
            "parameters": [_REGISTRATION_ID],
            "responses": {
                "200": _json("CancellationOut", "已取消的报名（status: cancelled）或已撤回的申请（withdrawn），"
                                                "refund_amount 为这次退款的金额"),
                "401": _UNAUTHORIZED,
                "404": _NOT_MINE,
                "409": _error("已过取消截止时间（cancellation_closed）、已经取消（already_cancelled），"
                              "或报名刚被调整到其他场次（registration_changed）"),
                "500": _SERVER_ERROR,
            },
        },
    },
    "/registrations/{registration_id}/pay": {
        "post": {
            "operationId": "payRegistration",
            "summary": "在小程序中支付保留的名额：返回 wx.requestPayment 的参数",
            "description": (
                "用于 pending_payment 和 offered 的报名，须在 pay_by 之前。先调用 wx.login() 取得 code，"
                "作为 login_code 提交；返回的五个参数原样传给 wx.requestPayment。付款结果以微信支付通知为准："
                "支付完成后轮询 GET /registrations/{registration_id}，或调用 POST "
                "/registrations/{registration_id}/pay/check，直到 status 为 confirmed。"
                "每次调用都会新开一笔订单，金额为 amount。"
            ),
            "tags": ["payments"],
            "security": _BEARER,
            "parameters": [_REGISTRATION_ID],
            "requestBody": _body("PayRequest"),
            "responses": {
                "200": _json("PaymentParametersOut", "wx.requestPayment 的参数"),
                "400": _INVALID,
                "401": _UNAUTHORIZED,
                "404": _NOT_MINE,
                "409": _error(
                    "没有待支付的款项（nothing_to_pay：已付清、候补中、已取消或免费场次）；支付期限已过，名额已释放"
                    "（hold_expired）；本站未开通小程序微信支付（payment_method_unavailable）；报名刚被调整到其他场次"
                    "（registration_changed）"
                ),
                "422": _error(
                    "微信不接受这个登录凭证：无效、已用过或已过期，请重新调用 wx.login()（wechat_login_code_invalid）"
                ),
                "429": _RATE_LIMITED,
                "500": _SERVER_ERROR,
                "503": _error("微信支付暂时无法连接，名额仍然保留，请稍后重试（payment_service_unavailable）"),
            },
        }
    },
    "/registrations/{registration_id}/pay/check": {
        "post": {
            "operationId": "checkPayment",
            "summary": "付款后确认：向微信支付查询本报名的订单，记下已付的款项，返回报名",
            "description": (
                "wx.requestPayment 成功后调用：微信的付款通知可能晚到，这里主动查询一次。报名仍为待支付时"
                "（status 为 pending_payment 或 offered），稍后再试；微信支付暂时无法连接时照常返回报名。"
            ),
            "tags": ["payments"],
            "security": _BEARER,
            "parameters": [_REGISTRATION_ID],
            "responses": {
                "200": _json("RegistrationOut", "查询之后的报名"),
                "401": _UNAUTHORIZED,
                "404": _NOT_MINE,
                "409": _error("本站已停用这笔订单的支付方式（payment_method_unavailable）"),
                "429": _RATE_LIMITED,
                "500": _SERVER_ERROR,
            },
        }
    },
    **_GROUP_PATHS,
    "/staff/sessions/{session_id}/registrations": {
        "get": {
            "operationId": "sessionRoster",
            "summary": "场次名单（工作人员、管理员）：报名、候补、取消的人，付款和报名问题的回答",
            "description": (
                "与网页名单同样的筛选和顺序：已确认在前，然后是保留待支付的、候补（按顺序）、其余。"
                "answers 是每人对报名问题的回答（报名时的问题与选项）。学员调用返回 403。"),
            "tags": ["staff"],
            "security": _BEARER,
            "parameters": [
                _id_parameter("session_id", "场次 id"),
                {"name": "status", "in": "query", "required": False,
                 "description": "all（默认）、confirmed、waitlisted、cancelled",
                 "schema": {"type": "string", "enum": list(STATUS_FILTERS), "default": "all"}},
                {"name": "q", "in": "query", "required": False,
                 "description": "搜索：姓名（含拼音）、手机号、邮箱或票码",
                 "schema": {"type": "string", "maxLength": 100}},
                {"name": "page", "in": "query", "required": False, "description": "页码，从 1 起",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}},
                {"name": "per_page", "in": "query", "required": False, "description": "每页条数（最多 200）",
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": PER_PAGE}},
            ],
            "responses": {
                "200": _json("RosterOut", "这一页的报名"),
                "400": _error("查询参数有误（invalid_request，fields 逐项说明）"),
                "401": _UNAUTHORIZED,
                "403": _error("不是工作人员或管理员（forbidden）"),
                "404": _error("场次不存在（session_not_found）"),
                "500": _SERVER_ERROR,
            },
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "本文档",
            "tags": ["meta"],
            "responses": {"200": {"description": "OpenAPI 3.1 文档", "content": {"application/json": {}}}},
        }
    },
}


@functools.cache
def _component_schemas() -> dict:
    _, schema = models_json_schema(
        [
            (SignupRequest, "validation"),
            (TokenRequest, "validation"),
            (PayRequest, "validation"),
            (BookingRequest, "validation"),
            (GroupBookingRequest, "validation"),
            (AttendeeIn, "validation"),
            (UserOut, "serialization"),
            (TokenOut, "serialization"),
            (SessionOut, "serialization"),
            (SessionListOut, "serialization"),
            (SessionDetailOut, "serialization"),
            (RegistrationOut, "serialization"),
            (RegistrationListOut, "serialization"),
            (CancellationOut, "serialization"),
            (PaymentParametersOut, "serialization"),
            (GroupOut, "serialization"),
            (GroupListOut, "serialization"),
            (ErrorOut, "serialization"),
            *openapi_group_payments.MODELS,
            (RosterOut, "serialization"),
        ],
        ref_template=_REF,
    )
    return schema["$defs"]


def build_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "电商成长学院报名 API",
            "version": "1.0.0",
            "description": (
                "供微信小程序使用。需要登录的接口在请求头中带 Authorization: Bearer <token>（由 "
                "POST /auth/token 取得）。所有错误都返回 JSON：{\"code\": 稳定的错误代码, \"message\": "
                "中文说明}，输入错误另有 fields。时间为北京时间（+08:00），金额为字符串（元）。"
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "tags": [
            {"name": "auth", "description": "注册与登录"},
            {"name": "sessions", "description": "开课场次"},
            {"name": "registrations", "description": "报名、候补与取消"},
            {"name": "payments", "description": "付费场次的支付（微信小程序）"},
            {"name": "groups", "description": "团体报名：代报人为多位参会人一起报名、换人"},
            {"name": "staff", "description": "工作人员与管理员：场次名单"},
            {"name": "meta", "description": "关于本 API"},
        ],
        "paths": {**_PATHS, **openapi_group_payments.paths(
            _json, _error, _id_parameter, _body,
            {"invalid": _INVALID, "unauthorized": _UNAUTHORIZED, "rate_limited": _RATE_LIMITED,
             "server_error": _SERVER_ERROR})},
        "components": {
            "schemas": _component_schemas(),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        f"POST /auth/token 返回的令牌，有效期 {token_max_age() // 86400} 天；修改或重置密码后失效"
                    ),
                }
            },
        },
    }


@bp.get("/openapi.json")
def openapi_document():
    return build_document()
