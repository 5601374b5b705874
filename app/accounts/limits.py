"""Which sign-up attempts count against RATELIMIT_SIGNUP (the web page's and the API's alike).

The limit is there to slow down account farming and probing for taken emails, so an attempt counts
once its input passed validation and it reached the database (an account created, or refused as
taken). A form sent back for a typo, or a body refused with 400, does not use up a person's tries.
"""
from __future__ import annotations

from flask import Response, g


def mark_signup_attempt() -> None:
    """Called by the sign-up views just before they call `register_user`."""
    g.signup_reached_database = True


def counts_as_signup(response: Response) -> bool:
    """Flask-Limiter's `deduct_when` for the sign-up limit."""
    return g.get("signup_reached_database", False)
