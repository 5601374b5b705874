from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SubmitField
from wtforms.fields.choices import SelectChoice

from app.common.forms import AppForm
from app.payments.methods import PayMethod


class PayForm(AppForm):
    """The way to pay, among those this browser is offered."""

    method = RadioField(_l("支付方式"), validate_choice=True)
    submit = SubmitField(_l("去支付"))

    def __init__(self, methods: list[PayMethod], *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.method.choices = [SelectChoice(method.value, method.label) for method in methods]
        if methods and not self.method.data:
            self.method.data = methods[0].value


class CheckPaidForm(AppForm):
    submit = SubmitField(_l("我已完成支付"))
