"""Render every email type to PNG with headless Chromium, to look at them as a person would,
and measure each at phone width.

    .venv/bin/python scripts/render_emails.py [--check] [OUT_DIR]   (default build/emails)

Writes <type>[-<variant>].html, a desktop PNG (700 px wide), a phone PNG (the email in a 390 px
viewport, on a 500 px canvas: headless Chromium's narrowest window) and the plain
text as a PNG, from the production-shaped sample data of app/email/samples.py (the configured
base URLs, signed tokens of real length). Prints each email's laid-out width at 390 px; with
--check it exits 1 when any is wider than the screen. PNGs stay out of git.
"""

import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.email import types  # noqa: E402
from app.email.render import render_email  # noqa: E402
from app.email.samples import sample_recipient  # noqa: E402

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
SIZES = {"desktop": (700, 1300)}
# Headless Chromium never makes its window narrower than 500 px (a --window-size of 390 lays
# the page out at 500 and crops it), so the phone is a 390 px iframe inside a 500 px window.
PHONE_WIDTH, PHONE_HEIGHT, WINDOW_WIDTH = 390, 1700, 500
PHONE_PAGE = (
    "<!DOCTYPE html><meta charset='utf-8'><style>body{{margin:0;background:#8a8d9c}}"
    "iframe{{border:0;display:block;background:#fff}}</style>"
    "<iframe id='phone' width='{width}' height='{height}' srcdoc='{email}'></iframe>"
    # After layout; --dump-dom prints the title this sets.
    "<script>addEventListener('load', () => {{ const phone = document.getElementById('phone');"
    " document.title = 'width=' + phone.contentDocument.documentElement.scrollWidth; }});"
    "</script>"
)
TEXT_PAGE = (
    "<!DOCTYPE html><meta charset='utf-8'><body style='margin:16px;background:#fff'>"
    "<p style='font:bold 14px monospace'>Subject: {subject}</p>"
    "<pre style='font:13px/1.45 monospace;white-space:pre-wrap'>{text}</pre></body>"
)


def chromium() -> str:
    """The Chromium binary (Debian's `chromium`)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("chromium not found: apt-get install chromium")


def screenshot(binary: str, page: Path, png: Path, size: tuple[int, int]) -> None:
    """One PNG of `page` at `size`, in a throw-away profile."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        subprocess.run(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={size[0]},{size[1]}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )


def phone_page(email_html: str) -> str:
    """A page showing `email_html` in a 390 px wide viewport."""
    email = html.escape(email_html, quote=True)
    return PHONE_PAGE.format(width=PHONE_WIDTH, height=PHONE_HEIGHT, email=email)


def laid_out_width(binary: str, page: Path) -> int:
    """The email's scroll width in the phone viewport of `page` (a phone_page)."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        dom = subprocess.run(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={WINDOW_WIDTH},{PHONE_HEIGHT}",
                "--virtual-time-budget=3000",
                "--dump-dom",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    return int(re.search(r"<title>width=(\d+)</title>", dom).group(1))


def main(argv: list[str]) -> int:
    """Render every preview, screenshot each, measure each at phone width."""
    check = "--check" in argv
    argv = [arg for arg in argv if arg != "--check"]
    out = Path(argv[0]) if argv else ROOT / "build" / "emails"
    out.mkdir(parents=True, exist_ok=True)
    binary = chromium()
    too_wide: list[str] = []
    app = create_app({"APP_ENV": "development", "REDIS_URL": None})
    with app.app_context():
        for email_type, variant in types.previews():
            name = email_type + (f"-{variant}" if variant else "")
            rendered = render_email(
                email_type, sample_recipient(), types.get(email_type).sample(variant)
            )
            page = out / f"{name}.html"
            page.write_text(rendered.html)
            text_page = out / f"{name}.text.html"
            text_page.write_text(
                TEXT_PAGE.format(
                    subject=html.escape(rendered.subject), text=html.escape(rendered.text)
                )
            )
            for label, size in SIZES.items():
                screenshot(binary, page, out / f"{name}.{label}.png", size)
            phone = out / f"{name}.phone.html"
            phone.write_text(phone_page(rendered.html))
            screenshot(binary, phone, out / f"{name}.phone.png", (WINDOW_WIDTH, PHONE_HEIGHT))
            screenshot(binary, text_page, out / f"{name}.text.png", (700, 1100))
            width = laid_out_width(binary, phone)
            if width > PHONE_WIDTH:
                too_wide.append(name)
            print(f"{name}: {width} px wide at {PHONE_WIDTH} px; {rendered.subject}")
    print(f"PNGs in {out}")
    if too_wide:
        print(f"wider than a {PHONE_WIDTH} px phone: {', '.join(too_wide)}")
    return 1 if check and too_wide else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
