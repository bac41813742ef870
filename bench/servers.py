"""The servers a benchmark runs against: the same kinds the tests use (SecantusDB, Redis)."""

import contextlib
import tempfile
from pathlib import Path

from devtools.services import MongoServer, RedisServer, running


@contextlib.contextmanager
def servers():
    """Yield (mongo_url, redis_url) of a private SecantusDB and redis-server."""
    with tempfile.TemporaryDirectory(prefix="goalgetter-bench-") as workdir:
        root = Path(workdir)
        with (
            running(MongoServer(root / "mongo"), tie_to_parent=True) as mongo,
            running(RedisServer(root / "redis"), tie_to_parent=True) as redis_server,
        ):
            yield mongo.url_for("goalgetter_bench"), redis_server.url
