"""Who receives a message, and how often, against a fault-injecting SMTP server (aiosmtpd on
loopback), on SQLite and PostgreSQL, driven through `send dispatch`, `retry-failed` and
`release-held` (the CLI, or App.dispatch that the CLI calls), rendered by the real renderer.

Counted for every delivery: copies the server stored (``smtp.counts()``) and the Message-IDs it
saw in any try, stored or not (``smtp.message_ids()``): always one Message-ID per delivery, at
most one copy unless staff released a held row on purpose.
"""

from __future__ import annotations

import json

import pytest

from publisher.app import App
from publisher.models import DeliveryStatus, SubscriberStatus

from .email_helpers import seed
from .smtp_server import SmtpTestServer
from .test_cli import run

KEY = "release:faults:en"


@pytest.fixture
def smtp():
    with SmtpTestServer() as server:
        yield server


def configure(site, smtp, **mail) -> None:
    values = {"transport": "smtp", "from": "IOM North Macedonia <news@news.example.org>", "smtp_port": smtp.port,
              "rate_per_second": 1000, "retry_seconds": 0, "max_attempts": 3, "timeout_seconds": 5} | mail
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
    site.write(extra=f"\n[mail]\n{lines}\n")


def cli(site, *args: str) -> str:
    code, out, err = run(*args, settings=site.settings_file)
    assert code == 0, (args, out, err)
    return out


@pytest.fixture
def app_for(site, smtp):
    apps: list[App] = []

    def make(**mail) -> App:
        configure(site, smtp, **mail)
        apps.append(App(site.settings()))
        return apps[-1]

    yield make
    for app in apps:
        app.close()


def people(store, *names: str, status: SubscriberStatus = SubscriberStatus.CONFIRMED) -> dict[str, int]:
    return {n: store.add_subscriber(f"{n}@example.org", "en", "daily", status)[0].id for n in names}


def queue_release(store, ids: dict[str, int], release_id: int, key: str = KEY) -> None:
    store.enqueue(key, "release", "en", {"release": release_id}, [(sid, f"{n}@example.org") for n, sid in ids.items()])


def rows_of(store, key: str = KEY) -> dict[str, object]:
    return {d.recipient.split("@")[0]: d for d in store.list_deliveries(message_key=key, limit=1000)}


def copies(smtp) -> dict[str, int]:
    return {r.split("@")[0]: n for r, n in smtp.counts().items()}


def one_message_id_per_delivery(smtp, rows) -> None:
    seen = smtp.message_ids()
    for name, row in rows.items():
        ids = seen.get(f"{name}@example.org", set())
        assert ids <= {row.message_id}, (name, ids, row.message_id)


def test_unsubscribed_suppressed_erased_after_queueing_are_skipped_not_sent(site, smtp, app_for):
    """The finding: pause, `send release 1`, `subscribers remove a@`, resume, dispatch: a@ got it."""
    app = app_for()
    for name in ("a", "b", "c", "d"):
        cli(site, "subscribers", "add", f"{name}@example.org", "--lang", "en", "--frequency", "daily", "--confirmed")
    seed(app.store)
    cli(site, "send", "pause")
    queued = json.loads(cli(site, "send", "release", "1", "--lang", "en", "--json"))
    assert queued["messages"][0]["queued"] == 4
    key = queued["messages"][0]["key"]
    cli(site, "subscribers", "remove", "a@example.org")
    b = app.store.get_subscriber("b@example.org")
    app.store.record_bounce(b.id, limit=1)  # a hard bounce elsewhere: suppressed
    cli(site, "subscribers", "remove", "c@example.org", "--erase")
    cli(site, "send", "resume")
    cli(site, "send", "dispatch", "--json")
    assert copies(smtp) == {"d": 1}
    rows = {d.recipient: d for d in app.store.list_deliveries(message_key=key)}
    assert rows["d@example.org"].status is DeliveryStatus.SENT
    for address, reason in (("a@example.org", "unsubscribed"), ("b@example.org", "suppressed")):
        assert (rows[address].status, rows[address].reason) == (DeliveryStatus.SKIPPED, reason), rows[address]
    [erased] = [d for r, d in rows.items() if r.startswith("erased:")]
    assert (erased.status, erased.reason) == (DeliveryStatus.SKIPPED, "erased")
    # nothing brings them back
    cli(site, "send", "retry-failed")
    cli(site, "send", "release-held")
    cli(site, "send", "dispatch")
    assert copies(smtp) == {"d": 1}
    status = json.loads(cli(site, "send", "status", "--json"))
    assert status["counts"]["skipped"] == 3
    # a staff test send to an address that is no subscriber is still sent
    assert "sent to staff@example.org" in cli(site, "send", "test", "--to", "staff@example.org", "--lang", "en")
    assert copies(smtp) == {"d": 1, "staff": 1}


def test_unconfirmed_get_only_their_confirmation_and_changes_after_the_claim_still_count(site, smtp, app_for):
    app = app_for(batch_size=10)
    store = app.store
    r1 = seed(store)["r1"]
    pending = people(store, "p", status=SubscriberStatus.PENDING)
    store.enqueue("confirm:p", "confirm", "en", {}, [(pending["p"], "p@example.org")])
    queue_release(store, pending | people(store, "x", "y", "z"), r1.id)

    seen: list[str] = []

    def render(delivery):  # z leaves after its batch was claimed, just before it is handed over
        seen.append(delivery.recipient)
        if delivery.recipient == "y@example.org":
            store.set_subscriber_status("z@example.org", SubscriberStatus.UNSUBSCRIBED)
        return app.renderer.render(delivery)

    from publisher.delivery.dispatch import dispatch_pending

    transport = app.transport()
    try:
        report = dispatch_pending(store, transport, render, app.settings.mail, "t")
    finally:
        transport.close()
    assert copies(smtp) == {"p": 1, "x": 1, "y": 1}  # p: the confirmation only
    rows = rows_of(store)
    assert (rows["p"].status, rows["p"].reason) == (DeliveryStatus.SKIPPED, "unconfirmed")
    assert (rows["z"].status, rows["z"].reason) == (DeliveryStatus.SKIPPED, "unsubscribed")
    assert "z@example.org" in seen  # it was claimed and rendered, and still not sent
    assert report.skipped == 2 and report.sent == 3


def test_retry_failed_requeues_only_transient_failures_of_people_who_may_receive(site, smtp, app_for):
    app = app_for(max_attempts=2)
    store = app.store
    r1 = seed(store)["r1"]
    ids = people(store, "rcpt550", "data554", "busy", "gone", "ok")
    queue_release(store, ids, r1.id)
    smtp.reply("rcpt550@example.org", rcpt="550 5.1.1 no such user")
    smtp.reply("data554@example.org", data="554 5.7.1 message refused as spam")
    smtp.reply("busy@example.org", data="451 4.3.0 busy, try later")
    smtp.reply("gone@example.org", rcpt="451 4.2.0 mailbox busy")
    app.dispatch(wait_for_retries=True)
    rows = rows_of(store)
    assert {n: d.status.value for n, d in rows.items()} == {
        "rcpt550": "failed", "data554": "failed", "busy": "failed", "gone": "failed", "ok": "sent"}
    assert (rows["rcpt550"].reason, rows["rcpt550"].last_error) == ("permanent", "550 5.1.1 no such user")
    assert (rows["data554"].reason, rows["data554"].last_error) == ("permanent", "554 5.7.1 message refused as spam")
    assert rows["busy"].reason == "gave-up" and rows["busy"].attempts == 2
    store.set_subscriber_status("gone@example.org", SubscriberStatus.UNSUBSCRIBED)
    smtp.clear_replies()
    result = json.loads(cli(site, "send", "retry-failed", "--json"))
    assert result["queued_again"] == 1 and result["kept"] == {"permanent": 2, "may_not_receive": 1}
    app.dispatch(wait_for_retries=True)
    assert copies(smtp) == {"busy": 1, "ok": 1}
    rows = rows_of(store)
    assert rows["busy"].status is DeliveryStatus.SENT
    assert rows["rcpt550"].last_error == "550 5.1.1 no such user" and rows["gone"].status is DeliveryStatus.FAILED
    # busy went out three times (two 451s, then accepted) with one Message-ID, the row's
    assert len([m for m in smtp.attempts if m.recipients == ("busy@example.org",)]) == 3
    one_message_id_per_delivery(smtp, rows)
    assert len(smtp.message_ids()["busy@example.org"]) == 1


def test_no_clear_answer_after_data_is_held_once_and_released_with_the_same_message_id(site, smtp, app_for):
    """The finding: a server that stores the message and drops the connection got 3 copies
    per recipient (3 Message-IDs) and retry-failed took it to 6."""
    app = app_for(timeout_seconds=1.0, max_attempts=3)
    store = app.store
    r1 = seed(store)["r1"]
    ids = people(store, "stored", "lost", "slow", "closed", "ok")
    queue_release(store, ids, r1.id)
    smtp.reply("stored@example.org", drop="after")  # stored, connection closed without the 250
    smtp.reply("lost@example.org", drop="before")  # closed after the terminator, not stored
    smtp.reply("slow@example.org", stored_delay=2.0)  # stored, no answer within timeout_seconds
    smtp.reply("closed@example.org", drop="after-reply")  # 250, then closed: a clear answer
    report = app.dispatch(wait_for_retries=True)
    rows = rows_of(store)
    for name in ("stored", "lost", "slow"):
        assert (rows[name].status, rows[name].reason) == (DeliveryStatus.HELD, "ambiguous"), rows[name]
        assert rows[name].message_id and rows[name].attempts == 1
    assert rows["closed"].status is rows["ok"].status is DeliveryStatus.SENT
    assert report.held == 3
    assert copies(smtp) == {"stored": 1, "slow": 1, "closed": 1, "ok": 1}
    one_message_id_per_delivery(smtp, rows)

    # neither retries nor retry-failed send a held row again
    assert json.loads(cli(site, "send", "retry-failed", "--json"))["queued_again"] == 0
    cli(site, "send", "dispatch")
    assert copies(smtp) == {"stored": 1, "slow": 1, "closed": 1, "ok": 1}
    status = json.loads(cli(site, "send", "status", "--json"))
    held = {a["recipient"]: a for a in status["attention"] if a["status"] == "held"}
    assert set(held) == {"stored@example.org", "lost@example.org", "slow@example.org"}
    assert {a["reason"] for a in held.values()} == {"ambiguous"}

    # staff release them on purpose: each goes out again with its original Message-ID
    smtp.clear_replies()
    assert json.loads(cli(site, "send", "release-held", "--message", "nothing:here", "--json"))["released"] == 0
    released = json.loads(cli(site, "send", "release-held", "--message", KEY, "--json"))
    assert released == {"released": 3, "message": KEY}
    cli(site, "send", "dispatch")
    after = rows_of(store)
    assert {d.status for d in after.values()} == {DeliveryStatus.SENT}
    assert copies(smtp) == {"stored": 2, "slow": 2, "lost": 1, "closed": 1, "ok": 1}
    for name in ("stored", "slow", "lost"):
        assert after[name].message_id == rows[name].message_id
    one_message_id_per_delivery(smtp, after)


def test_greylisting_and_451_at_rcpt_are_retried_with_the_same_message_id(site, smtp, app_for):
    app = app_for(max_attempts=3)
    store = app.store
    r1 = seed(store)["r1"]
    ids = people(store, *(f"g{i}" for i in range(6)), "never", "once")
    queue_release(store, ids, r1.id)
    smtp.greylist(None)  # every address: 451 at RCPT the first time
    smtp.reply("never@example.org", rcpt="451 4.2.1 mailbox temporarily unavailable")
    smtp.reply("once@example.org", data="451 4.3.0 queue full", times=1)
    app.dispatch(wait_for_retries=True)
    rows = rows_of(store)
    got = copies(smtp)
    assert got == {**{f"g{i}": 1 for i in range(6)}, "once": 1}
    for i in range(6):
        assert rows[f"g{i}"].status is DeliveryStatus.SENT and rows[f"g{i}"].attempts == 2
    assert rows["once"].attempts == 2 and len(smtp.message_ids()["once@example.org"]) == 1
    never = rows["never"]
    assert (never.status, never.reason, never.attempts) == (DeliveryStatus.FAILED, "gave-up", 3)
    assert never.last_error.startswith("gave up after 3 attempts: 451 4.2.1")
    one_message_id_per_delivery(smtp, rows)
    for name, row in rows.items():
        if row.status is DeliveryStatus.SENT:
            [stored] = [m for m in smtp.received() if m.recipients == (f"{name}@example.org",)]
            assert stored.message_id == row.message_id


def test_staff_page_and_api_release_held_rows_and_retry_failed(site, smtp):
    import base64

    from .web_helpers import PASSWORD, add_staff, client, csrf_of, login, make_web

    app, web_app = make_web(site, f'[mail]\ntransport = "smtp"\nsmtp_port = {smtp.port}\nretry_seconds = 0\n'
                                  "rate_per_second = 1000\n")
    try:
        add_staff(app)
        store = app.store
        r1 = seed(store)["r1"]
        queue_release(store, people(store, "stored", "refused", "ok"), r1.id)
        smtp.reply("stored@example.org", drop="after")
        smtp.reply("refused@example.org", rcpt="550 5.1.1 no such user")
        app.dispatch()
        first = rows_of(store)
        assert (first["stored"].status, first["refused"].reason) == (DeliveryStatus.HELD, "permanent")
        smtp.clear_replies()
        with client(web_app) as c:
            login(c)
            page = c.get("/staff/")
            assert "Release held (1)" in page.text and "held (ambiguous)" in page.text
            token = csrf_of(page.text)
            answer = c.post("/staff/send/retry", data={"csrf_token": token})
            assert answer.status_code == 303
            assert "0 queued again; left failed: 1 refused permanently" in c.get("/staff/").text
            c.post("/staff/send/release-held", data={"csrf_token": token})
            assert "1 held messages queued again" in c.get("/staff/").text
            assert store.delivery_counts(KEY) == {"queued": 1, "failed": 1, "sent": 1}
            app.dispatch()
            assert copies(smtp) == {"stored": 2, "ok": 1}
            assert smtp.message_ids()["stored@example.org"] == {first["stored"].message_id}
            # the API: the same operations, documented
            auth = {"Authorization": "Basic " + base64.b64encode(f"ana:{PASSWORD}".encode()).decode()}
            assert c.post("/api/send/release-held", json={"message": KEY}, headers=auth).json() == {
                "released": 0, "message": KEY}
            assert c.post("/api/send/release-held", json={"message": ["x"]}, headers=auth).status_code == 422
            retried = c.post("/api/send/retry", headers=auth).json()
            assert retried == {"queued_again": 0, "kept": {"permanent": 1, "may_not_receive": 0}}
            spec = c.get("/api/openapi.json").json()
            assert "/api/send/release-held" in spec["paths"]
    finally:
        app.close()


def test_the_transport_says_which_answers_are_unclear(smtp):
    from publisher.delivery.base import OutgoingMessage, SendError
    from publisher.delivery.options import MailSettings
    from publisher.delivery.smtp import SmtpTransport

    from .smtp_server import build_message

    def message(name: str) -> OutgoingMessage:
        address = f"{name}@example.org"
        return OutgoingMessage(address, "news@news.example.org", build_message(address, f"<{name}@x>"), f"<{name}@x>")

    smtp.reply("stored@example.org", drop="after")
    smtp.reply("lost@example.org", drop="before")
    smtp.reply("slow@example.org", stored_delay=1.5)
    smtp.reply("grey@example.org", rcpt="451 4.7.1 greylisted")
    smtp.reply("nouser@example.org", rcpt="550 5.1.1 no such user")
    smtp.reply("spam@example.org", data="554 5.7.1 spam")
    smtp.reply("busy@example.org", data="451 4.3.0 busy")
    options = MailSettings(transport="smtp", smtp_port=smtp.port, rate_per_second=1000, timeout_seconds=0.5)
    expected = {  # name: (ambiguous, transient, stage, permanent for the recipient)
        "stored": (True, True, "end of DATA", False), "lost": (True, True, "end of DATA", False),
        "slow": (True, True, "end of DATA", False), "grey": (False, True, "RCPT TO", False),
        "nouser": (False, False, "RCPT TO", True), "spam": (False, False, "end of DATA", True),
        "busy": (False, True, "end of DATA", False),
    }
    with SmtpTransport(options) as transport:
        for name, (ambiguous, transient, stage, permanent) in expected.items():
            with pytest.raises(SendError) as err:
                transport.send(message(name))
            e = err.value
            assert (e.ambiguous, e.transient, e.stage, e.permanent_for_recipient) == (
                ambiguous, transient, stage, permanent), name
        transport.send(message("ok"))  # the connection is re-opened after each unclear one
    assert sorted(copies(smtp)) == ["ok", "slow", "stored"]


def test_a_pool_of_connections_through_the_cli_sends_each_once_and_holds_what_had_no_answer(site, smtp, app_for):
    """`[mail] connections = 3` through `send dispatch` and the real renderer: every recipient
    once, one Message-ID each; a 550 stays failed, a drop after DATA is held, a leaver skipped."""
    app = app_for(connections=3, batch_size=4)
    store = app.store
    r1 = seed(store)["r1"]
    ids = people(store, *(f"p{i}" for i in range(20)), "bad", "cut", "gone")
    queue_release(store, ids, r1.id)
    store.set_subscriber_status(ids["gone"], SubscriberStatus.UNSUBSCRIBED)
    smtp.reply("bad@example.org", rcpt="550 5.1.1 no such user")
    smtp.reply("cut@example.org", drop="after")
    cli(site, "send", "dispatch")
    rows = rows_of(store)
    assert copies(smtp) == {**{f"p{i}": 1 for i in range(20)}, "cut": 1}
    assert all(rows[f"p{i}"].status is DeliveryStatus.SENT for i in range(20))
    assert (rows["bad"].status, rows["bad"].reason) == (DeliveryStatus.FAILED, "permanent")
    assert (rows["cut"].status, rows["cut"].reason) == (DeliveryStatus.HELD, "ambiguous")
    assert (rows["gone"].status, rows["gone"].reason) == (DeliveryStatus.SKIPPED, "unsubscribed")
    one_message_id_per_delivery(smtp, rows)
