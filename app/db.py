"""MongoDB: one client per process (created after fork), indexes from one table."""

import contextlib
import logging
import os
import threading

import pymongo
from flask import current_app
from pymongo import ASCENDING, DESCENDING, IndexModel

log = logging.getLogger(__name__)

_client_lock = threading.Lock()
_clients: dict[str, tuple[int, pymongo.MongoClient]] = {}

# timeoutMS bounds each operation as a whole, retries and server selection included: with
# MongoDB unreachable a request gets its 503 within about 5 s, never hangs.
CLIENT_DEFAULTS = {
    "serverSelectionTimeoutMS": 5000,
    "connectTimeoutMS": 5000,
    "timeoutMS": 5000,
    "maxPoolSize": 20,
}
# Index builds on a large collection take longer than one request's budget.
INDEX_BUILD_TIMEOUT_S = 600
# `$in` lists stay short: the test server matches a long one per document, superlinearly.
IN_LIST_MAX = 100


class MongoNotConfigured(RuntimeError):
    """No MONGO_URL and no embedded server of `make run` running."""


def _new_client(url: str, appname: str) -> pymongo.MongoClient:
    # Defaults for what the URL leaves unsaid; options in the URL win.
    given = {key.lower() for key in pymongo.uri_parser.parse_uri(url)["options"]}
    options = {key: value for key, value in CLIENT_DEFAULTS.items() if key.lower() not in given}
    return pymongo.MongoClient(url, tz_aware=True, appname=appname, **options)


def get_client(url: str | None, appname: str = "goalgetter") -> pymongo.MongoClient:
    """The client for `url` in this process; a forked child gets its own (PyMongo is not
    fork-safe)."""
    if not url:
        raise MongoNotConfigured(
            "no MongoDB: set MONGO_URL, or start `make run` so its embedded server is found"
        )
    pid = os.getpid()
    with _client_lock:
        cached = _clients.get(url)
        if cached is None or cached[0] != pid:
            _clients[url] = (pid, _new_client(url, appname))
        return _clients[url][1]


def database_name(config) -> str:
    """The database name: MONGO_DB_NAME, else the URL's path, else `goalgetter`."""
    if config.get("MONGO_DB_NAME"):
        return config["MONGO_DB_NAME"]
    url = config.get("MONGO_URL")
    if url:
        parsed = pymongo.uri_parser.parse_uri(url)
        if parsed.get("database"):
            return parsed["database"]
    return "goalgetter"


def in_chunks(items: list, size: int = IN_LIST_MAX):
    """`items` in slices short enough for one `$in`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def get_db(config=None):
    """The application database (its client returns aware UTC datetimes)."""
    config = current_app.config if config is None else config
    client = get_client(config.get("MONGO_URL"), appname=config.get("APP_ROLE", "goalgetter"))
    return client.get_database(database_name(config))


# Every index the service needs, by collection. Names are explicit: MongoDB refuses an index
# whose name exists with other options (IndexOptionsConflict), so a changed option shows up as
# a deliberate migration, never as a surprise at start.
INDEXES: dict[str, list[IndexModel]] = {
    "users": [
        IndexModel([("email", ASCENDING)], name="email_unique", unique=True),
        IndexModel(
            [("google_sub", ASCENDING)],
            name="google_sub_unique",
            unique=True,
            partialFilterExpression={"google_sub": {"$type": "string"}},
        ),
    ],
    "refresh_tokens": [
        IndexModel([("jti", ASCENDING)], name="jti_unique", unique=True),
        IndexModel([("family", ASCENDING)], name="family"),
        IndexModel([("user_id", ASCENDING)], name="user_id"),
        IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0),
    ],
    "goals": [
        IndexModel([("user_id", ASCENDING), ("created_at", DESCENDING)], name="user_created"),
    ],
    "meetings": [
        IndexModel(
            [("user_id", ASCENDING), ("scheduled_at", ASCENDING)],
            name="user_slot_unique",
            unique=True,
            partialFilterExpression={"slot_taken": True},
        ),
        IndexModel([("user_id", ASCENDING), ("scheduled_at", ASCENDING)], name="user_scheduled"),
        IndexModel([("status", ASCENDING), ("scheduled_at", ASCENDING)], name="status_scheduled"),
    ],
    "chat_messages": [
        IndexModel(
            [("user_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
            name="user_created_id",
        ),
        IndexModel([("created_at", ASCENDING)], name="created_at"),
    ],
    "email_log": [
        IndexModel([("key", ASCENDING)], name="key_unique", unique=True),
        IndexModel(
            [("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="status_next_attempt"
        ),
        IndexModel(
            [("lease_token", ASCENDING)],
            name="lease_token",
            partialFilterExpression={"lease_token": {"$type": "string"}},
        ),
        IndexModel([("to", ASCENDING), ("created_at", DESCENDING)], name="to_created"),
    ],
}
# Indexes an earlier release created and none of today's queries needs: each costs every write
# of its collection. `status_lease`: the `sending` rows are few and `status_next_attempt` finds
# them; `provider_message_id`: a webhook event finds its row by email_log_id, or by its
# message id among the rows to its address (`to_created`).
OBSOLETE_INDEXES: dict[str, list[str]] = {
    "email_log": ["status_lease", "provider_message_id"],
}


def ensure_indexes(db=None, build_timeout_s: float | None = None) -> dict[str, list[str]]:
    """Create every index (idempotent); returns the index names per collection.
    `build_timeout_s` allows index builds longer than one operation's usual budget (the
    release phase); the server must answer a ping within the usual budget first."""
    db = get_db() if db is None else db
    created: dict[str, list[str]] = {}
    db.command("ping")
    with pymongo.timeout(build_timeout_s) if build_timeout_s else contextlib.nullcontext():
        for collection, models in INDEXES.items():
            created[collection] = db[collection].create_indexes(models)
        for collection, names in OBSOLETE_INDEXES.items():
            present = set(db[collection].index_information())
            for name in present.intersection(names):
                db[collection].drop_index(name)
    return created


def register_db(app) -> None:
    """Outside production, create the indexes on start (production runs `ensure-indexes` in
    its release phase)."""
    if app.config["APP_ENV"] == "production":
        return
    if not app.config.get("MONGO_URL"):
        log.warning("no MONGO_URL: MongoDB is not configured for this process")
        return
    try:
        with app.app_context():
            ensure_indexes()
    except pymongo.errors.PyMongoError as exc:
        log.warning("could not ensure indexes: %s", exc)
