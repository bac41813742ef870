"""MongoDB: one client per process (created after fork), mongomock when no MONGO_URL is set."""

import functools
import os
import threading

import pymongo
from flask import current_app
from pymongo import ASCENDING, DESCENDING, IndexModel

_client_lock = threading.Lock()
_clients: dict[str, tuple[int, object]] = {}

# mongomock is not atomic across threads (two find_one_and_update calls can both win), and its
# cursors iterate a dict other threads may be changing: one process-wide lock serialises them.
MONGOMOCK_LOCK = threading.RLock()
_LOCKED_COLLECTION_METHODS = (
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "replace_one",
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
    "delete_one",
    "delete_many",
    "bulk_write",
    "create_index",
    "create_indexes",
    "drop_index",
    "drop_indexes",
    "drop",
    "find_one",
    "count_documents",
    "estimated_document_count",
    "distinct",
    "aggregate",
)


CLIENT_DEFAULTS = {
    "serverSelectionTimeoutMS": 5000,
    "connectTimeoutMS": 5000,
    "timeoutMS": 10000,
    "maxPoolSize": 20,
}


def is_mongomock(url: str | None) -> bool:
    """True when the URL selects mongomock (unset or `mongomock://`)."""
    return not url or url.startswith("mongomock://")


def _serialised(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with MONGOMOCK_LOCK:
            return method(*args, **kwargs)

    wrapper.__serialised__ = True
    return wrapper


def _install_mongomock_lock(mongomock) -> None:
    collection_cls = mongomock.collection.Collection
    for name in _LOCKED_COLLECTION_METHODS:
        method = getattr(collection_cls, name)
        if not getattr(method, "__serialised__", False):
            setattr(collection_cls, name, _serialised(method))
    cursor_cls = mongomock.collection.Cursor
    if not getattr(cursor_cls._compute_results, "__serialised__", False):
        cursor_cls._compute_results = _serialised(cursor_cls._compute_results)


def _new_client(url: str | None, appname: str):
    if is_mongomock(url):
        import mongomock

        _install_mongomock_lock(mongomock)
        return mongomock.MongoClient(tz_aware=True)
    # Defaults for what the URL leaves unsaid; options in the URL win.
    given = {key.lower() for key in pymongo.uri_parser.parse_uri(url)["options"]}
    options = {key: value for key, value in CLIENT_DEFAULTS.items() if key.lower() not in given}
    return pymongo.MongoClient(url, tz_aware=True, appname=appname, **options)


def get_client(url: str | None, appname: str = "goalgetter"):
    """The client for `url` in this process; a forked child gets its own (PyMongo is not
    fork-safe), mongomock one shared client per process."""
    key = url or "mongomock://"
    pid = os.getpid()
    with _client_lock:
        cached = _clients.get(key)
        if cached is None or cached[0] != pid:
            _clients[key] = (pid, _new_client(url, appname))
        return _clients[key][1]


def database_name(config) -> str:
    """The database name: MONGO_DB_NAME, else the URL's path, else `goalgetter`."""
    if config.get("MONGO_DB_NAME"):
        return config["MONGO_DB_NAME"]
    url = config.get("MONGO_URL")
    if url and not is_mongomock(url):
        parsed = pymongo.uri_parser.parse_uri(url)
        if parsed.get("database"):
            return parsed["database"]
    return "goalgetter"


def get_db(config=None):
    """The application database (its client returns aware UTC datetimes)."""
    config = current_app.config if config is None else config
    client = get_client(config.get("MONGO_URL"), appname=config.get("APP_ROLE", "goalgetter"))
    return client.get_database(database_name(config))


# Every index the service needs, by collection; names are explicit so a changed option is a
# visible migration rather than an IndexOptionsConflict at start (PITFALLS 6.4).
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
        IndexModel([("status", ASCENDING), ("lease_until", ASCENDING)], name="status_lease"),
        IndexModel([("provider_message_id", ASCENDING)], name="provider_message_id"),
        IndexModel([("to", ASCENDING), ("created_at", DESCENDING)], name="to_created"),
    ],
}


def ensure_indexes(db=None) -> dict[str, list[str]]:
    """Create every index (idempotent); returns the index names per collection."""
    db = get_db() if db is None else db
    created: dict[str, list[str]] = {}
    for collection, models in INDEXES.items():
        # One create_index per model: mongomock's create_indexes drops partialFilterExpression.
        for model in models:
            options = dict(model.document)
            keys = list(options.pop("key").items())
            created.setdefault(collection, []).append(db[collection].create_index(keys, **options))
    return created


def register_db(app) -> None:
    """Outside production, create the indexes on start (production runs `ensure-indexes` in
    its release phase)."""
    if app.config["APP_ENV"] == "production":
        return
    import logging

    try:
        with app.app_context():
            ensure_indexes()
    except pymongo.errors.PyMongoError as exc:
        logging.getLogger(__name__).warning("could not ensure indexes: %s", exc)
