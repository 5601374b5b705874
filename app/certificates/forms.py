"""Forms of the staff certificates page. Reasons are checked by the service (ReasonRequired,
NotEligible), so that the page and the JSON endpoint say the same thing."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import Length

from app.common.forms import AppForm


class BulkIssueForm(AppForm):
    submit = SubmitField(_l("一键颁发"))


class IssueForm(AppForm):
    """One registration: no reason for someone who qualifies, a reason to issue by exception."""

    reason = StringField(_l("破例颁发的原因"), validators=[Length(max=200, message=_l("原因最多 200 字"))])
    submit = SubmitField(_l("颁发"))


class RevokeForm(AppForm):
    reason = StringField(_l("撤销原因"), validators=[Length(max=200, message=_l("原因最多 200 字"))])
    submit = SubmitField(_l("撤销"))


class ReissueForm(AppForm):
    submit = SubmitField(_l("按新姓名重新颁发"))
