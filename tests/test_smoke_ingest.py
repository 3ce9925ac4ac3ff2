from publisher.app import App

from .conftest import SAMPLE_TITLE


def test_sample_ingests_with_title_and_four_paragraphs(site):
    site.drop_sample()
    app = App(site.settings())
    report = app.ingest()
    assert report.counts()["new"] == 1
    [release] = app.store.list_releases()
    assert release.title == SAMPLE_TITLE
    assert len(release.paragraphs) == 4
    assert "Треба да знаете" not in release.body and "Последни објави" not in release.body
    assert "  " not in release.body
    assert release.language == "mk" and release.flags == ()
    second = app.ingest()
    assert second.counts() == {"new": 0, "updated": 0, "unchanged": 1, "quarantined": 0, "failed_sources": 0}
    assert app.store.count_releases() == 1
    app.close()


def test_failing_source_is_recorded_once_per_outage_and_others_run(site):
    site.write(sources="""
[[sources]]
name = "gone"
type = "directory"
path = "no-such-folder"

[[sources]]
name = "inbox"
type = "directory"
path = "inbox"
settle_seconds = 0
""")
    site.drop_sample()
    app = App(site.settings())
    report = app.ingest()
    assert report.counts()["new"] == 1
    [(name, error)] = report.failed_sources
    assert name == "gone" and "no-such-folder" in error and "does not exist" in error
    assert app.store.get_source_state("gone").last_error == error
    app.ingest()  # still failing: no second quarantine row for the same outage
    [row] = app.store.list_quarantine(source="gone")
    assert row.reason.startswith("source failed:") and "no-such-folder" in row.ref
    (site.dir / "no-such-folder").mkdir()
    assert app.ingest().failed_sources == []
    assert app.store.get_source_state("gone").last_error is None
    app.close()
