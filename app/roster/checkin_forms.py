"""Forms of the door check-in page and the attendance grid."""
from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, IntegerField, StringField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length
from wtforms.widgets import HiddenInput

from app.common.forms import AppForm


class CheckInForm(AppForm):
    """What a scanner types (the code, then Enter) or staff type by hand."""

    # Long enough for a code typed with spaces and dashes, or a scanner's prefix; the service
    # normalises it and says whether it is a ticket.
    code = StringField(_l("票码"), validators=[DataRequired(_l("请扫码或输入票码")), Length(max=64)])


class AttendanceForm(AppForm):
    """One cell of the attendance grid: this person, this day, present or not."""

    registration_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    day = DateField(format="%Y-%m-%d", widget=HiddenInput(), validators=[InputRequired()])
    present = HiddenField(validators=[AnyOf(["0", "1"])])
