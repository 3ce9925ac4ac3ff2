"""Subscribers through the CLI and the subscription rules (real store)."""

from __future__ import annotations

import json

import pytest

from publisher.app import App
from publisher.models import SubscriberStatus
from publisher.subscriptions import SubscriptionError, confirm, normalise_email, subscribe, unsubscribe

from .test_cli import run


def test_normalise_and_reject():
    assert normalise_email("  Ana.Petrova@Example.ORG ") == "ana.petrova@example.org"
    with pytest.raises(SubscriptionError, match="not a valid e-mail address"):
        normalise_email("ana@@example")


def test_double_opt_in_queues_one_confirmation_and_nothing_else(site):
    app = App(site.settings())
    sub, queued = subscribe(app.store, "Ana@Example.org", "sq", "daily", app.settings.site.languages, "web")
    assert queued and sub.status is SubscriberStatus.PENDING and sub.email == "ana@example.org"
    again, queued_again = subscribe(app.store, "ana@example.org", "sq", "daily", app.settings.site.languages)
    assert again.id == sub.id and not queued_again  # same confirmation key: not queued twice
    [delivery] = app.store.list_deliveries()
    assert (delivery.kind, delivery.lang, delivery.recipient) == ("confirm", "sq", "ana@example.org")
    with pytest.raises(SubscriptionError, match="no longer valid"):
        confirm(app.store, sub.id, sub.token_version + 1)
    assert confirm(app.store, sub.id, sub.token_version).status is SubscriberStatus.CONFIRMED
    assert unsubscribe(app.store, sub.id, sub.token_version).status is SubscriberStatus.UNSUBSCRIBED
    assert unsubscribe(app.store, 999, 1) is None  # an old link never fails
    with pytest.raises(SubscriptionError, match="language 'de' is not offered"):
        subscribe(app.store, "bo@example.org", "de", "daily", app.settings.site.languages)
    with pytest.raises(SubscriptionError, match="frequency 'hourly' is not offered"):
        subscribe(app.store, "bo@example.org", "en", "hourly", app.settings.site.languages)
    app.close()


def test_cli_add_list_import_export_remove(site, tmp_path):
    code, out, _ = run("subscribers", "add", "ana@example.org", "--lang", "sq", "--frequency", "daily",
                       settings=site.settings_file)
    assert code == 0 and "pending" in out and "confirmation email queued" in out
    code, out, _ = run("subscribers", "add", "bo@example.org", "--lang", "en", "--confirmed",
                       settings=site.settings_file)
    assert code == 0 and "confirmed" in out and "queued" not in out
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("email,lang,frequency\nvesna@example.mk,mk,weekly\nnot-an-address,en,daily\n"
                        "dren@example.al,sq,monthly\nëlza@example.al,sq,immediate\n", encoding="utf-8")
    code, out, _ = run("subscribers", "import", str(csv_file), "--confirmed", "--json", settings=site.settings_file)
    report = json.loads(out)
    assert code == 1 and report["added"] == 2
    assert [e["line"] for e in report["errors"]] == [3, 4]
    assert "not a valid e-mail address" in report["errors"][0]["error"]
    assert "frequency 'monthly'" in report["errors"][1]["error"]
    code, out, _ = run("subscribers", "list", "--json", settings=site.settings_file)
    emails = {s["email"]: s for s in json.loads(out)}
    assert set(emails) == {"ana@example.org", "bo@example.org", "vesna@example.mk", "ëlza@example.al"}
    assert emails["ëlza@example.al"]["lang"] == "sq" and emails["ëlza@example.al"]["status"] == "confirmed"
    code, out, _ = run("subscribers", "export", settings=site.settings_file)
    assert out.splitlines()[0].startswith("email,lang,frequency,status") and "ëlza@example.al" in out
    code, out, _ = run("subscribers", "show", "ana@example.org", settings=site.settings_file)
    data = json.loads(out)
    assert data["subscriber"]["status"] == "pending" and data["messages"][0]["kind"] == "confirm"
    code, out, _ = run("subscribers", "remove", "bo@example.org", settings=site.settings_file)
    assert code == 0 and "unsubscribed" in out
    code, out, _ = run("subscribers", "remove", "ana@example.org", "--erase", settings=site.settings_file)
    assert code == 0 and "erased" in out
    code, _, err = run("subscribers", "show", "ana@example.org", settings=site.settings_file)
    assert code == 1 and "no subscriber ana@example.org" in err
