"""Fault switches: independent, seeded probabilities, decided per (request, how many times it was asked).

Deciding from the request and its repeat count, not from one global random stream, keeps faults
reproducible under concurrency: the third attempt at page 7 gets the same fate in every run, however
the client interleaves its requests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from pncp_pipeline.replica.data import unit

#: Order matters only when several switches fire for one request: the first one wins.
KINDS = ("fail_5xx", "fail_429", "fail_html", "fail_truncate", "fail_stall", "fail_reset")


@dataclass
class Faults:
    fail_5xx: float = 0.0
    fail_429: float = 0.0
    fail_html: float = 0.0
    fail_truncate: float = 0.0
    fail_stall: float = 0.0
    fail_reset: float = 0.0
    stall_s: float = 30.0

    def __post_init__(self) -> None:
        for kind in KINDS:
            value = getattr(self, kind)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{kind} must be a probability between 0 and 1, got {value}")
        if self.stall_s < 0:
            raise ValueError(f"stall_s must be >= 0, got {self.stall_s}")

    def update(self, values: dict[str, float]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}; known: {sorted(known)}")
        merged = asdict(self) | {k: float(v) for k, v in values.items()}
        Faults(**merged)  # validate before touching self
        for name, value in merged.items():
            setattr(self, name, value)

    def pick(self, seed: int, request_key: str, repeat: int) -> str | None:
        for kind in KINDS:
            p = getattr(self, kind)
            if p > 0 and unit(seed, kind, request_key, repeat) < p:
                return kind
        return None

    def as_dict(self) -> dict[str, float]:
        return asdict(self)
