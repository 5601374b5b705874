"""A camera for the browser tests: chromium's fake video capture, fed a .y4m file of QR codes.

Chromium started with --use-fake-device-for-media-stream and --use-file-for-fake-video-capture=F
gives getUserMedia() the frames of F (looped), and --use-fake-ui-for-media-stream answers its
permission prompt. Y4M is the simplest video file there is: a text header, then for each frame
"FRAME\n" and its Y, U and V planes (4:2:0: the colour planes at half width and height).
"""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

WIDTH, HEIGHT, FPS = 640, 480, 5


def frame_of(png: bytes | None) -> Image.Image:
    """A camera frame: the QR code's image in the middle of a white page (None: the white page alone,
    as when no ticket is held up)."""
    frame = Image.new("RGB", (WIDTH, HEIGHT), "white")
    if png is not None:
        code = Image.open(io.BytesIO(png)).convert("RGB")
        code.thumbnail((HEIGHT - 40, HEIGHT - 40))
        frame.paste(code, ((WIDTH - code.width) // 2, (HEIGHT - code.height) // 2))
    return frame


def write_y4m(path: Path, scenes: list[tuple[bytes | None, float]]) -> Path:
    """A video of `scenes`: (QR code PNG or None, seconds shown), one after another."""
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for png, seconds in scenes:
            # PIL's YCbCr is JPEG's (full range), which C420jpeg names.
            y, u, v = frame_of(png).convert("YCbCr").split()
            half = (WIDTH // 2, HEIGHT // 2)
            planes = y.tobytes() + u.resize(half, Image.BOX).tobytes() + v.resize(half, Image.BOX).tobytes()
            for _ in range(round(seconds * FPS)):
                video.write(b"FRAME\n" + planes)
    return path


def fake_camera_args(video: Path) -> list[str]:
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]
