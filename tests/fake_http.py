"""A local fake HTTP server for the tests: records requests, answers with a handler."""

import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict
    body: bytes
    # The client's socket while the request is being answered (a fake may watch it).
    connection: object = field(default=None, repr=False, compare=False)
    # time.time() when the answer reached the client's socket.
    answered_at: float | None = field(default=None, compare=False)


@dataclass
class Reply:
    """What the fake answers."""

    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)


class ClientGone(Exception):
    """The client closed its connection before the fake answered."""


def client_gone(sock: socket.socket) -> bool:
    """Whether the peer of `sock` has closed its end (readable with nothing to read)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 resets connections when a client opens dozens at
    # once (a pool of concurrent senders); a real provider's is far larger.
    request_queue_size = 256


class FakeServer:
    """Threaded HTTP server on 127.0.0.1; `respond(recorded) -> Reply` decides each answer (it
    may raise ClientGone: nothing is answered). `answered` holds the requests whose answer
    reached the client's socket."""

    def __init__(self, respond=None):
        self.requests: list[Recorded] = []
        self.answered: list[tuple[Recorded, Reply]] = []
        self._respond = respond or (lambda recorded: Reply())
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                recorded = Recorded(
                    self.command,
                    self.path,
                    dict(self.headers),
                    self.rfile.read(length),
                    connection=self.connection,
                )
                with fake._lock:
                    fake.requests.append(recorded)
                try:
                    reply = fake._respond(recorded)
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                except (ClientGone, OSError):
                    self.close_connection = True
                    return
                recorded.answered_at = time.time()
                with fake._lock:
                    fake.answered.append((recorded, reply))

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:43123."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
