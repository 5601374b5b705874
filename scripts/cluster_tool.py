"""The Python half of scripts/cluster.sh: waiting for servers and the database, and
`check`, which shows that the instances behind nginx behave as one site.

    python scripts/cluster_tool.py check --site http://127.0.0.1:8080 \\
        --instance http://127.0.0.1:8081 --instance http://127.0.0.1:8082

`check` logs in as an admin through the first instance (CLUSTER_ADMIN_LOGIN and
CLUSTER_ADMIN_PASSWORD, the demo admin by default), then asks the second instance for a page only
a logged-in admin sees (the login is not kept by the instance that made it), uploads an image
through the first and reads it back from the second and through nginx (media are in the bucket,
not on one server's disk). Each instance has an upload folder of its own (cluster.sh), so the last
check fails while the app keeps uploads on its disk.
"""
from __future__ import annotations

import argparse
import http.client
import io
import os
import re
import socket
import sys
import time
from urllib.parse import urlsplit

import requests

DEMO_ADMIN = ("admin@example.com", "demo12345")  # app/demo/cli.py
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def status_of(url: str, timeout: float = 2) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/")
        return connection.getresponse().status
    finally:
        connection.close()


def wait(url: str, seconds: float, any_status: bool) -> None:
    """Until the URL answers 200 (or anything, with any_status); exit 1 after `seconds`."""
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            status = status_of(url)
            if any_status or status == 200:
                return
            last = f"HTTP {status}"
        except OSError as error:
            last = str(error)
        time.sleep(0.25)
    sys.exit(f"cluster: {url} did not answer within {seconds:.0f} s ({last})")


def answer(url: str) -> str:
    try:
        return f"answering {status_of(url)}"
    except OSError as error:
        return f"not answering ({error})"


def ports_free(ports: list[int]) -> None:
    taken = []
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken.append(port)
    if taken:
        sys.exit(f"cluster: port {', '.join(map(str, taken))} already in use on 127.0.0.1 "
                 f"(another cluster? set CLUSTER_PORT)")


def redis_answers() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            if connection.recv(16).startswith(b"+PONG"):
                return
    except OSError:
        pass
    sys.exit(1)


def create_database(name: str) -> None:
    """Print `created` when the database was made now, `exists` when it was there."""
    from sqlalchemy import create_engine, text

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        sys.exit(f"cluster: {name!r} is not a plain database name")
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).scalar()
        if not exists:
            connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    print("exists" if exists else "created")


# --- check ---------------------------------------------------------------------------------------

class Browser:
    """Cookies kept by hand: the site's cookies are `Secure` (production settings) and the cluster is
    plain http on 127.0.0.1, where requests' cookie jar would not send them back."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        headers = {**kwargs.pop("headers", {}), "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        response = requests.request(method, url, headers=headers, allow_redirects=False, timeout=30, **kwargs)
        self.cookies.update(response.cookies.get_dict())
        return response

    def csrf_token(self, page_url: str) -> str:
        match = CSRF_RE.search(self.request("GET", page_url).text)
        if not match:
            raise CheckFailed(f"no form token on {page_url}")
        return match.group(1) or match.group(2)


class CheckFailed(Exception):
    pass


def png_image() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def check(site: str, instances: list[str], ready_path: str) -> None:
    first, second = instances[0], instances[-1]
    results: list[tuple[bool, str]] = []

    def step(description: str, run) -> None:
        try:
            detail = run()
            results.append((True, description + (f": {detail}" if detail else "")))
        except (CheckFailed, OSError, requests.RequestException) as error:
            results.append((False, f"{description}: {error}"))

    def ready(url: str) -> str:
        status = status_of(url + ready_path)
        if status != 200:
            raise CheckFailed(f"HTTP {status}")
        return ""

    for base in [site, *instances]:
        step(f"{base}{ready_path} answers 200", lambda base=base: ready(base))

    def static_file() -> str:
        response = requests.get(f"{site}/static/css/app.css", timeout=10)
        if response.status_code != 200 or "public" not in response.headers.get("Cache-Control", ""):
            raise CheckFailed(f"HTTP {response.status_code}, Cache-Control {response.headers.get('Cache-Control')!r}")
        return f"Cache-Control {response.headers['Cache-Control']!r}, from {response.headers.get('Server')}"

    step("nginx serves static/ itself, with cache headers", static_file)

    browser = Browser()
    login, password = (os.environ.get("CLUSTER_ADMIN_LOGIN", DEMO_ADMIN[0]),
                       os.environ.get("CLUSTER_ADMIN_PASSWORD", DEMO_ADMIN[1]))

    def log_in() -> str:
        token = browser.csrf_token(f"{first}/account/login")
        response = browser.request("POST", f"{first}/account/login",
                                   data={"login": login, "password": password, "csrf_token": token})
        if response.status_code != 302:
            raise CheckFailed(f"HTTP {response.status_code} (is the demo data loaded? CLUSTER_ADMIN_LOGIN)")
        return ""

    def logged_in_on_second() -> str:
        response = browser.request("GET", f"{second}/admin/articles/")
        if response.status_code != 200:
            raise CheckFailed(f"HTTP {response.status_code} {response.headers.get('Location', '')}")
        return ""

    uploaded: dict[str, str] = {}
    image = png_image()

    def upload() -> str:
        token = browser.csrf_token(f"{first}/admin/articles/new")
        response = browser.request("POST", f"{first}/admin/articles/images",
                                   files={"image": ("cluster-check.png", image, "image/png")},
                                   headers={"X-CSRFToken": token, "Accept": "application/json"})
        if response.status_code != 200:
            raise CheckFailed(f"HTTP {response.status_code} {response.text[:200]}")
        uploaded["url"] = response.json()["url"]
        return uploaded["url"]

    def served_by(base: str) -> str:
        if "url" not in uploaded:
            raise CheckFailed("nothing was uploaded")
        url = uploaded["url"] if uploaded["url"].startswith("http") else base + uploaded["url"]
        response = requests.get(url, timeout=10)
        if response.status_code != 200 or response.content != image:
            raise CheckFailed(f"HTTP {response.status_code}, {len(response.content)} bytes "
                              f"(media kept on one server's disk? MEDIA_STORAGE=s3)")
        return ""

    step(f"an admin logs in through {first}", log_in)
    step(f"the login holds on {second}", logged_in_on_second)
    step(f"an image is uploaded through {first}", upload)
    step(f"the image is served by {second}", lambda: served_by(second))
    step(f"the image is served through nginx ({site})", lambda: served_by(site))
    for ok, line in results:
        print(("ok    " if ok else "FAIL  ") + line)
    if not all(ok for ok, _line in results):
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    waiting = commands.add_parser("wait", help="until a URL answers 200")
    waiting.add_argument("url")
    waiting.add_argument("seconds", type=float)
    waiting.add_argument("--any-status", action="store_true", help="any HTTP answer will do")
    commands.add_parser("answer", help="whether a URL answers, and its status").add_argument("url")
    commands.add_parser("ports-free", help="exit 1 if a port is taken").add_argument("ports", type=int, nargs="+")
    commands.add_parser("redis-answers", help="exit 1 unless Redis answers on 127.0.0.1:6379")
    commands.add_parser("create-database", help="print created or exists").add_argument("name")
    checking = commands.add_parser("check", help="the instances behave as one site")
    checking.add_argument("--site", required=True)
    checking.add_argument("--instance", action="append", required=True)
    checking.add_argument("--ready-path", default="/readyz")
    args = parser.parse_args()
    if args.command == "wait":
        wait(args.url, args.seconds, args.any_status)
    elif args.command == "answer":
        print(answer(args.url))
    elif args.command == "ports-free":
        ports_free(args.ports)
    elif args.command == "redis-answers":
        redis_answers()
    elif args.command == "create-database":
        create_database(args.name)
    else:
        check(args.site, args.instance, args.ready_path)


if __name__ == "__main__":
    main()
