"""The shapes the API reads and writes, in one place: request bodies (validated with pydantic in
strict mode, so a number where a string belongs is refused) and the JSON of a user, a session and a
registration. openapi.py publishes these same models, so the document cannot drift from the code.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy.orm.attributes import set_committed_value
from wtforms.fields.core import UnboundField
from wtforms.validators import StopValidation, ValidationError

from app.accounts.forms import PASSWORD_MAX, PASSWORD_MIN, LoginForm, SignupForm
from app.accounts.models import User
from app.booking import service as booking
from app.booking.groups import group_refusal
from app.booking.models import Registration, RegistrationStatus
from app.catalog.availability import booking_refusal
from app.catalog.models import CampSession
from app.common.money import plain_amount
from app.common.time import site_zone
from app.common.validators import normalise_newlines, unstorable_text_reason
from app.questions.answers import GivenAnswer
from app.questions.models import CHOICE_SEPARATOR, YES, Answer, Question, QuestionKind
from app.questions.queries import answers_by_registration, answers_of

# --- request bodies -------------------------------------------------------------------------


def form_rules(unbound_field: UnboundField) -> Callable[[str], str]:
    """The filters and validators of a web form field, as a pydantic validator.

    The sign-up page and the API then apply one set of rules with one set of Chinese messages
    (phone normalised to 11 digits, Chinese-capable names, email syntax, password length), and a
    change to the form changes both. The validators used here only read and write `field.data`.
    """
    filters = unbound_field.kwargs.get("filters", ())
    validators = unbound_field.kwargs.get("validators", ())

    def check(value: str) -> str:
        field = SimpleNamespace(data=value, errors=[])
        for apply_filter in filters:
            field.data = apply_filter(field.data)
        try:
            for validator in validators:
                validator(None, field)
        except (ValidationError, StopValidation) as error:
            # StopValidation without a message (Optional) ends the checks without an error.
            if str(error):
                raise ValueError(str(error)) from None
        return field.data

    return check


class RequestBody(BaseModel):
    """Every string of a body is refused with 400 if it holds a control character other than
    newline and tab (CRLF is read as LF), or a lone surrogate; see `storable_text`."""

    # strict: no silent coercion of 123 to "123"; unknown keys are ignored so that an older
    # server accepts a newer client's body.
    model_config = ConfigDict(strict=True, extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def storable_text(cls, value: object) -> object:
        """Every string field, before its own rules: the web forms' check (AppForm) of what the
        database can store: no control characters (NUL above all), no lone surrogates ("\\ud800")."""
        if isinstance(value, str):
            value = normalise_newlines(value)
            reason = unstorable_text_reason(value)
            if reason:
                raise ValueError(reason)
        return value


class SignupRequest(RequestBody):
    email: Annotated[str, AfterValidator(form_rules(SignupForm.email))] = Field(
        title="邮箱", json_schema_extra={"format": "email", "maxLength": 254}, examples=["wangzhe@example.com"]
    )
    password: Annotated[str, AfterValidator(form_rules(SignupForm.password))] = Field(
        title="密码", json_schema_extra={"minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX}
    )
    name: Annotated[str, AfterValidator(form_rules(SignupForm.name))] = Field(
        title="姓名", description="与身份证一致，证书上会使用", examples=["王喆"],
        json_schema_extra={"minLength": 2, "maxLength": 30},
    )
    phone: Annotated[str, AfterValidator(form_rules(SignupForm.phone))] = Field(
        title="手机号", description="中国大陆手机号；+86、空格和连字符会被去掉，保存为 11 位数字",
        examples=["13912345678"], json_schema_extra={"minLength": 11},
    )


class TokenRequest(RequestBody):
    login: Annotated[str, AfterValidator(form_rules(LoginForm.login))] = Field(
        title="邮箱或手机号", json_schema_extra={"minLength": 1, "maxLength": 254}, examples=["13912345678"]
    )
    password: Annotated[str, AfterValidator(form_rules(LoginForm.password))] = Field(
        title="密码", json_schema_extra={"minLength": 1, "maxLength": PASSWORD_MAX}
    )


class PayRequest(RequestBody):
    login_code: str = Field(
        title="登录凭证", description="小程序 wx.login() 取得的 code（5 分钟内有效，只能用一次）：每次支付前重新获取",
        min_length=1, max_length=128, pattern=r"^[!-~]+$", examples=["0a3Xk2000m9Xq21Hpy300Q7f0n1Xk20c"],
    )


# Registration questions: each type, and the JSON value its answer takes (app/questions/answers.py).
QuestionTypeName = Literal["short_text", "long_text", "single_choice", "multiple_choice", "number", "date", "phone",
                           "email", "yes_no"]
QUESTION_TYPES: dict[str, str] = {
    QuestionKind.SHORT_TEXT: "单行文字，最多 200 字：字符串",
    QuestionKind.LONG_TEXT: "多行文字，最多 2000 字：字符串",
    QuestionKind.SINGLE_CHOICE: "单选：choices 中的一项，字符串",
    QuestionKind.MULTIPLE_CHOICE: "多选：choices 中的若干项，字符串数组",
    QuestionKind.NUMBER: "数字：数值，或数字的字符串（如 \"3.5\"、\"1,000\"）；最多 4 位小数，绝对值小于 10^12",
    QuestionKind.DATE: "日期：字符串，如 \"2026-09-17\"",
    QuestionKind.PHONE: "手机号：11 位中国大陆手机号的字符串（+86、空格和连字符会被去掉）",
    QuestionKind.EMAIL: "邮箱：字符串",
    QuestionKind.YES_NO: "是/否：布尔值 true 或 false",
}
_TYPE_FIELD = {"description": "问题类型：" + "；".join(f"{name}，{text}" for name, text in QUESTION_TYPES.items()),
               "json_schema_extra": {"x-enumDescriptions": {str(name): text for name, text in QUESTION_TYPES.items()}}}
QuestionKey = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}$")]
AnswerValue = str | bool | int | float | list[str] | None


class BookingRequest(RequestBody):
    answers: dict[QuestionKey, AnswerValue] = Field(
        default_factory=dict, title="报名问题的回答", max_length=100,
        description=(
            "{问题 id: 回答}，问题见 GET /sessions/{session_id} 的 questions，值的类型见各问题的 type。"
            "必填问题须回答（因显示条件不满足而不显示的问题除外，这类问题的回答会被忽略）；"
            "null、空字符串和空数组视为未回答。回答有误时返回 400（code: invalid_answers），"
            "fields 以 answers.<问题 id> 逐项说明。"),
        examples=[{"12": "杭州某某电子商务有限公司", "13": "小红书", "17": True}],
        # Keys other than question ids are refused (400), as the pattern says.
        json_schema_extra={"additionalProperties": False},
    )


# --- responses ------------------------------------------------------------------------------


class UserOut(BaseModel):
    id: int
    email: str | None  # None: an account staff made for a walk-in who gave only a phone number
    name: str | None
    phone: str | None


class TokenOut(BaseModel):
    token: str = Field(description="放在请求头 Authorization: Bearer <token> 中；修改密码后失效")
    expires_in: int = Field(description="有效期（秒）")


class SessionOut(BaseModel):
    id: int
    course_title: str
    course_slug: str
    label: str = Field(examples=["第12期"])
    starts_at: datetime = Field(description="北京时间，带 +08:00", examples=["2026-09-17T09:00:00+08:00"])
    ends_at: datetime
    start_date: date = Field(description="开课日期（北京时间）")
    end_date: date
    city: str
    venue: str
    address: str
    price: str = Field(pattern=r"^\d+\.\d{2}$", description="精确金额（元），字符串而非浮点数", examples=["3980.00"])
    currency: Literal["CNY"] = "CNY"
    capacity: int
    seats_left: int
    waitlist_length: int
    registration_open: bool
    refusal_reason: str | None = Field(description="不能报名的原因（中文），可以报名时为 null")


class SessionListOut(BaseModel):
    items: list[SessionOut]


class ShowIfOut(BaseModel):
    question_id: int = Field(description="排在前面的一个单选、多选或是/否问题")
    value: str = Field(description="该问题的回答为这一项（多选：选中了这一项）时才显示本题；是/否问题为 yes 或 no")


class QuestionOut(BaseModel):
    id: int
    label: str = Field(examples=["店铺类型"])
    type: QuestionTypeName = Field(**_TYPE_FIELD)
    required: bool = Field(description="必填（因显示条件不满足而不显示时不必回答）")
    help: str = Field(description="问题下方的说明，没有时为空字符串")
    choices: list[str] | None = Field(description="单选、多选题的选项，按显示顺序；其他类型为 null",
                                      examples=[["淘宝", "天猫", "抖音", "小红书", "其他"]])
    show_if: ShowIfOut | None = Field(description="显示条件：满足时才显示并询问本题；总是显示时为 null")


class SessionDetailOut(SessionOut):
    questions: list[QuestionOut] = Field(description="报名时要回答的问题，按显示顺序；没有时为空数组")
    max_group_size: int = Field(description="团体报名一次最多的参会人数；1 表示该场次不接受团体报名",
                                examples=[5])
    group_booking_open: bool = Field(
        description="此刻可以团体报名（POST /sessions/{session_id}/groups）：可以报名（registration_open），"
                    "且场次接受团体报名（max_group_size ≥ 2，不需要审核）；满员时团体可整组候补")


class AnswerOut(BaseModel):
    question_id: int | None = Field(description="问题 id；问题所属的课程或场次已删除时为 null")
    label: str = Field(description="报名时看到的问题（之后修改或删除问题不影响）")
    type: QuestionTypeName = Field(description="报名时的问题类型")
    value: str | list[str] | bool = Field(
        description="回答，与提交时同类：多选为字符串数组，是/否为布尔值，其余为字符串（数字如 \"3.5\"，"
                    "日期如 \"2026-09-17\"，手机号为 11 位数字）")
    text: str = Field(description="回答的中文写法（是 / 否；多个选项以「、」连接）")


# Every status a registration can have, as the API names it. A status the app adds and this list
# lacks would fail the answer's validation: tests/test_api_payments.py checks they agree.
RegistrationStatusName = Literal["confirmed", "waitlisted", "pending_payment", "offered", "expired", "cancelled",
                                 "pending_review", "rejected", "withdrawn"]
STATUS_DESCRIPTIONS: dict[str, str] = {
    RegistrationStatus.CONFIRMED: "已确认：名额是本人的（付费场次已付清）",
    RegistrationStatus.WAITLISTED: "候补中：场次已满，按顺序等待（位置见 waitlist_position）",
    RegistrationStatus.PENDING_PAYMENT: "待支付：付费场次的名额为本人保留到 pay_by，须在此前支付 amount，"
                                        "逾期名额释放（expired）",
    RegistrationStatus.OFFERED: "候补名额待支付：有人退出，空出的名额按候补顺序给了本人，为本人保留到 pay_by，"
                                "须在此前支付 amount，逾期名额给下一位候补（expired）",
    RegistrationStatus.EXPIRED: "已过期：保留的名额未在 pay_by 前付款，已释放；如仍想参加，请重新报名",
    RegistrationStatus.CANCELLED: "已取消：本人或工作人员取消；已付的钱按退款规则原路退回（amount_refunded）",
    RegistrationStatus.PENDING_REVIEW: "待审核：需要审核的场次的报名申请，不占名额、不在候补中；"
                                       "审核通过后按正常报名分配名额（付费场次为 pending_payment）"
                                       "或进入候补（waitlisted），未通过为 rejected；"
                                       "审核前可撤回（DELETE，成为 withdrawn）",
    RegistrationStatus.REJECTED: "未通过：报名申请未通过审核（原因见 review_message）",
    RegistrationStatus.WITHDRAWN: "已撤回：本人在审核前撤回了报名申请",
}
# Money as the API writes it: exact yuan, a string, never a float.
Amount = Annotated[str, Field(pattern=r"^\d+\.\d{2}$", examples=["3980.00"])]


class RegistrationOut(BaseModel):
    id: int
    session_id: int
    group_id: int | None = Field(description="团体报名的 id：由代报人一起报名的参会人的报名；自己报名的为 null")
    status: RegistrationStatusName = Field(
        description="报名状态：" + "；".join(f"{name}，{text}" for name, text in STATUS_DESCRIPTIONS.items()),
        json_schema_extra={"x-enumDescriptions": {str(name): text for name, text in STATUS_DESCRIPTIONS.items()}},
    )
    waitlist_position: int | None = Field(
        description="候补第几位：此刻在候补队列中的位置（1 为下一个转正；"
                    "前面有人离开时变小，不是加入时领到的号），非候补时为 null")
    amount: Amount | None = Field(
        description="待支付金额（元）：pending_payment 或 offered 时须在 pay_by 前支付的钱（POST "
                    "/registrations/{registration_id}/pay 按它下单）；其他状态为 null")
    pay_by: datetime | None = Field(
        description="付款截止时间（北京时间，+08:00）：pending_payment 或 offered 时名额保留到此刻；其他状态为 null")
    amount_due: Amount | None = Field(
        description="应付金额（元）：保留名额时的价格，之后场次调价不影响；免费场次为 null")
    amount_paid: Amount = Field(description="已付金额（元），含已退回的部分；未付款为 \"0.00\"")
    amount_refunded: Amount = Field(description="已退或正在退回的金额（元）；没有退款为 \"0.00\"")
    paid_at: datetime | None = Field(description="付款确认名额的时间（北京时间）；没有付款确认时为 null")
    review_message: str | None = Field(
        description="审核留言：报名申请审核通过或未通过时工作人员写给本人的话；没有时为 null")
    created_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    session: SessionOut
    answers: list[AnswerOut] = Field(description="报名时对报名问题的回答，按提问顺序；没有时为空数组")


class RegistrationListOut(BaseModel):
    items: list[RegistrationOut]


class CancellationOut(RegistrationOut):
    refund_amount: Amount = Field(
        description="这次取消按课程退款规则退还的金额（元），原路退回，到账时间以支付渠道为准；"
                    "没有付款或按规则不退时为 \"0.00\"")


class PaymentParametersOut(BaseModel):
    """What wx.requestPayment takes, signed by the merchant: pass it as it is."""

    timeStamp: str = Field(description="时间戳（秒），字符串", examples=["1782884096"])  # noqa: N815 (WeChat's names)
    nonceStr: str = Field(description="随机字符串", examples=["5K8264ILTKCH16CQ2502SI8ZNMTM67VS"])  # noqa: N815
    package: str = Field(pattern=r"^prepay_id=", description="统一下单的 prepay_id",
                         examples=["prepay_id=wx201410272009395522657a690389285100"])
    signType: Literal["RSA"] = Field(description="签名方式")  # noqa: N815
    paySign: str = Field(description="商户私钥对 appId、timeStamp、nonceStr、package 的签名（Base64）")  # noqa: N815


class ErrorOut(BaseModel):
    code: str = Field(description="稳定的错误代码，例如 session_not_found、registration_closed、invalid_request")
    message: str = Field(description="给用户看的中文说明")
    fields: dict[str, str] | None = Field(default=None, description="逐项的输入错误：{字段名: 说明}")
    seats_left: int | None = Field(default=None,
                                   description="剩余名额不够整个团体时（not_enough_seats）：此刻剩余的名额")


# --- serialising ----------------------------------------------------------------------------


def _local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(site_zone()) if moment is not None else None


def user_json(user: User) -> dict:
    return UserOut(id=user.id, email=user.email, name=user.name, phone=user.phone).model_dump(mode="json")


def session_out(camp: CampSession, now: datetime) -> SessionOut:
    starts_at, ends_at = _local(camp.starts_at), _local(camp.ends_at)
    refusal = booking_refusal(camp, now)
    return SessionOut(
        id=camp.id,
        course_title=camp.course.title,
        course_slug=camp.course.slug,
        label=camp.label,
        starts_at=starts_at,
        ends_at=ends_at,
        start_date=starts_at.date(),
        end_date=ends_at.date(),
        city=camp.city,
        venue=camp.venue,
        address=camp.address,
        price=plain_amount(camp.price),
        capacity=camp.capacity,
        seats_left=camp.seats_left,
        waitlist_length=camp.waitlisted_count,
        # Derived from the one rule's answer so the two can never disagree.
        registration_open=refusal is None,
        refusal_reason=None if refusal is None else str(refusal.message),
    )


def question_out(question: Question) -> QuestionOut:
    show_if = None
    if question.condition_question_id is not None:
        show_if = ShowIfOut(question_id=question.condition_question_id, value=question.condition_value)
    return QuestionOut(id=question.id, label=question.label, type=question.kind.value, required=question.required,
                       help=question.help_text, choices=list(question.choices) if question.kind.has_choices else None,
                       show_if=show_if)


def session_detail_json(camp: CampSession, questions: list[Question], now: datetime) -> dict:
    """GET /sessions/<id>: the session, the questions its booking asks, and its group bookings."""
    session = session_out(camp, now)
    return SessionDetailOut(**session.model_dump(), questions=[question_out(q) for q in questions],
                            max_group_size=camp.max_group_size,
                            group_booking_open=session.registration_open and group_refusal(camp) is None,
                            ).model_dump(mode="json")


def answer_out(answer: Answer | GivenAnswer) -> AnswerOut:
    """A stored answer (or one just given) as the API shows it: the value in its request type."""
    kind, value = str(answer.kind), answer.value
    if kind == QuestionKind.MULTIPLE_CHOICE:
        typed: str | list[str] | bool = value.split(CHOICE_SEPARATOR)
    elif kind == QuestionKind.YES_NO:
        typed = value == YES
    else:
        typed = value
    return AnswerOut(question_id=answer.question_id, label=answer.label, type=kind, value=typed, text=answer.text)


def session_list_json(camps: list[CampSession], now: datetime) -> dict:
    return SessionListOut(items=[session_out(camp, now) for camp in camps]).model_dump(mode="json")


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else plain_amount(value)


def registration_fields(registration: Registration, now: datetime, waitlist_position: int | None,
                        answers: list[Answer] | list[GivenAnswer]) -> dict:
    """A registration's fields of RegistrationOut. `waitlist_position`: its place in the queue, and
    `answers`: its answers, both read by the caller (for a list, all at once; for a booking, what
    the booking itself wrote)."""
    held = registration.status.is_hold
    return {
        "id": registration.id,
        "session_id": registration.session_id,
        "group_id": registration.group_id,
        "status": registration.status.value,
        "waitlist_position": waitlist_position,
        "amount": plain_amount(registration.amount_outstanding) if held else None,
        "pay_by": _local(registration.hold_expires_at) if held else None,
        "amount_due": _amount(registration.amount_due),
        "amount_paid": plain_amount(registration.amount_paid),
        "amount_refunded": plain_amount(registration.amount_refunded),
        "paid_at": _local(registration.paid_at),
        "review_message": registration.review_message,
        "created_at": _local(registration.created_at),
        "confirmed_at": _local(registration.confirmed_at),
        "cancelled_at": _local(registration.cancelled_at),
        "session": session_out(registration.session, now),
        "answers": [answer_out(answer) for answer in answers],
    }


def registration_out(registration: Registration, now: datetime, waitlist_position: int | None,
                     answers: list[Answer] | list[GivenAnswer]) -> RegistrationOut:
    return RegistrationOut(**registration_fields(registration, now, waitlist_position, answers))


def registration_json(registration: Registration, now: datetime) -> dict:
    return registration_out(registration, now, booking.waitlist_position(registration),
                            answers_of(registration.id)).model_dump(mode="json")


def booking_json(outcome: booking.BookingOutcome, now: datetime) -> dict:
    """The answer to a booking (the camp rush's hot path): no queries beyond the booking's own."""
    registration = outcome.registration
    if outcome.created:
        # A new booking's statements return no money columns (nothing is read back, and reading
        # one would fail): the new row has their defaults, nothing paid or refunded yet.
        for column, value in (("amount_paid", Decimal("0")), ("amount_refunded", Decimal("0")), ("paid_at", None),
                              ("review_message", None), ("group_id", None)):
            set_committed_value(registration, column, value)
    # A new booking's answers are what it wrote: read back only for a repeated booking.
    answers = outcome.answers if outcome.answers is not None else answers_of(registration.id)
    return registration_out(registration, now, outcome.waitlist_position, answers).model_dump(mode="json")


def cancellation_json(cancelled: Registration, refund_amount: Decimal, now: datetime) -> dict:
    """The answer to a cancellation: the registration, and the refund its course's policy gave."""
    fields = registration_fields(cancelled, now, booking.waitlist_position(cancelled), answers_of(cancelled.id))
    return CancellationOut(**fields, refund_amount=plain_amount(refund_amount)).model_dump(mode="json")


def payment_parameters_json(parameters: dict[str, str]) -> dict:
    return PaymentParametersOut(**parameters).model_dump(mode="json")


def registration_list_json(registrations: list[Registration], now: datetime) -> dict:
    positions = booking.waitlist_positions(registrations)
    answers = answers_by_registration([r.id for r in registrations])
    return RegistrationListOut(
        items=[registration_out(r, now, positions.get(r.id), answers.get(r.id, [])) for r in registrations]
    ).model_dump(mode="json")


def error_json(code: str, message: str, fields: dict[str, str] | None = None, seats_left: int | None = None) -> dict:
    return ErrorOut(code=code, message=message, fields=fields, seats_left=seats_left).model_dump(
        mode="json", exclude_none=True)
