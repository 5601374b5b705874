"""The questions' side of forms: the booking page's answer fields as sent, and the builder's form."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.common.forms import AppForm
from app.questions.models import Question, QuestionKind, yes_no_label
from app.questions.service import HELP_MAX, LABEL_MAX, QuestionInput, condition_values

# A booking page's answer field: q<question id> (several values for several choices), after a
# prefix where one page asks several people (团体报名: a<n>-q<question id>).
_ANSWER_FIELD = re.compile(r"q(\d{1,10})")


def answers_from_form(form: MultiDict, prefix: str = "") -> dict[int, str | list[str]]:
    """{question id: what was sent} from the booking page's fields (named `prefix`q<id>): a string,
    or a list when several boxes were ticked. The service checks them against the session's questions."""
    answers: dict[int, str | list[str]] = {}
    for name in form:
        match = _ANSWER_FIELD.fullmatch(name[len(prefix):]) if name.startswith(prefix) else None
        if match:
            values = form.getlist(name)
            answers[int(match.group(1))] = values if len(values) > 1 else values[0]
    return answers


def typed_values(value: object) -> list[str]:
    """What the page re-shows as chosen for a field sent back with an error."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# --- the builder --------------------------------------------------------------------------------

class QuestionForm(AppForm):
    kind = SelectField(_l("类型"), choices=[], validators=[DataRequired(_l("请选择类型"))])
    label = StringField(_l("问题"), validators=[DataRequired(_l("请填写问题")),
                                              Length(max=LABEL_MAX, message=_l("最多 %(n)s 个字", n=LABEL_MAX))],
                        render_kw={"placeholder": _l("例如 店铺类型")})
    help_text = StringField(_l("说明（选填）"),
                            validators=[Length(max=HELP_MAX, message=_l("最多 %(n)s 个字", n=HELP_MAX))],
                            description=_l("显示在问题下方的提示"))
    required = BooleanField(_l("必填"))
    choices = TextAreaField(_l("选项"), validators=[Length(max=5000, message=_l("选项太长了"))],
                            description=_l("单选、多选题填写，每行一个选项"),
                            render_kw={"rows": 5, "placeholder": "淘宝\n天猫\n抖音"})
    # "<question id>:<answer>", one option per earlier question's answer (QuestionForm.offer).
    condition = SelectField(_l("显示条件"), choices=[], default="")
    submit = SubmitField(_l("保存"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The kind's label is translated when the page is drawn, not when this module is imported.
        self.kind.choices = [SelectChoice(kind.value, kind.label) for kind in QuestionKind]

    def offer(self, earlier: list[Question]) -> None:
        """The conditions this question may have: always shown, or shown for one answer of one of
        the `earlier` questions (choice and yes/no ones)."""
        self.condition.choices = [SelectChoice("", str(_l("始终显示")))] + [
            SelectChoice(f"{question.id}:{value}", f"「{question.label}」= {yes_no_label(value)}")
            for question in earlier if question.kind.can_be_condition
            for value in condition_values(question.kind, question.choices)
        ]

    def show(self, question: Question) -> None:
        """Fill the form from a question (the edit page, first drawn)."""
        self.kind.data = question.kind.value
        self.label.data = question.label
        self.help_text.data = question.help_text
        self.required.data = question.required
        self.choices.data = "\n".join(question.choices)
        self.condition.data = f"{question.condition_question_id}:{question.condition_value}" \
            if question.condition_question_id is not None else ""

    def question_input(self) -> QuestionInput:
        condition_id, _sep, condition_value = (self.condition.data or "").partition(":")
        return QuestionInput(
            kind=QuestionKind(self.kind.data), label=self.label.data or "", help_text=self.help_text.data or "",
            required=bool(self.required.data), choices=(self.choices.data or "").split("\n"),
            condition_question_id=int(condition_id) if condition_id else None,
            condition_value=condition_value if condition_id else None,
        )


class QuestionActionForm(AppForm):
    """The builder's buttons (delete, up, down, the session's own set): a CSRF token only."""

    submit = SubmitField(_l("确定"))


class ReorderForm(AppForm):
    # The question ids in their new order, comma-separated (filled by static/js/questions.js).
    order = StringField(validators=[DataRequired(), Length(max=600)])
