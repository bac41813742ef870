"""Job functions used only by the tests (importable by dotted path, like real jobs)."""


def explode(reason: str) -> None:
    """A job that fails."""
    raise ValueError(f"exploded: {reason}")
