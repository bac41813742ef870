"""The reminder property through the real path, with and without a Redis flush: every reminder
goes out exactly once, at its due minute (or at once when booked inside its window); a flush
changes nothing, because the scheduler's recovery run re-arms what Redis lost."""

from collections import Counter

import pytest

from app.email.send import reminder_key
from app.meetings import reminders
from tests.email_support import T0
from tests.reminder_sim import HORIZON, MEETINGS, expected_send_time, simulate

SEED = 20261129


def _report(capsys, outcome, sent: int) -> None:
    flushed = f", Redis flushed at {outcome.flush_at:%Y-%m-%d %H:%M}Z" if outcome.flush_at else ""
    with capsys.disabled():
        print(
            f"\n[reminder property] {MEETINGS} meetings over {HORIZON.total_seconds() / 3600:.0f} "
            f"simulated hours ({outcome.minutes} minutes with something due){flushed}: {sent} "
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
                reminder_key(kind, plan.meeting_id, plan.final_start)
                if plan.meeting_id is not None
                else None
            )
            row = outcome.rows.get(key) if key else None
            if when is None:
                assert row is None, (plan, kind)
                continue
            window_end = plan.final_start - spec.window_end
            expected_rows += 1
            assert row is not None, (plan, kind, when)
            assert plan.final_start - spec.lead <= row["created_at"] <= window_end, (plan, kind)
            assert row["created_at"] == when, (plan, kind, flushed)
            assert (key in sent_keys) == eligible, (plan, kind, row["status"])
            assert row["status"] == ("sent" if eligible else row["status"])
            if not eligible:
                assert row["status"] in ("opted_out", "suppressed")
    assert expected_rows > MEETINGS
    return len(sent_keys)


@pytest.mark.parametrize("flush", [False, True], ids=["steady", "redis-flushed"])
def test_every_reminder_exactly_once_in_its_window(
    email_ctx, redis_conn, fake_sendgrid, capsys, flush
):
    outcome = simulate(email_ctx, redis_conn, fake_sendgrid, T0, SEED, flush)
    sent = _check(outcome, flush)
    _report(capsys, outcome, sent)
