"""`flask --app wsgi certificates issue --session ID`: issue a session's certificates, with progress."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.catalog.models import CampSession
from app.certificates import service
from app.common.routing import MAX_ID
from app.extensions import db

certificates_cli = AppGroup("certificates", help="Issue certificates.")


@certificates_cli.command("issue")
# Bounded like the URLs' ids: a larger number would fail in the database, not say "no session".
@click.option("--session", "session_id", type=click.IntRange(0, MAX_ID), required=True, help="The camp session's id.")
def issue_command(session_id: int) -> None:
    """Issue a certificate to everyone in the session who qualifies (attendance rule of the course)."""
    camp = db.session.get(CampSession, session_id)
    if camp is None:
        raise click.ClickException(f"no session with id {session_id}")
    with click.progressbar(length=1, label=f"{camp.course.title} {camp.label}".strip()) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        report = service.issue_for_session(session_id, actor=None, progress=progress)
    click.echo(f"issued {len(report.issued)}, already issued {report.already}, "
               f"not eligible {len(report.not_eligible)}, unprintable {len(report.unprintable)}")
    for name in report.not_eligible:
        click.echo(f"  not eligible: {name}")
    for name in report.unprintable:
        click.echo(f"  unprintable (a character no PDF font has; issue by hand with a reason): {name}")
