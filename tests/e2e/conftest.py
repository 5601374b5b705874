"""Browser tests: Playwright drives Debian's chromium against the real app served by gunicorn.

Without /usr/bin/chromium (or the playwright package) these tests skip with the reason, except in
CI (CI=true), where a missing browser fails the run: `scripts/test.sh` (which .ci/run calls)
installs it first with scripts/install-browser.sh.
"""
from __future__ import annotations

import importlib.util
import itertools
import os

import pytest

from tests.e2e.pages import MOBILE_WIDTH, Person
from tests.e2e.server import LiveSite

CHROMIUM = "/usr/bin/chromium"
WIDTHS = [MOBILE_WIDTH, 1280]


def _missing_browser() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "browser tests need the playwright package: pip install -r requirements-dev.txt"
    if not os.access(CHROMIUM, os.X_OK):
        return f"browser tests need {CHROMIUM}: run `sudo bash scripts/install-browser.sh`"
    return None


@pytest.fixture(autouse=True)
def clean_database():
    """The unit tests' per-test emptying of TEST_DATABASE_URL does not apply here: the browser
    tests use the live site's own database, and each journey makes its own people and sessions."""
    yield


@pytest.fixture(scope="session")
def browser():
    reason = _missing_browser()
    if reason:
        if os.environ.get("CI", "").lower() in {"true", "1"}:
            pytest.fail(f"CI=true and the browser tests cannot run: {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # a loaded CI machine can take more than the default 5 s

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=_launch_args())
        yield chromium
        chromium.close()


def _launch_args() -> list[str]:
    args = ["--disable-background-networking"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # chromium refuses to start its sandbox as root (CI containers)
    return args


@pytest.fixture
def launch_browser(browser):
    """`launch_browser(extra_args)`: another chromium with a command line of its own (a fake camera
    reads its video file from the command line), through the same Playwright; closed at the end."""
    launched = []

    def launch(extra_args: list[str]):
        chromium = browser.browser_type.launch(executable_path=CHROMIUM, headless=True,
                                               args=[*_launch_args(), *extra_args])
        launched.append(chromium)
        return chromium

    yield launch
    for chromium in launched:
        chromium.close()


@pytest.fixture(scope="session")
def site(browser):
    """The app on 127.0.0.1 with the demo data; started once for all the journeys."""
    live = LiveSite()
    try:
        live.start()
    except BaseException:
        live.stop()  # a half-started site leaves no server or database behind
        raise
    yield live
    live.stop()


@pytest.fixture(params=WIDTHS, ids=[f"{width}px" for width in WIDTHS])
def width(request) -> int:
    return request.param


@pytest.fixture
def open_browser(browser, site, width, request):
    """`open_browser(name="")`: a new person's browser window at this test's width. Every window
    must end the test without console errors; closed at the end."""
    journey = request.module.JOURNEY
    people: list[Person] = []
    steps = itertools.count(1)

    def open_one(name: str = "") -> Person:
        person = Person(browser, site.url, journey, width, name, steps)
        people.append(person)
        return person

    yield open_one
    try:
        for person in people:
            person.assert_no_problems()
    finally:
        for person in people:
            person.close()


@pytest.fixture(autouse=True)
def _server_log_on_failure(request, site):
    """When a journey fails, its report ends with the server's last log lines."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"\n--- last lines of {site.log_path} ---\n{site.log_tail()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
