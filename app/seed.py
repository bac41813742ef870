"""Demo data for `make run SEED=1`: each feature adds its part to SEEDERS."""

from collections.abc import Callable

# (name, function returning a count): the accounts and meetings issues add the demo user,
# goals and meetings here.
SEEDERS: list[tuple[str, Callable[[], int]]] = []


def seed_demo() -> dict[str, int]:
    """Run every seeder inside the app context; returns what each created."""
    return {name: seeder() for name, seeder in SEEDERS}
