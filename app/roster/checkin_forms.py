"""Forms of the door check-in page and the attendance grid."""
from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, IntegerField, StringField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length
from wtforms.widgets import HiddenInput

from app.common.forms import AppForm


class CheckInForm(AppForm):
    """What a scanner types (the ticket link off the QR code, then Enter), the phone's camera reads,
    or staff type by hand."""

    # Long enough for a ticket link (SITE_URL + /t/<code>) or a code typed with spaces and dashes;
    # the service takes the code out and says whether it is a ticket.
    code = StringField(_l("票码"), validators=[
        DataRequired(_l("请扫码或输入票码")), Length(max=300, message=_l("无效的票码，查无此票")),
    ])


class AttendanceForm(AppForm):
    """One cell of the attendance grid: this person, this day, present or not."""

    registration_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    day = DateField(format="%Y-%m-%d", widget=HiddenInput(), validators=[InputRequired()])
    present = HiddenField(validators=[AnyOf(["0", "1"])])


class TicketCheckInForm(AppForm):
    """The 签到 button on a ticket's link page: only the CSRF token, the ticket is in the address."""
