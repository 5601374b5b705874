import click
from flask.cli import AppGroup

from app.payments import worker

payments_cli = AppGroup("payments", help="Release lapsed holds and send refunds.")


@payments_cli.command("work")
@click.option("--loop", is_flag=True, help="Keep running as a worker.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds.")
def work_command(loop: bool, interval: float) -> None:
    """Release holds and offers past their time, send pending refunds (once, or forever with --loop)."""
    if loop:
        worker.run(interval)
        return
    report = worker.work_once()
    click.echo(f"released {report.released}, refunded {report.refunded}, refund tries failed {report.failed}")
