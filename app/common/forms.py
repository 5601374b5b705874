"""Showing a service's domain error where the person will see it."""
from __future__ import annotations

from flask import flash

from app.common.errors import DomainError


def show_error_on_form(form, error: DomainError) -> None:
    """Next to the field the error names, or as a flash message above the form."""
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, str(error.message)]
    else:
        flash(str(error.message), "error")
