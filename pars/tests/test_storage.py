"""The static files storage production uses (pars.storage): the URLs of WhiteNoise's manifest storage, remembered."""

import json

import pytest
from whitenoise.storage import CompressedManifestStaticFilesStorage

from pars.storage import StaticFilesStorage

MANIFEST = {
    "paths": {"css/site.css": "css/site.0123abcd.css", "fonts/icons.eot": "fonts/icons.89ef4567.eot"},
    "version": "1.1",
    "hash": "feedbeef",
}
NAMES = ["css/site.css", "css/site.css", "fonts/icons.eot?#iefix", "css/site.css#top"]


@pytest.fixture
def location(tmp_path):
    (tmp_path / "staticfiles.json").write_text(json.dumps(MANIFEST))
    return tmp_path


def test_each_url_is_the_one_whitenoise_gives_every_time_it_is_asked(location):
    ours = StaticFilesStorage(location=location, base_url="/static/")
    theirs = CompressedManifestStaticFilesStorage(location=location, base_url="/static/")

    assert [ours.url(name) for name in NAMES] == [theirs.url(name) for name in NAMES]
    assert ours.url("css/site.css") == "/static/css/site.0123abcd.css"


def test_a_file_missing_from_the_manifest_is_refused_every_time(location):
    storage = StaticFilesStorage(location=location, base_url="/static/")
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("js/missing.js")
