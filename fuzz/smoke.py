"""A short deterministic mutation run over every target (what ``make test`` runs).

Mutations: bit flips, byte sets to 0/0xff, truncations, 8-byte length fields set to 0 or
huge, duplicated and deleted ranges -- each applied to each seed, ``budget`` seconds per
target.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator


def mutations(seed: bytes, rng: random.Random) -> Iterator[bytes]:
    """An endless stream of mutants of ``seed``."""
    n = len(seed)
    while True:
        data = bytearray(seed)
        kind = rng.randrange(7)
        if n == 0:
            yield bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
            continue
        pos = rng.randrange(n)
        if kind == 0:
            data[pos] ^= 1 << rng.randrange(8)
        elif kind == 1:
            data[pos] = rng.choice((0, 0xFF))
        elif kind == 2:
            data = data[:pos]
        elif kind == 3:
            data[pos:pos + 8] = rng.choice((bytes(8), b"\xff" * 8,
                                            (1 << 40).to_bytes(8, "little")))
        elif kind == 4:
            end = min(n, pos + rng.randrange(1, 64))
            data[pos:pos] = data[pos:end]
        elif kind == 5:
            del data[pos:pos + rng.randrange(1, 64)]
        else:
            for _ in range(rng.randrange(2, 10)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        yield bytes(data)


def run(name: str, budget: float, seed: int = 0) -> int:
    """Run target ``name`` for ``budget`` seconds; returns the number of inputs tried.
    An unclean failure propagates with the input attached (``exc.fuzz_input``)."""
    import warnings

    from fuzz.targets import TARGETS

    target = TARGETS[name]
    rng = random.Random(seed)
    seeds = target.seeds()
    streams = [mutations(s, rng) for s in seeds]
    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped layers etc. warn; only errors matter here
        for s in seeds:
            target.run(s)
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            data = next(streams[count % len(streams)])
            try:
                target.run(data)
            except BaseException as exc:
                exc.fuzz_input = data
                raise
            count += 1
    return count
