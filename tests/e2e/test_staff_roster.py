"""Journey 6: staff open the roster and the attendance grid of a three-day camp on a phone and on
a laptop. Every day's column can be seen (or reached by scrolling the table itself, with the name
column staying in view), and the page never scrolls sideways."""
from __future__ import annotations

from tests.e2e.data import make_student, phone_number, three_day_session_today
from tests.e2e.pages import expect

JOURNEY = "staff-roster"

# Whether the table fits its box; then, after the box is scrolled as far right as it goes, where
# its cells are, seen from the page: the box, the name of the first row, the third day's heading.
_LAYOUT_SCRIPT = """([wrapSelector, nameSelector, daySelector]) => {
  const wrap = document.querySelector(wrapSelector);
  const box = (el) => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right}; };
  const fits = wrap.scrollWidth <= wrap.clientWidth;
  wrap.scrollLeft = wrap.scrollWidth;
  return {
    fits: fits,
    wrap: box(wrap), name: box(document.querySelector(nameSelector)),
    day: box(document.querySelectorAll(daySelector)[2]),
    page: {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth},
  };
}"""


def assert_third_day_reachable_with_name_in_view(page, wrap: str, name: str, day: str, must_fit: bool) -> None:
    """At 1280 px every column fits; on a phone the table scrolls in its box, the name staying."""
    layout = page.evaluate(_LAYOUT_SCRIPT, [wrap, name, day])
    inside = layout["wrap"]
    if must_fit:
        assert layout["fits"], f"the table does not fit at {page.viewport_size['width']} px: {layout}"
    assert layout["page"]["scrollWidth"] <= layout["page"]["innerWidth"], f"the page scrolls sideways: {layout}"
    assert inside["left"] - 1 <= layout["day"]["left"] and layout["day"]["right"] <= inside["right"] + 1, (
        f"the third day's column cannot be brought into view: {layout}")
    assert inside["left"] - 1 <= layout["name"]["left"] and layout["name"]["right"] <= inside["right"] + 1, (
        f"the name column left the view while the table scrolled: {layout}")
    # The name and the third day side by side, not on top of each other.
    assert layout["name"]["right"] <= layout["day"]["left"] + 1, layout


def test_staff_see_every_day_of_a_three_day_camp(site, open_browser, width):
    people = [(f"roster{width}-{n}@a-rather-long-company-domain.example.com", name)
              for n, name in enumerate(["阿依古丽·买买提", "欧阳娜娜", "王𠮷"], 1)]
    ids = [make_student(site, email, name, phone_number(width, 60 + n)) for n, (email, name) in enumerate(people)]
    camp = three_day_session_today(site, f"小红书电商三天实战营 {width}", ids,
                                   "小红书起号实操：从 0 到月销百万的 30 天完整复盘（附店铺数据）")

    staff = open_browser("staff")
    page = staff.page
    staff.log_in("staff@example.com")
    page.goto(f"/staff/sessions/{camp.session_id}/roster")
    expect(page.locator(".roster-table th.day")).to_have_count(3)
    expect(page.locator(".roster-table th.person")).to_have_count(3)
    staff.check("roster")
    assert_third_day_reachable_with_name_in_view(
        page, ".roster-table-wrap", ".roster-table tbody th.person", ".roster-table thead th.day", width >= 1280)
    staff.screenshot("roster-scrolled")

    page.goto(f"/staff/sessions/{camp.session_id}/attendance")
    expect(page.locator(".attendance-table thead .att-day")).to_have_count(3)
    staff.check("attendance")
    assert_third_day_reachable_with_name_in_view(
        page, ".attendance-wrap", ".attendance-table tbody th.sticky-col", ".attendance-table thead .att-day",
        width >= 1280)
