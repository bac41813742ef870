"""Job functions used only by the tests (importable by dotted path, like real jobs)."""


def explode(reason: str) -> None:
    """A job that fails."""
    raise ValueError(f"exploded: {reason}")


def log_something() -> str:
    """A job that logs one line."""
    import logging

    logging.getLogger("tests.job").info("inside the job")
    return "logged"
