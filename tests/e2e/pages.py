"""What every browser test checks on every page, and logging in.

`Person` is one visitor's browser (a Playwright context and its page). After each page load a
journey calls `person.check(step)`: the page must not scroll sideways at 375 px, no console error,
uncaught script error, Content-Security-Policy violation, page without that policy or 5xx response
may have appeared since the page opened, and a full-page screenshot goes to
artifacts/screenshots/<journey>-<width>-<step>.png for people to look at.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.server import ARTIFACTS

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or, in CI, fails) every journey before it needs this
    expect = None

SCREENSHOTS = ARTIFACTS / "screenshots"
MOBILE_WIDTH = 375
DEMO_PASSWORD = "demo12345"

# Elements sticking out of the viewport, to name the culprit when a page scrolls sideways.
_OVERFLOW_SCRIPT = """() => {
  const width = window.innerWidth;
  const root = document.documentElement;
  const culprits = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 0.5 && culprits.length < 5) {
      culprits.push(el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '') + ' (right edge ' + Math.round(box.right) + ')');
    }
  }
  return {scrollWidth: root.scrollWidth, innerWidth: width, culprits: culprits};
}"""

_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline")
                + " in " + (event.sourceFile || document.location.href) + ":" + event.lineNumber);
});
"""


def viewport_options(width: int) -> dict:
    if width == MOBILE_WIDTH:  # an iPhone-sized phone: touch, mobile viewport rules, a dense screen
        return {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True,
                "device_scale_factor": 2}
    return {"viewport": {"width": width, "height": 800}}


class Person:
    """One person's browser window in a journey."""

    def __init__(self, browser, base_url: str, journey: str, width: int, name: str = "",
                 steps: Iterator[int] | None = None) -> None:
        self.context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                           **viewport_options(width))
        self.context.set_default_timeout(10_000)
        # The site's Content-Security-Policy refuses inline scripts and foreign sources: a page it
        # breaks reports the refusal, which is turned into a console error (a problem, below).
        self.context.add_init_script(_REPORT_CSP_VIOLATIONS)
        self.page = self.context.new_page()
        self.journey, self.width, self.name, self.base_url = journey, width, name, base_url
        self.problems: list[str] = []
        self._steps = steps or itertools.count(1)  # shared by the people of a journey: files sort in order
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"uncaught script error: {error}"))
        self.page.on("response", self._on_response)
        # The site asks "确定要取消…？" with confirm(); a person taps OK.
        self.page.on("dialog", lambda dialog: dialog.accept())

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _on_response(self, response) -> None:
        if response.status >= 500:
            self.problems.append(f"{response.status} from {response.url}")
        # The site's HTML pages only: a download (the certificate PDF) reaches Playwright without its
        # headers, and a payment provider's page (its local stand-in) is not ours.
        if (response.url.startswith(self.base_url) and response.request.resource_type == "document"
                and "text/html" in response.headers.get("content-type", "")
                and "content-security-policy" not in response.headers):
            self.problems.append(f"no Content-Security-Policy on {response.url}")

    def check(self, step: str) -> Path:
        """The checks every main page passes, then its screenshot. Returns the screenshot's path."""
        page = self.page
        page.wait_for_load_state("load")
        if self.width == MOBILE_WIDTH:
            layout = page.evaluate(_OVERFLOW_SCRIPT)
            # A mobile browser zooms out to fit wide content, which widens innerWidth: hence both.
            assert layout["scrollWidth"] <= layout["innerWidth"] == MOBILE_WIDTH, (
                f"{step}: {page.url} scrolls sideways at {MOBILE_WIDTH} px "
                f"(content {layout['scrollWidth']} px wide; wider elements: {layout['culprits']})"
            )
        self.assert_no_problems()
        return self.screenshot(step)

    def screenshot(self, step: str) -> Path:
        who = f"-{self.name}" if self.name else ""
        path = SCREENSHOTS / f"{self.journey}-{self.width}-{next(self._steps):02d}{who}-{step}.png"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("window.scrollTo(0, 0)")  # else the sticky header is drawn mid-page
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_no_problems(self) -> None:
        assert not self.problems, "the browser reported:\n" + "\n".join(self.problems)

    def log_in(self, login: str, password: str = DEMO_PASSWORD) -> None:
        page = self.page
        page.goto("/account/login")
        page.get_by_label("邮箱或手机号").fill(login)
        page.get_by_label("密码").fill(password)
        page.locator("form").get_by_role("button", name="登录").click()
        page.wait_for_url(lambda url: "/account/login" not in url)

    def close(self) -> None:
        self.context.close()
