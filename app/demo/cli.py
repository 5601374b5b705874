"""`flask --app wsgi seed-demo`: demo accounts, courses, sessions and bookings.

Safe to run twice: it creates what is missing and leaves what exists alone.
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app.accounts import service as accounts
from app.accounts.models import Role
from app.demo.applications import seed_applications
from app.demo.articles import seed_articles
from app.demo.catalog import XHS_SLUG, seed_catalog
from app.demo.groups import GROUP_BOOKER, seed_group
from app.demo.invoices import seed_invoices

DEMO_PASSWORD = "demo12345"
DEMO_ACCOUNTS = [
    # email, name, phone, role
    ("admin@example.com", "王管理", "13800000001", Role.ADMIN),
    ("staff@example.com", "李助教", "13800000002", Role.STAFF),
    ("student@example.com", "张喆", "13800000003", Role.STUDENT),
]


def seed_accounts() -> list[str]:
    created = []
    for email, name, phone, role in DEMO_ACCOUNTS:
        if accounts.find_by_login(email) is None:
            accounts.register_user(email, DEMO_PASSWORD, name, phone, role=role)
            created.append(email)
    return created


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load demo accounts and content (refused with production settings)."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("seed-demo refuses to run with production settings")
    created = seed_accounts()
    click.echo(f"demo accounts: {len(created)} created, {len(DEMO_ACCOUNTS) - len(created)} already there")
    seed_catalog(DEMO_PASSWORD, demo_student=accounts.find_by_login("student@example.com"))
    click.echo("demo courses, sessions and bookings: in place")
    groups_created = seed_group(DEMO_PASSWORD)
    click.echo(f"demo 团体报名: {groups_created} created (booked by {GROUP_BOOKER[0]})")
    applications_created = seed_applications(DEMO_PASSWORD, staff=accounts.find_by_login("staff@example.com"))
    click.echo(f"demo 私董会 applications: {applications_created} created")
    invoices_created = seed_invoices(XHS_SLUG, demo_student=accounts.find_by_login("student@example.com"),
                                     staff=accounts.find_by_login("staff@example.com"))
    click.echo(f"demo invoice requests: {invoices_created} created")
    articles_created = seed_articles(actor=accounts.find_by_login("admin@example.com"))
    click.echo(f"demo articles: {articles_created} created")
    for email, _name, _phone, role in DEMO_ACCOUNTS:
        click.echo(f"  {role.value:<8} {email}  password: {DEMO_PASSWORD}")
