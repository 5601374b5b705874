"""Certificate PDFs: time and size of N certificates rendered one after another on one core.

For each certificate (varied names: common two- and three-character names, rare characters such
as 𠮷 drawn by the fallback font, long Uyghur names; some long course titles):
  - render_certificate(): milliseconds and bytes;
  - the floor, in the same run: a bare reportlab page with the same main font and the same
    compression, the same strings drawn with canvas.drawString at fixed places (no wrapping, no
    fallback fonts, no QR code);
  - certificate / floor, the figure that does not depend on the machine.
The process is pinned to one CPU where the OS allows it; one warm-up render first (imports and
font registration are once per process).

    .venv/bin/python bench/certificates.py            # 1,000 certificates
    .venv/bin/python bench/certificates.py -n 200
"""
from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import time
from dataclasses import replace
from datetime import date, timedelta

from common import ROOT  # noqa: F401  (bench/common.py: puts the repo root on sys.path)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红鹏飞晶婷雪梅琳丹宇浩然子轩欣怡梓涵一诺喆堃昊淼"
RARE_NAMES = ["王𠮷", "张喆", "李堃", "𠮷祥", "买买提·艾力", "阿卜杜热合曼·买买提江·艾合买提",
              "阿卜杜热合曼·买买提江·艾合买提·阿不都拉"]
TITLES = ["快速玩转小红书成长特训营", "抖音电商直播带货实战营", "淘宝天猫店铺运营精英班",
          "快速玩转小红书成长特训营暨抖音直播带货与私域流量运营实战高级研修班（第二期·杭州站）"]
CITIES = ["杭州", "上海", "深圳", "广州", "义乌"]


def contents(count: int):
    from app.certificates.pdf import CertificateContent

    rng = random.Random(20250917)
    for number in range(1, count + 1):
        if number % 10 == 0:
            name = RARE_NAMES[(number // 10) % len(RARE_NAMES)]
        else:
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        start = date(2025, 9, 1) + timedelta(days=rng.randrange(120))
        serial = f"XC2025-{number // 60 + 1:04d}-{number:04d}"
        yield CertificateContent(
            organisation="玺承集团", name=name, course_title=TITLES[number % len(TITLES)], start_date=start,
            end_date=start + timedelta(days=2), hours=24, place=rng.choice(CITIES), issued_on=start + timedelta(days=2),
            serial=serial, verify_url=f"https://www.xicheng.example.com/certificates/verify/{serial}",
        )


def render_floor(content, font: str) -> bytes:
    """The same strings on a bare page, drawString only."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen.canvas import Canvas

    from app.certificates.pdf import certificate_sentence, chinese_date

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=landscape(A4), pageCompression=1)
    lines = [(content.organisation, 20), ("结业证书", 46), (content.name, 34), (certificate_sentence(content), 9),
             ("扫码验证", 10), (f"证书编号：{content.serial}", 10), (f"{content.organisation}（盖章）", 12),
             (f"{content.place} · {chinese_date(content.issued_on)}", 12)]
    y = 520
    for text, size in lines:
        canvas.setFont(font, size)
        canvas.drawString(40, y, text)
        y -= 60
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def measure(render, items) -> tuple[list[float], list[int], float]:
    times, sizes = [], []
    started = time.perf_counter()
    for item in items:
        before = time.perf_counter()
        data = render(item)
        times.append((time.perf_counter() - before) * 1000)
        sizes.append(len(data))
    return times, sizes, time.perf_counter() - started


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    from app import create_app
    from app.certificates.pdf import render_certificate
    from app.common.fonts import pdf_fonts

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})  # no database is touched
    with app.app_context():
        items = list(contents(args.count))
        font = pdf_fonts().main
        render_certificate(items[0])  # warm-up: imports, font registration
        render_certificate(replace(items[0], name="王𠮷"))  # and the fallback font's, done when first needed
        render_floor(items[0], font)
        certificate = measure(render_certificate, items)
        floor = measure(lambda item: render_floor(item, font), items)

    print(f"{args.count} certificates, main font {font}, one core")
    print("| | median | p95 | mean size | max size | total | per 1,000 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, (times, sizes, total) in (("certificate", certificate), ("floor (drawString)", floor)):
        print(f"| {label} | {statistics.median(times):.1f} ms | {p95(times):.1f} ms | "
              f"{statistics.mean(sizes) / 1024:.1f} KB | {max(sizes) / 1024:.1f} KB | {total:.2f} s | "
              f"{total * 1000 / args.count:.1f} s |")
    print(f"certificate / floor: median {statistics.median(certificate[0]) / statistics.median(floor[0]):.1f}, "
          f"total {certificate[2] / floor[2]:.1f}, mean size "
          f"{statistics.mean(certificate[1]) / statistics.mean(floor[1]):.2f}")


if __name__ == "__main__":
    main()
