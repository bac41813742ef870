"""The web server's worker: gunicorn's threaded worker, answering the requests it refuses
before the app sees them (request line or headers too long, malformed HTTP) in the API's JSON
error shape instead of gunicorn's HTML page."""

import json

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker

from app.errors import HTTP_CODES, error_body

# The parse errors gunicorn answers as a client error, by the status it gives each.
REFUSED = {
    http_errors.LimitRequestLine: 414,
    http_errors.LimitRequestHeaders: 431,
    http_errors.InvalidRequestLine: 400,
    http_errors.InvalidRequestMethod: 400,
    http_errors.InvalidHTTPVersion: 400,
    http_errors.InvalidHeader: 400,
    http_errors.InvalidHeaderName: 400,
    http_errors.ObsoleteFolding: 400,
    http_errors.InvalidChunkSize: 400,
    http_errors.ChunkMissingTerminator: 400,
    http_errors.InvalidChunkExtension: 400,
}
REASONS = {400: "Bad Request", 414: "URI Too Long", 431: "Request Header Fields Too Large"}


def refusal(status: int) -> bytes:
    """The whole HTTP response for a request refused with `status`, in the JSON error shape."""
    code, message = HTTP_CODES[status]
    body = json.dumps(error_body(code, message)).encode()
    head = (
        f"HTTP/1.1 {status} {REASONS[status]}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class JSONErrorWorker(ThreadWorker):
    """gunicorn's gthread worker with its client-error pages in the JSON error shape."""

    def handle_error(self, req, client, addr, exc):
        """Answer a refused request in the JSON shape; anything else as gunicorn does."""
        status = next((s for kind, s in REFUSED.items() if isinstance(exc, kind)), None)
        if status is None:
            return super().handle_error(req, client, addr, exc)
        self.log.warning("refused a request from %s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, refusal(status))
        except OSError:
            self.log.debug("could not send the refusal")
        return None
