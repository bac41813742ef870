"""Render every email type to PNG with headless Chromium, to look at them as a person would.

    .venv/bin/python scripts/render_emails.py [OUT_DIR]   (default build/emails)

Writes <type>[-<variant>].html, a desktop PNG (700 px wide), a phone PNG (390 px) and the plain
text as a PNG, from the sample data of app/email/samples.py. PNGs stay out of git.
"""

import html
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
SIZES = {"desktop": (700, 1300), "phone": (390, 1700)}
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


def main(argv: list[str]) -> int:
    """Render every preview, then screenshot each."""
    out = Path(argv[0]) if argv else ROOT / "build" / "emails"
    out.mkdir(parents=True, exist_ok=True)
    binary = chromium()
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
            screenshot(binary, text_page, out / f"{name}.text.png", (700, 1100))
            print(f"{name}: {rendered.subject}")
    print(f"PNGs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
