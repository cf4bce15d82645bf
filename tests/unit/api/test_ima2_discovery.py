"""ima2's advertisement file: found where ima2's CLI looks, in ``ima2 serve``'s shape, and removed
only by the process it names."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pixelmill.api.dialects.ima2.discovery import discovery_path, remove_discovery, write_discovery


def test_the_path_follows_ima2s_variables(tmp_path: Path) -> None:
    assert discovery_path({"IMA2_ADVERTISE_FILE": str(tmp_path / "ad.json")}) == tmp_path / "ad.json"
    assert discovery_path({"IMA2_CONFIG_DIR": str(tmp_path)}) == tmp_path / "server.json"
    assert discovery_path({}) == Path.home() / ".ima2" / "server.json"


def test_written_in_ima2s_shape_and_removed_by_its_writer_only(tmp_path: Path) -> None:
    path = tmp_path / "ima2" / "server.json"
    write_discovery(path, url="http://127.0.0.1:8700", port=8700, version="9.9.9")
    content = json.loads(path.read_text())
    assert content["backend"] == {"configuredPort": 8700, "actualPort": 8700, "url": "http://127.0.0.1:8700"}
    assert (content["url"], content["port"], content["pid"], content["version"]) == (
        "http://127.0.0.1:8700",
        8700,
        os.getpid(),
        "9.9.9",
    )
    assert isinstance(content["startedAt"], int)
    assert set(content["oauth"]) == {"configuredPort", "actualPort", "url", "status"}
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind

    path.write_text(json.dumps({**content, "pid": content["pid"] + 1}))  # an ima2 serve took it over
    remove_discovery(path)
    assert path.exists()
    write_discovery(path, url="http://127.0.0.1:8700", port=8700, version="9.9.9")
    remove_discovery(path)
    assert not path.exists()
    remove_discovery(path)  # nothing there: nothing to do
