from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from app.common.forms import AppForm

_DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _at_most(n: int) -> Length:
    return Length(max=n, message=_l("最多 %(n)s 个字", n=n))




def _datetime_field(label, required: bool = False) -> DateTimeLocalField:
    validators = [InputRequired(_l("请选择时间"))] if required else [Optional()]
    return DateTimeLocalField(label, format=_DATETIME_FORMAT, validators=validators)


class CourseForm(AppForm):
    title = StringField(_l("课程名称"), validators=[DataRequired(_l("请填写课程名称")), _at_most(120)])
    slug = StringField(
        _l("链接名"),
        validators=[
            Optional(),
            _at_most(80),
            Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message=_l("只能使用小写字母、数字和连字符，例如 xiaohongshu-camp")),
        ],
        description=_l("留空则根据课程名称的拼音自动生成"),
    )
    platform = StringField(_l("平台"), validators=[_at_most(20)],
                           description=_l("如 小红书、抖音、淘宝天猫、私域"))
    duration_label = StringField(_l("时长"), validators=[_at_most(20)],
                                 description=_l("如 3天2夜"))
    summary = TextAreaField(_l("课程简介"), validators=[_at_most(5000)])
    outcomes = TextAreaField(_l("你将学到"), validators=[_at_most(5000)],
                             description=_l("每行一条"))
    audience = TextAreaField(_l("适合人群"), validators=[_at_most(5000)],
                             description=_l("每行一条"))
    hours_of_study = IntegerField(
        _l("学时（印在结业证书上）"), default=24,
        validators=[Optional(), NumberRange(min=1, max=1000, message=_l("学时应在 1 到 1000 之间"))],
        description=_l("留空为 24 学时"),
    )
    min_attendance_days = IntegerField(
        _l("结业所需出勤天数"),
        validators=[Optional(), NumberRange(min=1, max=60, message=_l("天数应在 1 到 60 之间"))],
        description=_l("留空表示需要全勤（每一天都签到）"),
    )
    # The refund policy of its paid sessions (app/payments/policy.py).
    refund_full_days = IntegerField(
        _l("开课前多少天取消可全额退款"), default=7,
        validators=[Optional(), NumberRange(min=0, max=365, message=_l("天数应在 0 到 365 之间"))],
        description=_l("留空表示没有全额退款"),
    )
    refund_partial_days = IntegerField(
        _l("开课前多少天取消可部分退款"), default=3,
        validators=[Optional(), NumberRange(min=0, max=365, message=_l("天数应在 0 到 365 之间"))],
        description=_l("留空表示没有部分退款"),
    )
    refund_partial_percent = IntegerField(
        _l("部分退款比例（%）"), default=50,
        validators=[Optional(), NumberRange(min=0, max=100, message=_l("比例应在 0 到 100 之间"))],
        description=_l("留空为 50%"),
    )
    is_published = BooleanField(_l("公开（在课程列表中显示）"))
    submit = SubmitField(_l("保存"))

    def validate_refund_partial_days(self, field) -> None:
        full = self.refund_full_days.data
        if field.data is not None and full is not None and field.data >= full:
            raise ValidationError(_l("部分退款的天数应少于全额退款的天数"))


class SessionForm(AppForm):
    label = StringField(_l("期数"), validators=[_at_most(60)], description=_l("如 第12期"))
    starts_at = _datetime_field(_l("开课时间"), required=True)
    ends_at = _datetime_field(_l("结课时间"), required=True)
    city = StringField(_l("城市"), validators=[DataRequired(_l("请填写城市")), _at_most(40)])
    venue = StringField(_l("场地"), validators=[DataRequired(_l("请填写场地")), _at_most(120)])
    address = StringField(_l("详细地址"), validators=[_at_most(200)])
    price = DecimalField(
        _l("价格（元）"), places=2,
        validators=[
            InputRequired(_l("请填写价格")),
            NumberRange(min=0, max=99_999_999, message=_l("价格应在 0 到 99,999,999 元之间")),
        ],
    )
    capacity = IntegerField(
        _l("名额"),
        validators=[
            InputRequired(_l("请填写名额")),
            NumberRange(min=0, max=100_000, message=_l("名额应在 0 到 100,000 之间")),
        ],
    )
    registration_opens_at = _datetime_field(_l("开始报名时间"))
    registration_closes_at = _datetime_field(_l("截止报名时间"))
    cancellation_deadline = _datetime_field(_l("学员可取消截止时间"))
    # Stored in seconds (CampSession.payment_hold_seconds); people think in minutes.
    payment_hold_minutes = IntegerField(
        _l("支付保留时间（分钟）"),
        validators=[Optional(), NumberRange(min=1, max=10_080, message=_l("应在 1 到 10080 分钟（7 天）之间"))],
        description=_l("收费场次预约后为学员保留名额的时间；留空使用全站默认"),
    )
    requires_approval = BooleanField(
        _l("需要审核"), description=_l("报名先成为申请（待审核），不占名额；工作人员审核通过后才分配名额或进入候补"))
    max_group_size = IntegerField(
        _l("团体报名人数上限"), default=5,
        validators=[Optional(), NumberRange(min=1, max=50, message=_l("应在 1 到 50 之间"))],
        description=_l("一位报名人一次最多为几位参会人报名；1 表示不接受团体报名"),
    )
    is_published = BooleanField(_l("公开（开放报名）"))
    submit = SubmitField(_l("保存"))

    def validate_ends_at(self, field) -> None:
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("结课时间必须晚于开课时间"))

    def validate_registration_closes_at(self, field) -> None:
        if self.registration_opens_at.data and field.data and field.data <= self.registration_opens_at.data:
            raise ValidationError(_l("截止报名时间必须晚于开始报名时间"))

    def validate_price(self, field) -> None:
        if field.data is not None and field.data != field.data.quantize(field.data.__class__("0.01")):
            raise ValidationError(_l("价格最多两位小数"))
