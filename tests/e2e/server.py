"""The real app for the browser tests: gunicorn in a subprocess on 127.0.0.1, on its own SQLite file.

The database is built the way an operator builds one (`flask db upgrade`, then `seed-demo`),
not with `create_all`, and the server runs with production settings (no debug, secure cookies,
rate limits on) except for the database, the console mail backend and looser login limits: the
journeys log in a dozen times a minute from one address. Chromium sends `Secure` cookies to
http://127.0.0.1, a trustworthy origin, so no TLS is needed.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from app import create_app
from app.extensions import db
from standins import alipay as alipay_standin
from standins import wechatpay as wechat_standin
from standins.alipay_keys import ensure_keys as ensure_alipay_keys
from standins.keys import app_settings, ensure_wechatpay_keys, standin_options
from standins.serving import BackgroundServer
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
VENV_BIN = ROOT / ".venv" / "bin"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
START_TIMEOUT_SECONDS = 60  # a busy machine takes a while to import the app twice (two workers)


COUNT_FLUSH_SECONDS = 0.5


class LiveSite:
    """The running site: its address, and an app object on the same database for test data."""

    def __init__(self) -> None:
        # A file per run: two test runs on one machine (two engineers, or CI beside a developer)
        # must not share a database or a port.
        (ROOT / "instance").mkdir(exist_ok=True)
        self.database_path = ROOT / "instance" / f"e2e-{os.getpid()}.db"
        self.uploads = Path(tempfile.mkdtemp(prefix="e2e-uploads-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Written per run, then kept as artifacts/e2e-server.log (the CI artifact) when the run ends.
        self.log_path = ARTIFACTS / f"e2e-server-{os.getpid()}.log"
        self.process: subprocess.Popen | None = None
        self.app = None
        # WeChat Pay and Alipay: their local stand-ins, served from this process, whose
        # notifications reach the site over HTTP as the providers' would.
        self.standin_keys = Path(tempfile.mkdtemp(prefix="e2e-standin-keys-"))
        self.standins: list[BackgroundServer] = []
        self.payment_settings: dict[str, str] = {}

    def _start_payment_standins(self) -> None:
        wechat_keys = ensure_wechatpay_keys(self.standin_keys)
        alipay_keys = ensure_alipay_keys(self.standin_keys / "alipay")
        wechat = BackgroundServer(wechat_standin.create_app(**standin_options(wechat_keys), refund_status="SUCCESS"))
        alipay = BackgroundServer(alipay_standin.create_app(alipay_keys))
        self.standins = [wechat, alipay]
        self.payment_settings = {**app_settings(wechat_keys, wechat.url),
                                 **alipay_keys.app_settings(alipay.url + "/gateway.do")}

    def _environment(self, config_name: str) -> dict[str, str]:
        environment = {
            name: value for name, value in os.environ.items()
            if not name.startswith(("FLASK_", "DATABASE_URL", "TEST_DATABASE_URL", "APP_CONFIG"))
        }
        environment.update({
            "APP_CONFIG": config_name,
            "DATABASE_URL": f"sqlite:///{self.database_path}",
            "SECRET_KEY": secrets.token_hex(32),
            "SITE_URL": self.url,
            "MAIL_BACKEND": "console",
            "CMS_UPLOAD_FOLDER": str(self.uploads),
            "RATELIMIT_LOGIN": "200 per minute",
            "RATELIMIT_SIGNUP": "200 per hour",
            "CMS_COUNT_FLUSH_SECONDS": str(COUNT_FLUSH_SECONDS),  # the workers write views this often
            "PYTHONUNBUFFERED": "1",
            **self.payment_settings,
        })
        return environment

    def _flask(self, *command: str) -> None:
        result = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "wsgi", *command], cwd=ROOT, env=self._environment("development"),
            capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        _remove_databases_of_ended_runs()
        self._remove_database()
        self._start_payment_standins()
        self._flask("db", "upgrade")
        self._flask("seed-demo")
        ARTIFACTS.mkdir(exist_ok=True)
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--workers", "2", "--worker-class", "sync",
             "--bind", f"127.0.0.1:{self.port}", "--access-logfile", "-", "--timeout", "60", "wsgi:app"],
            cwd=ROOT, env=self._environment("production"), stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=_end_with_parent,
        )
        log.close()
        self._wait_until_answering()
        self.app = create_app("development", overrides={
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{self.database_path}",
            "MAIL_BACKEND": "console",
            "SITE_URL": self.url,
            "CMS_UPLOAD_FOLDER": str(self.uploads),
            **self.payment_settings,
        })

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"the site did not answer on {self.url} within {START_TIMEOUT_SECONDS} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        if self.app is not None:
            with self.app.app_context():
                db.engine.dispose()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # gunicorn's arbiter stops its workers, then exits
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()  # the workers notice their arbiter is gone and exit
                self.process.wait()
        for standin in self.standins:
            standin.stop()
        self._remove_database()
        shutil.rmtree(self.uploads, ignore_errors=True)
        shutil.rmtree(self.standin_keys, ignore_errors=True)
        if self.log_path.exists():
            self.log_path.replace(ARTIFACTS / "e2e-server.log")

    def _remove_database(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.database_path}{suffix}").unlink(missing_ok=True)


def _end_with_parent() -> None:
    """In the server's process before it starts: on Linux, be sent SIGTERM when the test run dies
    without its teardown (killed by a CI timeout), instead of serving on as an orphan."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: stop() still ends it after a normal run


def _remove_databases_of_ended_runs() -> None:
    """A run that was killed (CI timeout, Ctrl-C twice) leaves its e2e-<pid>.db behind."""
    for path in (ROOT / "instance").glob("e2e-*.db*"):
        match = re.fullmatch(r"e2e-(\d+)\.db(-wal|-shm)?", path.name)
        if match is None:
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except PermissionError:
            pass  # another user's live process
