"""The base of every form, and showing a service's domain error where the person will see it."""
from __future__ import annotations

from flask import Response, flash, g
from flask_wtf import FlaskForm

from app.common.errors import DomainError
from app.common.validators import normalise_newlines, out_of_range_reason, unstorable_text_reason


class AppForm(FlaskForm):
    """FlaskForm that refuses, for every field, what the database cannot store.

    Text is checked for control characters and lone surrogates (CRLF becomes LF first, as a
    textarea sends it): the page answers 400, as no person types a NUL. Numbers and dates are
    checked for their range (a finite price within Numeric(10, 2), an integer within INTEGER, a date
    in 2000–2100): an ordinary form error, as a slip of the keyboard can make one. Either way the
    field gets a Chinese error and no other validator runs, so no `validate_...` method or service
    query ever sees the value.
    """

    def process(self, *args, **kwargs) -> None:
        super().process(*args, **kwargs)
        for field in self:
            if isinstance(field.data, str):
                field.data = normalise_newlines(field.data)

    def validate(self, extra_validators=None) -> bool:
        refused = False
        for field in self:
            data = field.data
            if isinstance(data, str):
                reason = unstorable_text_reason(data)
                if reason:
                    g.form_refused_unstorable_input = True  # answered 400 (refused_form_status), not 200
            else:
                reason = out_of_range_reason(data)
            if reason:
                field.errors = [reason]
                refused = True
        if refused:
            return False
        return super().validate(extra_validators)


def refused_form_status(response: Response) -> Response:
    """after_request: a page that shows a form refused for unstorable text (a NUL, a lone
    surrogate) is a 400, so that a client or a fuzzer sees the refusal; a person sees the form and the reason."""
    if g.get("form_refused_unstorable_input") and response.status_code == 200:
        response.status_code = 400
    return response


def show_error_on_form(form, error: DomainError) -> None:
    """Next to the field the error names, or as a flash message above the form."""
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, str(error.message)]
    else:
        flash(str(error.message), "error")
