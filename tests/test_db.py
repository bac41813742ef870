"""The MongoDB adapter on the wire server: atomic claims, a client per process, indexes."""

import os
import threading

from pymongo import ReturnDocument

from app.db import INDEXES, MongoNotConfigured, ensure_indexes, get_client, get_db

ROUNDS = 200
THREADS = 8


def test_racing_find_one_and_update_never_both_win(app):
    with app.app_context():
        claims = get_db()["claims"]
        claims.insert_many([{"_id": i, "owner": None} for i in range(ROUNDS)])
        winners: dict[int, list[int]] = {i: [] for i in range(ROUNDS)}
        barrier = threading.Barrier(THREADS)

        def contend(me: int) -> None:
            barrier.wait()
            for i in range(ROUNDS):
                won = claims.find_one_and_update(
                    {"_id": i, "owner": None},
                    {"$set": {"owner": me}},
                    return_document=ReturnDocument.AFTER,
                )
                if won is not None:
                    winners[i].append(me)

        threads = [threading.Thread(target=contend, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(len(w) == 1 for w in winners.values()), {
            i: w for i, w in winners.items() if len(w) != 1
        }
        stored = {doc["_id"]: doc["owner"] for doc in claims.find()}
        assert all(stored[i] == winners[i][0] for i in range(ROUNDS))


def test_one_client_per_process(app):
    url = app.config["MONGO_URL"]
    assert get_client(url) is get_client(url)


def test_forked_child_gets_its_own_client(app):
    url = app.config["MONGO_URL"]
    parent_id = id(get_client(url))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports whether it got a new client, then exits at once
        os.close(read)
        os.write(write, b"new" if id(get_client(url)) != parent_id else b"same")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 16)
    os.waitpid(pid, 0)
    assert answer == b"new"


def test_ensure_indexes_is_idempotent(app):
    with app.app_context():
        first = ensure_indexes()
        second = ensure_indexes()
        assert first == second
        names = set(get_db()["users"].index_information())
        assert {"email_unique", "google_sub_unique"} <= names
        assert set(first) == set(INDEXES)


def test_ensure_indexes_drops_the_indexes_an_earlier_release_left(app):
    with app.app_context():
        log = get_db().email_log
        log.create_index("provider_message_id", name="provider_message_id")
        log.create_index([("status", 1), ("lease_until", 1)], name="status_lease")
        ensure_indexes()
        names = set(log.index_information())
    assert not names & {"provider_message_id", "status_lease"}
    assert {"key_unique", "status_next_attempt"} <= names


def test_datetimes_come_back_aware_utc(app):
    from datetime import UTC, datetime

    with app.app_context():
        moment = datetime(2026, 11, 29, 9, 0, 0, 123000, tzinfo=UTC)
        get_db()["probe"].insert_one({"_id": 1, "at": moment})
        stored = get_db()["probe"].find_one({"_id": 1})["at"]
        assert stored == moment
        assert stored.utcoffset().total_seconds() == 0


def test_no_url_is_a_clear_error():
    import pytest

    with pytest.raises(MongoNotConfigured, match="set MONGO_URL"):
        get_client(None)


def test_partial_unique_index_allows_many_missing_values(app):
    import pytest
    from pymongo.errors import DuplicateKeyError

    with app.app_context():
        users = get_db()["users"]
        users.insert_one({"email": "a@example.com"})
        users.insert_one({"email": "b@example.com"})
        users.insert_one({"email": "c@example.com", "google_sub": "123"})
        with pytest.raises(DuplicateKeyError):
            users.insert_one({"email": "d@example.com", "google_sub": "123"})
