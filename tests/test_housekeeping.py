"""Housekeeping on SQLite and PostgreSQL: what is past its use goes, in batches; what is still in use
stays and keeps working (a signed-in session, a form token that stops a double submission, a live
rate-limit window, an unexpired one-time code); ``delayhub housekeeping`` runs it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from test_web_accounts import add_users

from delayhub import config
from delayhub.cli import main
from delayhub.housekeeping import housekeeping
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import FormSubmission, JobRun, QueueOtp, RateLimit, SurveyInvitation, User, WebSession
from delayhub.web.accounts import open_session, session_user

H = dt.timedelta(hours=1)


def count(store: HubStore, model: type) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def fill(store: HubStore, now: dt.datetime) -> tuple[str, str]:
    """Five used form tokens a day and more old and one an hour old; a session that ran out 2 hours ago
    and one opened now; rate-limit windows over and current; codes expired and still valid. Returns
    the tokens of the expired and the live session."""
    add_users(store, Registry.load())
    with store.transaction() as s:
        user = s.scalar(select(User.id).order_by(User.id).limit(1))
        live = open_session(s, user, now)  # (a sign-in deletes the sessions over at that time: this one first)
        expired = open_session(s, user, now - 10 * H)  # 8-hour sessions: over 2 hours ago
        s.add_all([FormSubmission(token=f"old-{i}", subject=f"request:MOC-DBD/OLD-{i}", used_at=now - 25 * H - i * H)
                   for i in range(5)])
        s.add(FormSubmission(token="recent", subject="request:MOC-DBD/NEW-1", used_at=now - H))
        s.add_all([RateLimit(bucket="over", window_no=1, hits=3, prev_hits=0, expires_at=now - 2 * H),
                   RateLimit(bucket="current", window_no=2, hits=1, prev_hits=4, expires_at=now + H)])
        s.add_all([QueueOtp(id="expired", code_hash="0" * 64, created_at=now - 3 * H, expires_at=now - 2 * H,
                            attempts=1),
                   QueueOtp(id="used-expired", code_hash="1" * 64, created_at=now - 3 * H, expires_at=now - 2 * H,
                            attempts=1, verified_at=now - 3 * H),
                   QueueOtp(id="valid", code_hash="2" * 64, created_at=now, expires_at=now + 0.1 * H, attempts=0)])
        # survey invitations: one expired 31 days ago (goes), one 29 days ago (still says "expired"), one open
        s.add_all([SurveyInvitation(token_hash=f"{i}" * 64, event="queue_served", event_ref=str(i), agency="MOC-DBD",
                                    service="REG", channel="walk_in", visit_on=now.date(), created_at=now,
                                    expires_at=now + hours * H)
                   for i, hours in ((1, -31 * 24), (2, -29 * 24), (3, 24))])
    return expired, live


def test_what_is_past_its_use_goes_in_batches_and_what_is_in_use_keeps_working(store: HubStore) -> None:
    now = config.now()
    expired, live = fill(store, now)
    assert session_user(store, live) is not None and session_user(store, expired) is None

    deleted = housekeeping(store, now, batch=2)  # 5 old tokens: three batches

    assert deleted == {"form_submissions": 5, "web_sessions": 1, "rate_limits": 1, "queue_otps": 2,
                       "survey_invitations": 1}
    assert store.form_used("recent") == "request:MOC-DBD/NEW-1"  # a resent form still finds it was saved
    assert store.form_used("old-0") is None
    assert session_user(store, live) is not None  # the officer stays signed in
    with store.session() as s:
        assert list(s.scalars(select(RateLimit.bucket))) == ["current"]
        assert list(s.scalars(select(QueueOtp.id))) == ["valid"]
        assert s.scalar(select(func.count()).select_from(WebSession)) == 1
        assert sorted(s.scalars(select(SurveyInvitation.event_ref))) == ["2", "3"]
        run = s.scalar(select(JobRun).where(JobRun.job == "housekeeping"))
        assert run.status == "success" and run.stats["form_submissions"] == 5
    assert housekeeping(store, now) == dict.fromkeys(deleted, 0)  # again: nothing more


def test_rows_just_past_their_expiry_wait_out_the_grace(store: HubStore) -> None:
    """Another host's clock may run a little ahead: a row expired half an hour ago stays for now."""
    now = config.now()
    with store.transaction() as s:
        s.add(RateLimit(bucket="just-over", window_no=1, hits=1, prev_hits=0, expires_at=now - 0.5 * H))
        s.add(FormSubmission(token="today", subject="x", used_at=now - 23 * H))
    assert housekeeping(store, now) == {"form_submissions": 0, "web_sessions": 0, "rate_limits": 0, "queue_otps": 0,
                                        "survey_invitations": 0}
    assert housekeeping(store, now + H)["rate_limits"] == 1


def test_the_command_runs_it_on_the_configured_store(store: HubStore, store_url: str,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    fill(store, config.now())
    monkeypatch.setenv("DELAYHUB_DATABASE_URL", store_url)

    assert main(["housekeeping", "--batch", "3"]) == 0

    assert json.loads(capsys.readouterr().out) == {"deleted": {"form_submissions": 5, "web_sessions": 1,
                                                               "rate_limits": 1, "queue_otps": 2,
                                                               "survey_invitations": 1}}
    assert count(store, FormSubmission) == 1
    with pytest.raises(SystemExit):
        main(["housekeeping", "--batch", "0"])
    assert "expected a whole number of at least 1, got '0'" in capsys.readouterr().err
