import click
from flask.cli import AppGroup

from app.mail.sender import deliver_due, run_worker

outbox_cli = AppGroup("outbox", help="Deliver queued email.")


@outbox_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep running as a worker.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds to sleep when nothing is due.")
def send_command(loop: bool, interval: float) -> None:
    """Send every message that is due (once, or forever with --loop)."""
    if loop:
        run_worker(interval)
        return
    report = deliver_due()
    click.echo(f"sent {report.sent}, to retry {report.retried}, failed {report.failed}")
