"""Domain errors: raised by services, shown by views as a Chinese message, by the API as a code."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A rule of the product said no. `code` is stable (for the API); `message` is for people."""

    code = "error"
    message = _l("操作未能完成，请稍后重试")
    # Which form field the error belongs to, when it belongs to one.
    field: str | None = None

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(str(self.message))
