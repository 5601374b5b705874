"""Application factory."""
from __future__ import annotations

import functools
import logging
import os

from babel import Locale
from flask import Flask, current_app
from werkzeug.middleware.proxy_fix import ProxyFix

from app.common.forms import refused_form_status
from app.common.routing import DatabaseIdConverter, refuse_unstorable_url_text
from config import CONFIGS, INSTANCE_DIR, ProductionConfig


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """Build the app for `config_name` (default: $APP_CONFIG, else production).

    Production is the default so that a bare `gunicorn wsgi:app` never runs with debug on or a
    public key; scripts/dev.sh and the tests ask for development or testing by name.
    `overrides` replaces settings after the config class is loaded (tests use it).
    """
    config_name = config_name or os.environ.get("APP_CONFIG") or "production"
    if config_name not in CONFIGS:
        raise RuntimeError(f"APP_CONFIG={config_name!r} is not one of: {', '.join(CONFIGS)}")
    config_class = CONFIGS[config_name]

    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_object(config_class)
    app.config.update(overrides or {})
    if config_class is ProductionConfig:
        ProductionConfig.prepare(app.config)
    app.json.ensure_ascii = False  # Chinese stays readable in API responses (still valid UTF-8 JSON)
    os.makedirs(app.instance_path, exist_ok=True)
    _configure_database(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    x_for, x_host = app.config["PROXY_FIX_X_FOR"], app.config["PROXY_FIX_X_HOST"]
    if x_for or x_host:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=x_for, x_proto=x_for, x_host=x_host)

    from app.common.security import init_security

    init_security(app)  # first: its host check runs before any extension's before_request hook
    _init_extensions(app)
    # Before any rule is added: a rule binds its converter when it is registered.
    app.url_map.converters["int"] = DatabaseIdConverter
    _register_blueprints(app)
    app.before_request(refuse_unstorable_url_text)  # a NUL in ?q= is a 400, never a database error
    app.after_request(refused_form_status)  # a form refused for a NUL is a 400 too
    _register_cli(app)
    _register_template_helpers(app)

    from app.errors.handlers import register_error_handlers

    register_error_handlers(app)
    return app


def _configure_database(app: Flask) -> None:
    from app.common import db as _sqlite_hooks  # noqa: F401  (installs the SQLite connect and BEGIN hooks)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        # pysqlite's timeout is SQLite's busy timeout: writers wait for the lock this long. The
        # factory makes writers queue for their turn instead of polling (see app/common/db.py).
        options["connect_args"] = {"timeout": app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000,
                                   "factory": _sqlite_hooks.QueuedWriterConnection}
        # A file has no server that could have dropped the connection: pinging it at every
        # checkout (a request checks out once per transaction) would be work for nothing.
        options["pool_pre_ping"] = False
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


@functools.cache
def _parsed_locale(tag: str) -> Locale:
    return Locale.parse(tag)


def _site_locale() -> Locale:
    """The site's language (zh_CN). Flask-Babel's default parses the configured tag again on every
    request, a measurable part of a light API request; a Locale object is used as it is."""
    return _parsed_locale(current_app.config["BABEL_DEFAULT_LOCALE"])


def _init_extensions(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from app.extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    from app.common.db import render_migration_item

    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
        render_as_batch=True,  # SQLite can only ALTER tables by copying them; Alembic's batch mode does it
        compare_type=True,
        render_item=render_migration_item,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_site_locale)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("请先登录")
    login_manager.login_message_category = "info"
    # "basic" marks a session non-fresh when the browser's address changes; "strong" would log
    # out every phone that moves between Wi-Fi and 4G, which is most of our readers.
    login_manager.session_protection = "basic"
    from app.common.page_cache import init_page_cache

    init_page_cache(app)

    from app import models as _all_models  # noqa: F401  (complete metadata for migrations)
    from app.accounts import permissions as _user_loader  # noqa: F401  (registers the user loader)


def _register_blueprints(app: Flask) -> None:
    from app.accounts.views import bp as accounts_bp
    from app.admin.answers import bp as admin_answers_bp
    from app.admin.dashboard import bp as admin_dashboard_bp
    from app.admin.finance import bp as admin_finance_bp
    from app.admin.outbox import bp as outbox_bp
    from app.admin.users import bp as admin_users_bp
    from app.api import bp as api_bp
    from app.booking.views import bp as booking_bp
    from app.catalog.admin import bp as catalog_admin_bp
    from app.catalog.views import bp as catalog_bp
    from app.certificates.views import bp as certificates_bp
    from app.certificates.views import staff_bp as certificates_staff_bp
    from app.cms.admin import bp as cms_admin_bp
    from app.cms.views import bp as cms_bp
    from app.extensions import csrf
    from app.invoices.staff_views import bp as invoices_staff_bp
    from app.invoices.views import bp as invoices_bp
    from app.main.views import bp as main_bp
    from app.payments.views import EXEMPT_FROM_CSRF
    from app.payments.views import bp as payments_bp
    from app.questions.admin import bp as questions_admin_bp
    from app.roster.checkin_views import bp as checkin_bp
    from app.roster.export_views import bp as roster_exports_bp
    from app.roster.payment_views import bp as roster_payments_bp
    from app.roster.review_views import bp as review_bp
    from app.roster.ticket_link_views import bp as ticket_link_bp
    from app.roster.views import bp as roster_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(booking_bp)
    app.register_blueprint(catalog_admin_bp)
    app.register_blueprint(questions_admin_bp)
    app.register_blueprint(outbox_bp)
    app.register_blueprint(roster_bp)
    app.register_blueprint(roster_exports_bp)
    app.register_blueprint(roster_payments_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(checkin_bp)
    app.register_blueprint(ticket_link_bp)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(certificates_staff_bp)
    app.register_blueprint(invoices_bp)
    app.register_blueprint(invoices_staff_bp)
    app.register_blueprint(cms_bp)
    app.register_blueprint(cms_admin_bp)
    app.register_blueprint(admin_dashboard_bp)
    app.register_blueprint(admin_answers_bp)
    app.register_blueprint(admin_finance_bp)
    app.register_blueprint(admin_users_bp)
    # The providers' notifications carry their signature, not our CSRF token (checked in the views).
    for view in EXEMPT_FROM_CSRF:
        csrf.exempt(view)
    app.register_blueprint(payments_bp)
    # The API authenticates with bearer tokens, never cookies, so there is no CSRF to guard against.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)


def _register_cli(app: Flask) -> None:
    from app.accounts.cli import create_admin_command, users_cli
    from app.certificates.cli import certificates_cli
    from app.cms.cli import cms_cli, media_cli
    from app.demo.cli import seed_demo_command
    from app.mail.cli import outbox_cli
    from app.payments.cli import payments_cli
    from app.worker.cli import worker_cli

    app.cli.add_command(create_admin_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(cms_cli)
    app.cli.add_command(media_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(payments_cli)
    app.cli.add_command(worker_cli)


def _register_template_helpers(app: Flask) -> None:
    from app.common.contact import contact_ways, please_contact
    from app.common.money import format_money
    from app.common.time import local_date, local_datetime, utcnow
    from app.common.urls import absolute_url

    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.globals["now_utc"] = utcnow
    app.jinja_env.globals["absolute_url"] = absolute_url
    app.jinja_env.globals.update(contact_ways=contact_ways, please_contact=please_contact)

    @app.context_processor
    def site_globals() -> dict:
        return {"site_name": app.config["SITE_NAME"]}
