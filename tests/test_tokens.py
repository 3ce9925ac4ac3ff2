"""Signed confirm/unsubscribe tokens and the generated secret."""

from __future__ import annotations

import stat

import pytest
from itsdangerous import URLSafeTimedSerializer

from publisher.delivery.tokens import TokenError, Tokens, load_secret


def test_round_trip_and_tampering():
    tokens = Tokens("s3cret")
    assert tokens.read_confirm(tokens.confirm(7, 2), 3600) == (7, 2)
    assert tokens.read_unsubscribe(tokens.unsubscribe(7, 2)) == (7, 2)
    token = tokens.unsubscribe(7, 2)
    with pytest.raises(TokenError, match="not valid"):
        tokens.read_unsubscribe(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    with pytest.raises(TokenError, match="not valid"):
        Tokens("other").read_unsubscribe(token)
    with pytest.raises(TokenError, match="not valid"):  # a confirm token is no unsubscribe token
        tokens.read_unsubscribe(tokens.confirm(7, 2))


def test_confirm_tokens_expire():
    old = URLSafeTimedSerializer("s3cret", salt="publisher.confirm")
    import time

    token = old.dumps([1, 1])
    time.sleep(1.1)
    with pytest.raises(TokenError, match="expired"):
        Tokens("s3cret").read_confirm(token, max_age_seconds=0)  # itsdangerous counts whole seconds


def test_secret_from_settings_or_generated_once(tmp_path):
    assert load_secret("configured", tmp_path) == "configured"
    first = load_secret(None, tmp_path / "var")
    assert len(first) > 40 and load_secret(None, tmp_path / "var") == first
    assert stat.S_IMODE((tmp_path / "var" / "secret.key").stat().st_mode) == 0o600


# --------------------------------------------------------------------------- the pages behind the links
import re  # noqa: E402

from publisher.delivery.tokens import LinkState, check_link  # noqa: E402
from publisher.models import SubscriberStatus  # noqa: E402
from publisher.sending import queue_test  # noqa: E402
from publisher.subscriptions import confirm, subscribe, unsubscribe  # noqa: E402

from .email_helpers import bodies, parse  # noqa: E402
from .web_helpers import BASE, client, make_web  # noqa: E402


@pytest.fixture
def web(site):
    app, web_app = make_web(site)
    with client(web_app) as c:
        yield app, c
    app.close()


def _links(app, message_key: str) -> dict[str, str]:
    """The preferences and unsubscribe paths in the message the renderer makes for the row."""
    [row] = app.store.list_deliveries(message_key=message_key)
    text, _ = bodies(parse(app.renderer.render(row).data))
    return {kind: re.search(rf"{re.escape(BASE)}((?:/[a-z]{{2}})?/{kind}/\S+)", text).group(1)
            for kind in ("preferences", "unsubscribe")}


def test_a_test_message_to_a_non_subscriber_has_links_that_answer(web):
    app, c = web
    key = queue_test(app.store, "staff@example.org", "en")
    links = _links(app, key)
    for path in links.values():
        assert path.startswith("/en/")  # the test message's language
        page = c.get(path)
        assert page.status_code == 200, path  # was a 404 (preferences) and "You are unsubscribed"
        assert "This was a test message" in page.text and "You are unsubscribed" not in page.text
        assert "nobody was unsubscribed" in page.text
    one_click = c.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200 and "This was a test message" in one_click.text
    token = links["preferences"].rsplit("/", 1)[1]
    assert "Ова беше пробна порака" in c.get(f"/mk/preferences/{token}").text
    assert "Ky ishte një mesazh provë" in c.get(f"/unsubscribe/{token}", headers={"Accept-Language": "sq"}).text
    sq = _links(app, queue_test(app.store, "staff@example.org", "sq"))
    assert sq["preferences"].startswith("/sq/") and "Ky ishte një mesazh provë" in c.get(sq["preferences"]).text
    assert app.store.list_subscribers() == []  # and nothing was made up


def test_an_old_link_after_a_resubscription_says_it_is_outdated(web):
    app, c = web
    store, languages = app.store, app.settings.site.languages
    ana, _ = subscribe(store, "ana@example.org", "en", "daily", languages, "web")
    confirm(store, ana.id, ana.token_version)
    old = app.tokens.unsubscribe(ana.id, ana.token_version, ana.email)
    unsubscribe(store, ana.id, ana.token_version)
    again, _ = subscribe(store, "ana@example.org", "en", "weekly", languages, "web")  # pending again
    pending = c.get(f"/unsubscribe/{old}")
    assert "This link is outdated" in pending.text and "confirm the new subscription" in pending.text
    confirm(store, again.id, store.get_subscriber(again.id).token_version)

    for path in (f"/unsubscribe/{old}", f"/preferences/{old}"):
        page = c.get(path)
        assert page.status_code == 200 and "This link is outdated" in page.text
        assert "You are unsubscribed" not in page.text and 'name="send_links"' in page.text
    # the one-click POST of an old mail changes nothing, and says so
    c.cookies.clear()
    one_click = c.post(f"/unsubscribe/{old}", content=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert "This link is outdated" in one_click.text
    assert c.post(f"/preferences/{old}", data={"lang": "sq", "frequency": "daily"}).status_code == 200
    now = store.get_subscriber(again.id)
    assert (now.status, now.lang, now.frequency.value) == (SubscriberStatus.CONFIRMED, "en", "weekly")

    # "send me the current links": one message with links that work, at most one a day
    sent = c.post(f"/en/unsubscribe/{old}", data={"send_links": "1"})
    assert sent.status_code == 200 and "We sent the links" in sent.text
    c.post(f"/en/preferences/{old}", data={"send_links": "1"})
    [row] = [d for d in store.list_deliveries() if d.kind == "links"]
    assert row.recipient == "ana@example.org" and row.subscriber_id == again.id
    message = parse(app.renderer.render(row).data)
    assert "links to your subscription" in message["Subject"]
    links = _links(app, row.message_key)
    page = c.get(links["preferences"])
    assert page.status_code == 200 and "ana@example.org" in page.text and "outdated" not in page.text
    form = c.get(links["unsubscribe"])
    assert "<button" in form.text and "outdated" not in form.text
    c.post(links["unsubscribe"], content=b"List-Unsubscribe=One-Click",
           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert store.get_subscriber(again.id).status is SubscriberStatus.UNSUBSCRIBED
    # outdated and the person has left since: the page tells the truth
    assert "You are unsubscribed" in c.get(f"/unsubscribe/{old}").text


def test_a_link_is_bound_to_its_address(store):
    tokens = Tokens("s3cret")
    ana = store.add_subscriber("ana@example.org", "mk", "daily", status=SubscriberStatus.CONFIRMED)[0]
    token = tokens.unsubscribe(ana.id, ana.token_version, ana.email)
    assert check_link(tokens, token, store.get_subscriber) == (LinkState.CURRENT, ana)
    legacy = tokens.unsubscribe(ana.id, ana.token_version)  # tokens in mails sent before the address hash
    assert check_link(tokens, legacy, store.get_subscriber)[0] is LinkState.CURRENT
    store.delete_subscriber(ana.id)
    assert check_link(tokens, token, store.get_subscriber) == (LinkState.GONE, None)
    # a new person who gets the erased row's id (SQLite may reuse it) is not reached by the old link
    bo = store.add_subscriber("bo@example.org", "mk", "daily", status=SubscriberStatus.CONFIRMED)[0]
    forged = tokens.unsubscribe(bo.id, bo.token_version, "ana@example.org")
    assert check_link(tokens, forged, store.get_subscriber) == (LinkState.GONE, None)
    assert check_link(tokens, tokens.test_link(), store.get_subscriber) == (LinkState.TEST, None)
    assert check_link(tokens, "garbage", store.get_subscriber) == (LinkState.INVALID, None)
    assert tokens.read_unsubscribe(token) == (ana.id, ana.token_version)
