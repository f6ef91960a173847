"""Issue 11 case 11: saving to a symbolic link writes through it to its target (tf-keras
opens the path for writing, which follows the link); the link itself stays a link."""

from __future__ import annotations

import os

import pytest
from robustness_formats import FORMATS, assert_same, fill, small_model, weights


@pytest.mark.parametrize("name", ["h5", "weights_h5", "keras", "tf"])
def test_save_through_a_symlink_replaces_the_target(tmp_path, name):
    fmt = FORMATS[name]
    real = tmp_path / "real"
    real.mkdir()
    model = small_model(1)
    path = fmt.save(model, str(real))
    files = [path] if name != "tf" else [path + ".index", path + ".data-00000-of-00001"]
    links = tmp_path / "links"
    links.mkdir()
    for f in files:
        os.symlink(f, links / os.path.basename(f))
    linked = str(links / os.path.basename(path))
    fill(model, 5)
    if name == "keras":
        model.save(linked)
    else:
        model.save_weights(linked)
    for f in files:
        assert os.path.islink(links / os.path.basename(f)), "the link was replaced"
    target = small_model(0)
    fmt.load(target, path)  # the real file has the new weights
    assert_same(weights(target), weights(model))
