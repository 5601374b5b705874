"""What the benchmarks share: a fresh database of either kind, the production-like settings the
app runs with under them, and the HTTP load machinery (gunicorn, clients, timed phases, CPU per
request) of the benchmarks that load a real server."""
from __future__ import annotations

import http.client
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Connected to for CREATE / DROP DATABASE only; the benchmarks never touch the tests' database.
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def fresh_database(kind: str, workdir: Path, pg_name: str) -> str:
    """An empty database: an SQLite file in `workdir`, or PostgreSQL database `pg_name` made anew."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {pg_name}"))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + pg_name


# One key per benchmark process: the API tokens made in-process must verify in the gunicorn workers.
_SECRET_KEY = secrets.token_hex(32)
# The settings create_app() reads from the environment, for the benchmarks that build the app in-process.
APP_SETTINGS = ("SECRET_KEY", "DATABASE_URL", "SITE_URL", "TRUSTED_HOSTS")


def production_env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Production settings for a benchmark run, rate limits off (a load test, not a test of the
    limits), and `extra` settings (a benchmark's providers, hold lengths)."""
    return {
        **os.environ,
        "APP_CONFIG": "production",
        "SECRET_KEY": _SECRET_KEY,
        "DATABASE_URL": database_url,
        # gunicorn on 127.0.0.1 and the in-process test client (Host: localhost)
        "SITE_URL": "http://127.0.0.1",
        "TRUSTED_HOSTS": "127.0.0.1,localhost",
        "RATELIMIT_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
        **(extra or {}),
    }


def migrate(database_url: str) -> None:
    """Bring the fresh database to the newest schema, as a deployment does (`flask db upgrade`)."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                   env=production_env(database_url), check=True, capture_output=True)


def production_app(database_url: str, overrides: dict | None = None):
    """The app with production settings (and `overrides`), built in this process (to seed it, to
    profile it, to open payments)."""
    env = production_env(database_url)
    os.environ.update({k: env[k] for k in APP_SETTINGS})
    from app import create_app

    return create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url, **(overrides or {})})


# --- load over HTTP: gunicorn, client connections, phases, CPU per request --------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, port: int, workers: int, extra_env: dict[str, str] | None = None):
    """gunicorn with production settings (and `extra_env`) and `workers` sync workers on a loopback
    port; yields its pid."""
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
               "--backlog", "2048", "--log-level", "warning", "wsgi:app"]
    server = subprocess.Popen(command, cwd=ROOT, env=production_env(database_url, extra_env))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def cpu_seconds(gunicorn_pid: int) -> dict[str, float]:
    """CPU time (user + system) used so far by the gunicorn workers, the PostgreSQL server
    processes and this load generator, from /proc (Linux; empty elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used = {"gunicorn": 0.0, "postgres": 0.0, "client": sum(os.times()[:2])}
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat_file:
                fields = stat_file.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline_file:
                command = cmdline_file.read()
        except OSError:  # ended meanwhile
            continue
        parent, cpu = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if parent == gunicorn_pid or int(pid) == gunicorn_pid:
            used["gunicorn"] += cpu
        elif command.startswith(b"postgres"):
            used["postgres"] += cpu
    return used


@dataclass(frozen=True)
class Call:
    """One HTTP request a client makes."""
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Client:
    """One client connection (http.client: keep-alive where the server allows it) and, for a
    browser-like client, the cookies the site set, sent back as a phone would."""

    def __init__(self, port: int, keeps_cookies: bool = False):
        self.port, self.keeps_cookies = port, keeps_cookies
        self.cookies: dict[str, str] = {}
        self._connection: http.client.HTTPConnection | None = None

    def send(self, call: Call) -> tuple[int, bytes]:
        if self._connection is None:
            self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = dict(call.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            self._connection.request(call.method, call.path, body=call.body if call.method == "POST" else None,
                                     headers=headers)
            response = self._connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self._connection = None  # a new connection for the next request
            raise
        if self.keeps_cookies:
            for header in response.headers.get_all("Set-Cookie") or []:
                self.cookies.update({name: morsel.value for name, morsel in SimpleCookie(header).items()})
        return response.status, body


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000 if ordered else 0.0


def _status_code(status: int, body: bytes) -> str:
    return str(status)


def run_phase(name: str, clients: list[Client], calls: list[Call], gunicorn_pid: int | None = None, *,
              outcome: Callable[[int, bytes], str] = _status_code, ok_statuses: tuple[int, ...] = (200, 201),
              until: threading.Event | None = None) -> Phase:
    """Every call is made once, shared among the clients (one thread each, all released at once);
    with `until`, each client goes round its share of calls again until that event is set (a
    background load for as long as something else runs). Any answer outside `ok_statuses` is an
    error; `outcome` names what an answer was (its status code, or what the body says)."""
    phase = Phase(name)
    lock = threading.Lock()
    start_line = threading.Barrier(len(clients))

    def one_request(client: Client, call: Call) -> None:
        began = time.perf_counter()
        try:
            status_code, body = client.send(call)
            status = outcome(status_code, body) if status_code in ok_statuses else str(status_code)
            if status_code not in ok_statuses:
                with lock:
                    phase.errors.append(f"{status_code} {call.path} {body[:200]!r}")
        except (OSError, http.client.HTTPException) as error:
            status = "exception"
            with lock:
                phase.errors.append(repr(error))
        elapsed = time.perf_counter() - began
        with lock:
            phase.latencies.append(elapsed)
            phase.statuses[status] = phase.statuses.get(status, 0) + 1

    def worker(client: Client, share: list[Call]) -> None:
        start_line.wait()
        while True:
            for call in share:
                one_request(client, call)
                if until is not None and until.is_set():
                    return
            if until is None:
                return

    shares = [calls[i::len(clients)] for i in range(len(clients))]
    cpu_before = cpu_seconds(gunicorn_pid) if gunicorn_pid else {}
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        began = time.perf_counter()
        list(pool.map(worker, clients, shares))
        phase.seconds = time.perf_counter() - began
    if cpu_before:
        cpu_after = cpu_seconds(gunicorn_pid)
        phase.cpu_ms_per_request = {kind: (cpu_after[kind] - cpu_before[kind]) * 1000 / len(phase.latencies)
                                    for kind in cpu_before}
    return phase


def median_cpu(phases: list[Phase]) -> dict[str, float]:
    """CPU per request of each kind of process, the median over the phases."""
    kinds = phases[0].cpu_ms_per_request
    return {kind: statistics.median(phase.cpu_ms_per_request[kind] for phase in phases) for kind in kinds}
