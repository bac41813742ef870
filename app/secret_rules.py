"""What makes a secret too weak for production: its shape, and whether the repository ships it."""

import functools
import os
from pathlib import Path

MIN_SIGNING_SECRET_LENGTH = 32
MIN_PASSWORD_LENGTH = 16
# A value with fewer distinct characters is a pattern someone typed, not random bytes.
MIN_DISTINCT_CHARACTERS = 10
# Directories of a checkout or a Heroku slug that hold no project file (the interpreter,
# installed packages, run-time data).
SKIPPED_DIRECTORIES = frozenset(
    {".git", ".venv", ".heroku", ".profile.d", "instance", "node_modules", "__pycache__"}
)
SCANNED_SUFFIXES = frozenset(
    {".py", ".md", ".txt", ".toml", ".json", ".example", ".html", ".cfg", ".ini", ".yml", ""}
)
MAX_SCANNED_BYTES = 2_000_000


def _shipped_files(root: Path):
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRECTORIES]
        for name in files:
            path = Path(directory) / name
            if path.suffix in SCANNED_SUFFIXES or name.startswith(".env"):
                yield path


@functools.cache
def shipped_text(root: Path) -> str:
    """Every project text file under `root`, concatenated (read once per process)."""
    chunks = []
    for path in _shipped_files(root):
        if path.name == ".env":
            continue  # the developer's own settings, never shipped (git-ignored)
        try:
            if path.stat().st_size <= MAX_SCANNED_BYTES:
                chunks.append(path.read_text(errors="ignore"))
        except OSError:
            continue
    return "\n".join(chunks)


def weakness(value: str, min_length: int, root: Path) -> str | None:
    """Why `value` is not a production secret (None: it is fine)."""
    if not value.strip():
        return "is blank"
    if value != value.strip():
        return "has leading or trailing whitespace"
    if len(value) < min_length:
        return f"is shorter than {min_length} characters"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return f"has fewer than {MIN_DISTINCT_CHARACTERS} distinct characters"
    if value in shipped_text(root):
        return "is a value shipped in the repository"
    return None
