"""The outbox: every alert a row before it is sent, retries on a schedule, never sent twice."""

from __future__ import annotations

from typing import Any


from alertkit import JsonSink
from alertkit import SmtpSink
from lobstr_dash.domain.rulecheck import RunFacts
from lobstr_dash.loading.notify import Channels
from lobstr_dash.loading.outbox import BACKOFF
from lobstr_dash.loading.outbox import GIVE_UP_AFTER
from lobstr_dash.loading.outbox import Deliverer
from lobstr_dash.loading.outbox import retry_delay
from lobstr_dash.render import alerts as messages
from lobstr_dash.store import AlertFilter
from lobstr_dash.store import Store
import support
from support import RUN

FACTS = RunFacts(run_id=RUN, squid_id="sq", squid_name="Maps", status="done",
                 done_reason="tasks_done", tasks=30, expected=3000, missing=865, tasks_short=10)
FINDING = ("completeness", "warning", "collected 71.2 % of the expected results")


def compose(facts: RunFacts, fired: Any) -> messages.Message:
    return messages.render(facts, [messages.Finding(*f) for f in fired], "https://dash.example.com")


def outbox(tmp_path: Any, clock: Any, urls: list[str], owner: str = "host:1:a") -> Deliverer:
    store = Store(tmp_path / "store.sqlite3", clock=clock, database_url=support.ENGINE_DATABASE_URL)
    return Deliverer(store, Channels(urls), compose, owner=owner, clock=clock)


def raise_alert(sender: Deliverer, findings: tuple[tuple[str, str, str], ...] = (FINDING,)) -> int:
    return sender.store.record_alerts(RUN, "sq", list(findings), sender.channels.keys(),
                                      FACTS.to_json())


def states(store: Store) -> list[tuple[str, str, int]]:
    return [(a.rule, a.state, a.attempts) for a in store.all_alerts(AlertFilter())]


def test_the_backoff_is_1_5_15_minutes_then_hours() -> None:
    assert [retry_delay(n) for n in range(1, 10)] == [60, 300, 900, 3600, 7200, 14400, 28800,
                                                       28800, 28800]
    assert BACKOFF[:4] == (60.0, 300.0, 900.0, 3600.0)


def test_an_alert_is_a_row_before_it_is_sent_and_recording_it_again_adds_nothing(
        tmp_path: Any, fake_clock: Any, sink: JsonSink) -> None:
    sender = outbox(tmp_path, fake_clock, [sink.url])
    assert raise_alert(sender) == 1
    assert states(sender.store) == [("completeness", "pending", 0)]
    assert sink.received == []
    assert raise_alert(sender) == 0
    assert sender.deliver_one() is True
    assert sender.deliver_one() is False
    assert raise_alert(sender) == 0
    assert sender.deliver_one() is False
    assert states(sender.store) == [("completeness", "sent", 1)]
    assert len(sink.received) == 1


def test_a_channel_that_fails_three_times_then_recovers_gets_exactly_one_message(
        tmp_path: Any, fake_clock: Any, sink: JsonSink) -> None:
    sender = outbox(tmp_path, fake_clock, [sink.url])
    raise_alert(sender)
    sink.fail_next(3)
    waits = []
    for _ in range(3):
        assert sender.deliver_one() is True
        (alert,) = sender.store.all_alerts(AlertFilter())
        assert alert.state == "pending" and "500" in (alert.last_error or "")
        waits.append(alert.next_at - fake_clock())
        assert sender.deliver_one() is False  # not due before its time
        fake_clock.advance(alert.next_at - fake_clock())
    assert waits == [60, 300, 900]
    assert sender.deliver_one() is True
    fake_clock.advance(86400)
    assert sender.deliver_one() is False
    assert sink.attempts == 4 and len(sink.received) == 1
    assert states(sender.store) == [("completeness", "sent", 4)]


def test_a_channel_that_keeps_failing_is_given_up_after_24_hours(
        tmp_path: Any, fake_clock: Any, sink: JsonSink) -> None:
    sender = outbox(tmp_path, fake_clock, [sink.url])
    raise_alert(sender)
    started = fake_clock()
    sink.fail_next(1000)
    tries = 0
    while sender.deliver_one():
        tries += 1
        (alert,) = sender.store.all_alerts(AlertFilter())
        if alert.state != "pending":
            break
        fake_clock.advance(alert.next_at - fake_clock())
    (alert,) = sender.store.all_alerts(AlertFilter())
    assert alert.state == "failed" and alert.attempts == tries == sink.attempts
    assert fake_clock() - started <= GIVE_UP_AFTER
    assert 5 <= tries <= 10
    fake_clock.advance(7 * 86400)
    assert sender.deliver_one() is False and sink.received == []


def test_a_sender_that_died_mid_send_is_taken_over_after_its_lease(
        tmp_path: Any, fake_clock: Any, sink: JsonSink) -> None:
    first = outbox(tmp_path, fake_clock, [sink.url], owner="host:1:dead")
    raise_alert(first)
    claimed = first.store.claim_delivery("host:1:dead", 120)  # claimed, then the process died
    assert [a.state for a in claimed] == ["sending"]
    second = outbox(tmp_path, fake_clock, [sink.url], owner="host:2:alive")
    assert second.deliver_one() is False  # the lease is still running
    fake_clock.advance(121)
    assert second.deliver_one() is True
    assert len(sink.received) == 1
    # The dead sender's late answer cannot undo or repeat anything.
    assert first.store.mark_retry([claimed[0].id], "host:1:dead", 60, "late") == 0
    assert states(second.store) == [("completeness", "sent", 2)]


def test_two_senders_never_send_the_same_alert(tmp_path: Any, fake_clock: Any,
                                               sink: JsonSink) -> None:
    one = outbox(tmp_path, fake_clock, [sink.url], owner="host:1:a")
    two = outbox(tmp_path, fake_clock, [sink.url], owner="host:2:b")
    raise_alert(one)
    claimed = one.store.claim_delivery("host:1:a", 120)
    assert claimed and two.store.claim_delivery("host:2:b", 120) == []


def test_rules_of_one_run_go_out_as_one_message_per_channel(tmp_path: Any, fake_clock: Any,
                                                            sink: JsonSink) -> None:
    other = JsonSink()
    try:
        sender = outbox(tmp_path, fake_clock, [sink.url, other.url])
        raise_alert(sender, (FINDING, ("run_error", "critical", "lobstr ended the run in error")))
        while sender.deliver_one():
            pass
        assert len(sink.received) == len(other.received) == 1
        message = sink.received[0]
        assert message["title"].startswith("[critical]")
        assert "completeness below the threshold" in message["message"]
        assert "the run ended in error" in message["message"]
        assert [s for _r, s, _a in states(sender.store)] == ["sent"] * 4
    finally:
        other.close()


def test_a_channel_removed_from_the_settings_is_dropped_not_sent(tmp_path: Any, fake_clock: Any,
                                                                 sink: JsonSink) -> None:
    before = outbox(tmp_path, fake_clock, [sink.url])
    raise_alert(before)
    after = outbox(tmp_path, fake_clock, ["json://127.0.0.1:9/elsewhere"])
    assert after.deliver_one() is True
    (alert,) = after.store.all_alerts(AlertFilter())
    assert alert.state == "dropped" and "no longer in ALERT_URLS" in (alert.last_error or "")
    assert sink.received == []


def test_without_a_channel_alerts_are_kept_unsent(tmp_path: Any, fake_clock: Any) -> None:
    sender = outbox(tmp_path, fake_clock, [])
    assert raise_alert(sender) == 1
    assert sender.deliver_one() is False
    (alert,) = sender.store.all_alerts(AlertFilter())
    assert (alert.state, alert.channel_label) == ("unsent", "no channel configured")


def test_channels_are_stored_without_their_credentials(tmp_path: Any, fake_clock: Any) -> None:
    url = "json://user:hunter2-password@127.0.0.1:9/hook?+X-Token=tok-abcdef123"
    sender = outbox(tmp_path, fake_clock, [url])
    raise_alert(sender)
    if support.ENGINE_DATABASE_URL:  # every stored value of every alert row
        raw = repr(sender.store.db.connection().execute("SELECT * FROM alerts").fetchall()).encode()
        assert b"127.0.0.1" in raw
    else:
        raw = (tmp_path / "store.sqlite3").read_bytes()
    assert b"hunter2-password" not in raw and b"tok-abcdef123" not in raw
    (alert,) = sender.store.all_alerts(AlertFilter())
    assert "hunter2" not in alert.channel_label


def test_mail_goes_to_a_real_smtp_server_in_text_and_html(tmp_path: Any, fake_clock: Any) -> None:
    smtp = SmtpSink()
    try:
        sender = outbox(tmp_path, fake_clock, [smtp.url("team@example.com")])
        raise_alert(sender)
        assert sender.deliver_one() is True
        assert states(sender.store) == [("completeness", "sent", 1)]
        (mail,) = smtp.messages
        assert smtp.envelopes == [("lobstr-dash@example.com", ["team@example.com"])]
        assert "865 results missing" in mail["Subject"] and RUN[:8] in mail["Subject"]
        parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk()
                 if not p.is_multipart()}
        assert RUN in parts["text/plain"] and "865 missing" in parts["text/plain"]
        assert f'href="https://dash.example.com/runs/{RUN}"' in parts["text/html"]
    finally:
        smtp.close()


def test_an_smtp_server_that_is_down_is_retried(tmp_path: Any, fake_clock: Any) -> None:
    smtp = SmtpSink()
    url = smtp.url()
    smtp.close()
    sender = outbox(tmp_path, fake_clock, [url])
    raise_alert(sender)
    assert sender.deliver_one() is True
    (alert,) = sender.store.all_alerts(AlertFilter())
    assert alert.state == "pending" and alert.last_error
