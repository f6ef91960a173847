"""Test helper: run a save in a forked child whose files may not grow past a limit.

A full disk is simulated with ``RLIMIT_FSIZE`` (writes past the limit fail with EFBIG,
``SIGXFSZ`` ignored) in the child only, so nothing else on the machine is affected.
Imported as ``from tests._child import outcome_with_file_limit``.
"""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import Callable


def outcome_with_file_limit(fn: Callable[[], object], limit: int,
                            report_as: type[BaseException] | None = None) -> str:
    """Run ``fn()`` in a child whose files may not grow past ``limit`` bytes; its outcome:
    ``"saved"``, or ``"<exception class name> <message>"`` (an exception that is a
    ``report_as`` is named ``report_as``, e.g. any ``OSError`` subclass as ``"OSError"``).
    Fails the calling test if the child dies of a signal."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            try:
                fn()
                os.write(write_end, b"saved")
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                name = report_as.__name__ if report_as is not None and \
                    isinstance(exc, report_as) else type(exc).__name__
                os.write(write_end, f"{name} {exc}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    out = b""
    while chunk := os.read(read_end, 4096):
        out += chunk
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert not os.WIFSIGNALED(status), f"the save crashed with signal {os.WTERMSIG(status)}"
    return out.decode()
