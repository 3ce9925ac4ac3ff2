from publisher.app import App
from publisher.models import IngestOutcome

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
