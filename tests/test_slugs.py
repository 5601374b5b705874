"""Generated page names (app/common/slugs.py): what a Chinese title becomes in a shared link."""
from __future__ import annotations

import pytest

from app.catalog.models import Course
from app.common.slugs import pinyin_slug
from app.extensions import db
from tests.factories import make_course


@pytest.mark.parametrize(("title", "slug"), [
    ("快速玩转小红书成长特训营", "kuai-su-wan-zhuan-xiao-hong-shu-cheng-zhang-te-xun-ying"),
    # Numbers and Latin words stay whole: "10" must not become "1-0".
    ("1688运营10天", "1688-yun-ying-10-tian"),
    ("WeChat 私域：2025 复盘", "wechat-si-yu-2025-fu-pan"),
    ("抖音电商从0到1实战营", "dou-yin-dian-shang-cong-0-dao-1-shi-zhan-ying"),
    ("１０天玩转ＴＢ", "10-tian-wan-zhuan-tb"),  # full-width digits and letters, as typed on a Chinese keyboard
    ("Café 咖啡", "cafe-ka-fei"),
])
def test_titles_become_lower_case_pinyin_with_digits_and_words_kept(title, slug):
    assert pinyin_slug(title) == slug


@pytest.mark.parametrize(("title", "slug"), [
    ("《抖音》——直播！！？", "dou-yin-zhi-bo"),
    ("🔥爆款🎉 笔记 💪🏻", "bao-kuan-bi-ji"),
    ("小红书 / 种草 & 拔草", "xiao-hong-shu-zhong-cao-ba-cao"),
    ("a_b--c", "a-b-c"),
])
def test_punctuation_and_emoji_are_dropped(title, slug):
    assert pinyin_slug(title) == slug


def test_rare_characters_do_not_break_the_slug():
    assert pinyin_slug("喆") == "zhe"
    assert pinyin_slug("𠮷野家牛肉饭") == "ye-jia-niu-rou-fan"  # 𠮷 (outside the BMP) has no reading here
    assert pinyin_slug("𠮷") == ""


@pytest.mark.parametrize("title", ["", "   ", "🎉🎉", "！？。", "𠮷"])
def test_nothing_readable_gives_an_empty_slug(title):
    assert pinyin_slug(title) == ""


def test_long_titles_are_cut_between_syllables():
    slug = pinyin_slug("小红书" * 40)
    assert len(slug) <= 80 and not slug.endswith("-")
    assert slug.split("-")[-1] in {"xiao", "hong", "shu"}  # never half a syllable
    assert len(pinyin_slug("小红书" * 40, max_chars=20)) <= 20
    assert pinyin_slug("a" * 100) == "a" * 80  # one overlong word is cut where it must be


def test_courses_use_these_slugs_and_fall_back_to_course(ctx):
    with_digits = make_course("1688运营10天")
    no_letters = make_course("🎉🎉")
    assert db.session.get(Course, with_digits).slug == "1688-yun-ying-10-tian"
    assert db.session.get(Course, no_letters).slug == "course"


def test_a_second_course_with_a_long_title_gets_a_numbered_slug_that_fits(ctx):
    title = "小红书" * 40
    first, second, third = (db.session.get(Course, make_course(title)).slug for _ in range(3))
    assert second != first and third not in (first, second)
    for slug in (second, third):
        assert len(slug) <= 80 and "--" not in slug
    assert (second.rsplit("-", 1)[1], third.rsplit("-", 1)[1]) == ("2", "3")
