"""InvokeAI image names for pixelmill files: made and read back without a lookup."""

from __future__ import annotations

import pytest

from pixelmill.api.dialects.invokeai.names import file_id_of, image_name_for, image_name_of, image_name_of_ref
from pixelmill.ids import new_id


def test_a_name_is_the_file_id_and_its_extension_and_reads_back() -> None:
    file_id = new_id("file")
    assert image_name_for(file_id, "png") == f"{file_id}.png"
    assert image_name_of(file_id, "image/jpeg") == f"{file_id}.jpg"
    assert file_id_of(image_name_of(file_id, "image/png")) == file_id
    assert file_id_of(image_name_of(file_id, "image/webp")) == file_id


@pytest.mark.parametrize(
    "name",
    [
        "",
        "abc123.png",  # an InvokeAI uuid name: never one of pixelmill's
        "file_01J9Z.png",  # too short for a ULID
        "run_01J9ZZZZZZZZZZZZZZZZZZZZZZ.png",  # another kind of id
        "file_01J9ZZZZZZZZZZZZZZZZZZZZZZ",  # no extension
        "file_01J9ZZZZZZZZZZZZZZZZZZZZZZ.png/../x",
        "file_01j9zzzzzzzzzzzzzzzzzzzzzz.png",  # ULIDs are upper case
        "file_01J9ZZZZZZZZZZZZZZZZZZZZZZ.PNG",
    ],
)
def test_a_name_pixelmill_never_hands_out_names_no_file(name: str) -> None:
    assert file_id_of(name) is None


def test_a_stored_reference_names_its_file_and_a_reference_without_one_names_nothing() -> None:
    file_id = new_id("file")
    assert image_name_of_ref({"kind": "image", "file_id": file_id, "mime": "image/png"}) == f"{file_id}.png"
    assert image_name_of_ref({"kind": "image", "sha256": "ab" * 32, "mime": "image/png"}) is None
    assert image_name_of_ref("not a reference") is None
