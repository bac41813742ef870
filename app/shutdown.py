"""A shutdown announced to this process: on Heroku's SIGTERM the worker gives its running job a
few seconds' warning before cutting it. Long jobs check `announced()` between units of work
and hand back what they have not started, instead of being cut in the middle of one."""

_announced = False


def announce() -> None:
    """Record that this process will be stopped shortly."""
    global _announced
    _announced = True


def announced() -> bool:
    """Whether a shutdown has been announced to this process."""
    return _announced
