"""Issue 11 case 10: a full disk while saving ``.h5``, ``.weights.h5`` or ``.weights.json``
could end the process with SIGSEGV inside HDF5 (or raise ``RuntimeError``). HDF5 files are
now written by ``numkeras/saving/h5write.py`` (room reserved first, HDF5 never sees a failed
write): the save raises ``OSError`` and the previous file still loads.

The full disk is simulated with ``RLIMIT_FSIZE`` (writes past the limit fail with EFBIG,
``SIGXFSZ`` ignored) in a child process, so nothing else on the machine is affected.
"""

from __future__ import annotations

import pytest
import robustness_formats
from robustness_formats import FORMATS, assert_same, fill, small_model, weights

from tests._child import outcome_with_file_limit


@pytest.mark.parametrize("name", ["h5", "weights_h5", "weights_json", "keras"])
@pytest.mark.parametrize("limit", [4096, 8192])
def test_full_disk_is_an_oserror_and_keeps_the_previous_file(tmp_path, name, limit):
    fmt = FORMATS[name]
    model = small_model(1, width=64)  # files of about 20 KiB
    saver = fmt.saver if name != "weights_json" else \
        robustness_formats._weights_saver("w.weights.json", max_shard_size=4096 / 1024 ** 3)
    save = saver(model, str(tmp_path))
    path = save()
    old = [w.copy() for w in model.get_weights()]

    def fill_and_save():
        fill(model, 9)
        save()

    outcome = outcome_with_file_limit(fill_and_save, limit, report_as=OSError)
    assert outcome.startswith("OSError"), outcome
    target = small_model(99, width=64)
    fmt.load(target, path)
    assert_same(weights(target), old)
    fill(model, 3)  # and the next save works
    save()
