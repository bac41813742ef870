"""The reminder property through the real path (DESIGN 6), with and without a Redis flush."""

from collections import Counter
from datetime import timedelta

import pytest

from app.meetings import reminders
from tests.email_support import T0
from tests.reminder_sim import expected_send_time, simulate

SEED = 20261129


def _report(capsys, outcome, sent: int) -> None:
    flushed = f", Redis flushed at {outcome.flush_at:%Y-%m-%d %H:%M}Z" if outcome.flush_at else ""
    with capsys.disabled():
        print(
            f"\n[reminder property] 200 meetings over 75 simulated hours{flushed}: {sent} "
            f"reminders sent, {len(outcome.rows)} reminder rows, run time {outcome.seconds:.0f} s"
        )


def _check(outcome, flushed: bool) -> int:
    assert not [k for k, n in Counter(outcome.sendgrid_keys).items() if n > 1], "a key sent twice"
    sent_keys = set(outcome.sendgrid_keys)
    expected_rows = 0
    for plan in outcome.plans:
        eligible = outcome.eligible[plan.user]
        for kind, spec in reminders.KINDS.items():
            when = expected_send_time(plan, kind)
            key = (
                reminders.email_key(kind, plan.meeting_id, plan.final_start)
                if plan.meeting_id is not None
                else None
            )
            row = outcome.rows.get(key) if key else None
            if when is None:
                assert row is None, (plan, kind)
                continue
            window_end = plan.final_start - spec.window_end
            if flushed and outcome.flush_at <= window_end < outcome.flush_at + timedelta(
                minutes=10
            ):
                # The flush may have taken this one's job; it only must not be sent twice.
                assert row is None or plan.final_start - spec.lead <= row["created_at"]
                continue
            expected_rows += 1
            assert row is not None, (plan, kind, when)
            assert plan.final_start - spec.lead <= row["created_at"] <= window_end, (plan, kind)
            if not flushed:
                assert row["created_at"] == when, (plan, kind)
            assert (key in sent_keys) == eligible, (plan, kind, row["status"])
            assert row["status"] == ("sent" if eligible else row["status"])
            if not eligible:
                assert row["status"] in ("opted_out", "suppressed")
    assert expected_rows > 200
    return len(sent_keys)


@pytest.mark.parametrize("flush", [False, True], ids=["steady", "redis-flushed"])
def test_every_reminder_exactly_once_in_its_window(
    email_ctx, redis_conn, fake_sendgrid, capsys, flush
):
    outcome = simulate(email_ctx, redis_conn, fake_sendgrid, T0, SEED, flush)
    sent = _check(outcome, flush)
    _report(capsys, outcome, sent)
