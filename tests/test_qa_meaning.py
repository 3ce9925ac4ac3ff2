"""Checks that catch meaning errors (issue 11) and the ``publish = "checked"`` policy: real
Macedonian sentences, and the pipeline (ingest → the real Apertium → feeds) on both stores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import feedparser
import pytest

from publisher.app import App
from publisher.feeds import build_feeds
from publisher.models import TranslationStatus
from publisher.translate.qa import check_translation, failures, rejections
from publisher.translate.qa_meaning import negations

from .test_cli import run

ROOT = Path(__file__).resolve().parent.parent
DIK = "До сега ДИК нема добиено никакви поплаки."


def check(source: str | list[str], output: str | list[str], src: str = "mk", tgt: str = "en", **kw):
    source = [source] if isinstance(source, str) else source
    output = [output] if isinstance(output, str) else output
    return {c.name: c for c in check_translation(source, output, src, tgt, **kw)}


# ---------------------------------------------------------------------------- negation
def test_lost_negation_fails_with_the_spans_on_both_sides():
    bad = "To now State Election Commission has won any complaints."
    neg = check(DIK, bad)["negation"]
    assert not neg.ok and not neg.blocking
    source_words = [(s["start"], s["end"], s["words"]) for s in neg.spans if s["side"] == "source"]
    assert source_words == [(12, 16, ["нема"]), (25, 32, ["никакви"])]
    assert [DIK[a:b] for a, b, _ in source_words] == ["нема", "никакви"]
    [target] = [s for s in neg.spans if s["side"] == "target"]
    assert bad[target["start"]:target["end"]] == bad
    assert "нема" in neg.detail and "does not" in neg.detail
    assert neg.as_dict()["spans"][0] == {"side": "source", "text": 0, "start": 12, "end": 16, "words": ["нема"]}
    # a meaning check is recorded, it does not reject the output
    checks = list(check(DIK, bad).values())
    assert neg in failures(checks) and neg not in rejections(checks)


def test_kept_negation_passes():
    good = "So far the State Election Commission has not received any complaints."
    assert check(DIK, good)["negation"].ok


@pytest.mark.parametrize("target", [
    "The minister did not attend the session.", "The minister didn't attend the session.",
    "The minister cannot attend the session.", "The minister was unable to attend the session.",
])
def test_negation_in_any_english_form(target):
    assert check("Министерот не присуствуваше на седницата.", target)["negation"].ok


def test_negation_per_sentence_not_per_text():
    source = "Министерот не присуствуваше на седницата. Седницата заврши во 12 часот."
    output = "The minister was attending the session. The session did not end at 12 o'clock."
    neg = check(source, output)["negation"]
    assert not neg.ok  # the text negates once in each language, but in the other sentence
    [target] = [s for s in neg.spans if s["side"] == "target"]
    assert output[target["start"]:target["end"]] == "The minister was attending the session."


def test_no_negation_in_the_source_nothing_to_keep():
    assert check("Министерот присуствуваше на седницата.", "The minister attended the session.")["negation"].ok


def test_idioms_that_do_not_negate():
    # "без разлика" is "regardless", "додека не" is "until": no negation to keep
    assert not negations("Без разлика на времето, состанокот ќе се одржи.", "mk")
    assert not negations("Чекаа додека не дојде министерот.", "mk")
    assert check("Чекаа додека не дојде министерот.", "They waited until the minister came.")["negation"].ok


def test_albanian_clitic_and_words():
    assert [w for _, _, w in negations("Ai s'erdhi dhe nuk foli.", "sq")] == ["s'erdhi", "nuk"]
    assert check(DIK, "Deri tani KSHZ nuk ka marrë asnjë ankesë.", tgt="sq")["negation"].ok
    assert not check(DIK, "Deri tani KSHZ ka marrë ankesa.", tgt="sq")["negation"].ok


# ---------------------------------------------------------------------------- numbers
def test_thousands_and_decimals_in_english_format():
    source = "Во центарот беа сместени 1.500 мигранти, а буџетот изнесува 2,5 милиони евра."
    bad = check(source, "In the centre were 1.500 migrants, and the budget is 2,5 million euros.")["number-format"]
    assert not bad.ok and not bad.blocking
    assert [s["words"] for s in bad.spans] == [["1.500"], ["2,5"]]
    good = check(source, "The centre housed 1,500 migrants, and the budget is 2.5 million euros.")["number-format"]
    assert good.ok, good.detail


def test_date_month_in_the_target_language():
    source = "Состанокот се одржа на 20 ноември во Скопје."
    assert check(source, "The meeting took place on 20 November in Skopje.")["number-format"].ok
    assert check(source, "The meeting took place on November 20 in Skopje.")["number-format"].ok
    bad = check(source, "The meeting took place on 20 noemvri in Skopje.")["number-format"]
    assert not bad.ok and "20 November" in bad.detail
    assert bad.spans[0]["words"] == ["20 ноември"] and bad.spans[0]["side"] == "source"


def test_percentages_amounts_and_ordinals():
    pct = "Невработеноста падна за 15 отсто, односно за 3% во Скопје."
    assert check(pct, "Unemployment fell by 15 percent, or by 3% in Skopje.")["number-format"].ok
    assert check(pct, "Unemployment fell by 15%, or by 3 per cent in Skopje.")["number-format"].ok
    bad = check(pct, "Unemployment fell by 15, or by 3 in Skopje.")["number-format"]
    assert not bad.ok and [s["words"] for s in bad.spans] == [["15 отсто"], ["3%"]]
    amount = "Проектот чини 5 милиони евра."
    assert check(amount, "The project costs 5 million euros.")["number-format"].ok
    assert check(amount, "The project costs 5,000,000 euros.")["number-format"].ok
    assert not check(amount, "The project costs 5 euros.")["number-format"].ok
    ordinal = "Ова е 20-ти состанок на министрите."
    assert check(ordinal, "This is the 20th meeting of the ministers.")["number-format"].ok
    assert not check(ordinal, "This is the 20 meeting of the ministers.")["number-format"].ok


def test_missing_number_still_rejects_and_names_it():
    numbers = check("Пристигнаа 345 мигранти.", "Migrants arrived.")["numbers"]
    assert not numbers.ok and numbers.blocking
    assert numbers.spans[0]["words"] == ["345"] and numbers.spans[0]["start"] == 11


# ---------------------------------------------------------------------------- names, romanised words
def test_latin_names_kept():
    source = "Проектот го поддржаа IOM и Frontex во Скопје."
    assert check(source, "The project was supported by IOM and Frontex in Skopje.")["names"].ok
    lost = check(source, "The project was supported by the organisation in Skopje.")["names"]
    assert not lost.ok and [s["words"] for s in lost.spans] == [["IOM"], ["Frontex"]]
    assert source[lost.spans[0]["start"]:lost.spans[0]["end"]] == "IOM"


def test_quoted_names_report_their_spans():
    quoted = check("Кампањата „Safe Migration“ почна денес во Скопје.", "The campaign started today in Skopje.")
    assert not quoted["quoted-names"].ok and quoted["quoted-names"].spans[0]["words"] == ["Safe Migration"]


def test_romanised_share_over_the_threshold():
    source = "Надоврзувајќи се на екстремизмот, поплаките се зголемија во Скопје."
    output = "Nadovrzuvajkji to ekstremizmot, poplakite increased in Skopje."
    rom = check(source, output)["untranslated"]
    assert not rom.ok and not rom.blocking
    assert [s["words"][0] for s in rom.spans] == ["Nadovrzuvajkji", "ekstremizmot", "poplakite"]
    assert [output[s["start"]:s["end"]] for s in rom.spans] == ["Nadovrzuvajkji", "ekstremizmot", "poplakite"]
    assert "3 of 7 words" in rom.detail  # "Skopje" is a name (a capital inside the sentence): not counted
    assert check(source, output, max_untranslated_share=0.5)["untranslated"].ok  # the setting


def test_names_romanised_on_purpose_are_not_counted():
    source = "Министерот Спасовски ја посети Куманово."
    rom = check(source, "Minister Spasovski visited Kumanovo.")["untranslated"]
    assert rom.ok and not rom.spans


# ---------------------------------------------------------------------------- the policy, end to end
RULES_NONE = "# no post-edit rules: the raw engine with romanisation, whatever the packaged rules learn\n"
HELD = "ДИК: поплаки за изборите\n\n" + DIK + "\n\nДржавната изборна комисија го објави извештајот за изборите во Скопје.\n"


def _site(site, extra: str = "") -> App:
    shutil.copy(ROOT / "glossary.toml", site.dir / "glossary.toml")
    (site.dir / "no-rules.toml").write_text(RULES_NONE, "utf-8")
    site.write('[translation.engines.apertium]\nrules = "no-rules.toml"\n' + extra)  # publish: the default
    site.drop_sample()
    (site.inbox / "dik-complaints.mk.txt").write_text(HELD, "utf-8")
    app = App(site.settings())
    app.ingest()
    return app


def test_checked_policy_is_the_english_default(site):
    assert site.settings().translation.publish["en"] == "checked"


def test_checked_policy_holds_lost_negation_and_publishes_the_rest(site):
    app = _site(site)
    try:
        report = translate_pending_en(app)
        releases = {r.title: r for r in app.store.list_releases()}
        held = app.store.get_translation(releases["ДИК: поплаки за изборите"].id, "en")
        passed = [app.store.get_translation(r.id, "en") for t, r in releases.items() if t.startswith("ДИК") is False]
        assert held.status is TranslationStatus.MACHINE and held.engine == "apertium"
        assert held.error.startswith("held for review: ") and "negation" in held.error
        [neg] = [c for c in held.qa if c["name"] == "negation"]
        assert neg["ok"] is False and any(s["words"] == ["нема"] for s in neg["spans"])
        assert [(r["release"], r["lang"]) for r in report["held"]] == [(held.release_id, "en")]
        [ok] = passed
        assert ok.status is TranslationStatus.MACHINE and ok.error is None and all(c["ok"] for c in ok.qa), ok.qa

        settings = app.settings
        build_feeds(settings, app.store)
        feed = feedparser.parse((settings.feeds.output_dir / settings.feeds.path("atom", "en")).read_bytes())
        titles = [e.title for e in feed.entries]
        assert titles == [ok.title], titles  # the held one is not in the English feed
        mk = feedparser.parse((settings.feeds.output_dir / settings.feeds.path("atom", "mk")).read_bytes())
        assert len(mk.entries) == 2  # the originals are

        # pages and e-mails ask the same question: no English link for the held one
        published = app.store.published_languages([held.release_id, ok.release_id], {"en": "checked"})
        assert published == {held.release_id: [], ok.release_id: ["en"]}
        assert not app.store.is_publishable(held, "checked") and app.store.is_publishable(held, "machine")
        assert app.store.is_publishable(ok, "checked") and not app.store.is_publishable(ok, "review")

        # the review state says why: status machine, the failing check with its spans
        code, out, _ = run("translations", "show", str(held.release_id), "en", "--json", settings=site.settings_file)
        shown = json.loads(out)
        assert code == 0 and shown["status"] == "machine" and "negation" in shown["error"]
        assert any(c["name"] == "negation" and not c["ok"] and c["spans"] for c in shown["qa"])

        # staff approve it: published
        app.store.approve_translation(releases["ДИК: поплаки за изборите"], "en", editor="ana")
        build_feeds(settings, app.store)
        feed = feedparser.parse((settings.feeds.output_dir / settings.feeds.path("atom", "en")).read_bytes())
        assert len(feed.entries) == 2
    finally:
        app.close()


def test_machine_policy_still_publishes_it_with_the_failure_recorded(site):
    app = _site(site, '[translation]\npublish = { en = "machine", sq = "machine" }\n')
    try:
        translate_pending_en(app)
        build_feeds(app.settings, app.store)
        feed = feedparser.parse((app.settings.feeds.output_dir / app.settings.feeds.path("atom", "en")).read_bytes())
        assert len(feed.entries) == 2
        held = [t for t in app.store.list_translations(lang="en") if t.error]
        assert len(held) == 1 and "negation" in held[0].error
    finally:
        app.close()


def translate_pending_en(app: App) -> dict:
    from publisher.translate.stage import translate_pending

    return translate_pending(app.translation, langs=["en"]).as_dict()


def test_english_short_forms_pass():
    assert check("Состанокот се одржа на 2 октомври во Скопје.", "The meeting was held on Oct. 2 in Skopje.")[
        "number-format"].ok
    assert check("Пазарот вреди 2,8 милијарди фунти.", "The market is worth £2.8bn.")["number-format"].ok
    assert check("Членовите сакаат назив MWP.", "The members want the title of MWPs.")["names"].ok


def test_one_romanised_word_in_a_short_title_does_not_fail():
    rom = check("Историски момент.", "A historical moment.")["untranslated"]
    assert rom.ok and [s["words"] for s in rom.spans] == [["moment"]]  # still named


def test_an_undetermined_language_is_held_not_rejected():
    # romanised words make the detector unsure: that is for a reviewer, not a reason to drop the output
    source = "Во центарот беа сместени 1.500 мигранти, или 15% повеќе од лани."
    output = "In the centre were smesteni 1.500 migrants, or 15% more of lani."
    candidates = ["mk", "bg", "sr", "ru", "uk", "en", "sq", "de", "fr", "tr", "el", "hr", "bs"]  # settings.toml
    checks = check(source, output, language_candidates=candidates)
    language = checks["language"]
    assert not language.ok and not language.blocking and "could not be told" in language.detail
    assert checks["number-format"].spans[0]["words"] == ["1.500"]
    assert not rejections(checks.values())
    wrong = check("Министерот денеска го посети Скопје и разговараше со граѓаните.",
                  "Ministri sot vizitoi Shkupin dhe bisedoi me qytetarët e shumtë.",
                  language_candidates=candidates)["language"]
    assert not wrong.ok and wrong.blocking  # another language is still rejected
