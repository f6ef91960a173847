"""What a load did: the report every ``load_weights`` returns.

>>> r = LoadReport("w.h5")
>>> r.loaded.append("dense"); r.skip("dense_1", "weight count mismatch: expected 2, found 1")
>>> print(r)
Loaded weights from w.h5: 1 layer(s) loaded, 1 skipped.
  skipped dense_1: weight count mismatch: expected 2, found 1
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LoadReport:
    """Loaded, skipped (with reasons), missing (in the model, not the file) and unexpected
    (in the file, not the model) layers or weights."""

    filepath: str
    loaded: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append((name, reason))

    def __str__(self) -> str:
        lines = [f"Loaded weights from {self.filepath}: {len(self.loaded)} layer(s) loaded, "
                 f"{len(self.skipped)} skipped."]
        lines += [f"  skipped {name}: {reason}" for name, reason in self.skipped]
        if self.missing:
            lines.append(f"  in the model but not in the file: {', '.join(self.missing)}")
        if self.unexpected:
            lines.append(f"  in the file but not in the model: {', '.join(self.unexpected)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"LoadReport({self.filepath!r}, loaded={len(self.loaded)}, "
                f"skipped={len(self.skipped)}, missing={len(self.missing)}, "
                f"unexpected={len(self.unexpected)})")
