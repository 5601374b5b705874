"""Forms of the 发票 pages: the request (the student's), issuing and cancelling (staff's).

They parse; the rules (抬头's length, the 税号's format, what a PDF must be) are the service's, whose
errors are shown next to the field they name."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from app.common.forms import AppForm
from app.invoices.models import InvoiceKind
from app.invoices.service import InvoiceDetails


class InvoiceRequestForm(AppForm):
    kind = RadioField(_l("发票类型"), choices=[SelectChoice(InvoiceKind.PERSONAL.value, _l("个人")),
                                              SelectChoice(InvoiceKind.COMPANY.value, _l("企业"))],
                      default=InvoiceKind.PERSONAL.value, validators=[DataRequired(_l("请选择发票类型"))])
    title = StringField(_l("发票抬头"), render_kw={"autocomplete": "organization"})
    tax_id = StringField(_l("税号（统一社会信用代码）"),
                         render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})
    email = EmailField(_l("接收发票的邮箱"), validators=[
        DataRequired(_l("请填写接收发票的邮箱")), Length(max=254, message=_l("邮箱太长了")),
        Email(_l("邮箱格式不正确，例如 name@example.com"), check_deliverability=False)],
        filters=[lambda value: value.strip().lower() if value else value],
        render_kw={"autocomplete": "email", "inputmode": "email"})
    submit = SubmitField(_l("提交申请"))

    def details(self) -> InvoiceDetails:
        return InvoiceDetails(kind=InvoiceKind(self.kind.data), title=self.title.data or "",
                              tax_id=self.tax_id.data or "", email=self.email.data or "")


class WithdrawForm(AppForm):
    submit = SubmitField(_l("撤回申请"))


class IssueForm(AppForm):
    pdf = FileField(_l("发票 PDF"), render_kw={"accept": "application/pdf,.pdf"})
    invoice_number = StringField(_l("发票号码（选填）"), render_kw={"autocomplete": "off", "inputmode": "numeric"})
    submit = SubmitField(_l("上传并标记为已开票"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix="issue", **kwargs)


class StaffCancelForm(AppForm):
    reason = TextAreaField(_l("原因"), render_kw={"rows": 2, "maxlength": 200})
    reopen = BooleanField(_l("作废后按原信息重新申请（例如上传错了文件，需要重新开具）"))
    submit = SubmitField(_l("确认"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix="cancel", **kwargs)
