"""Fault switches: independent, seeded probabilities, decided per (request, how many times it was asked).

Deciding from the request and its repeat count, not from one global random stream, keeps faults
reproducible under concurrency: the third attempt at page 7 gets the same fate in every run, however
the client interleaves its requests.

Besides transport-level faults, three switches make the data contradict a client's plan, as the
live API does: totals that move while a window is paged (drift), records repeated and skipped at
page boundaries (unstable ordering), and a page answered with another page's number; and 429s can
come in bursts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from pncp_pipeline.replica.data import unit

#: Order matters only when several switches fire for one request: the first one wins.
KINDS = ("fail_5xx", "fail_429", "fail_html", "fail_truncate", "fail_stall", "fail_reset", "fail_wrong_page")


@dataclass
class Faults:
    fail_5xx: float = 0.0
    fail_429: float = 0.0
    fail_html: float = 0.0
    fail_truncate: float = 0.0
    fail_stall: float = 0.0
    fail_reset: float = 0.0
    fail_wrong_page: float = 0.0
    stall_s: float = 30.0
    #: Every `burst_429_every` list requests, the next `burst_429_length` are all 429 (0: off).
    burst_429_every: int = 0
    burst_429_length: int = 0
    #: After every `drift_after` requests to one window, its totals move by `drift_records`
    #: (published at the end when positive, removed from the end when negative), at most
    #: `drift_max_steps` times: a month that changes while it is being downloaded.
    drift_records: int = 0
    drift_after: int = 0
    drift_max_steps: int = 1
    #: Probability that a page boundary repeats the previous page's last record instead of its own first.
    unstable_order: float = 0.0

    def __post_init__(self) -> None:
        for kind in (*KINDS, "unstable_order"):
            value = getattr(self, kind)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{kind} must be a probability between 0 and 1, got {value}")
        for name in ("stall_s", "burst_429_every", "burst_429_length", "drift_after", "drift_max_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def burst(self, list_request_number: int) -> bool:
        every = self.burst_429_every
        return every > 0 and list_request_number % every < self.burst_429_length

    def drift(self, asks_before: int) -> int:
        """Records added (or removed) in a window that has been asked for `asks_before` times already."""
        if not self.drift_records or not self.drift_after:
            return 0
        return self.drift_records * min(asks_before // self.drift_after, self.drift_max_steps)

    def update(self, values: dict[str, float]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}; known: {sorted(known)}")
        types = {f.name: f.type for f in fields(self)}
        merged = asdict(self) | {k: (int(v) if types[k] in (int, "int") else float(v)) for k, v in values.items()}
        Faults(**merged)  # validate before touching self
        for name, value in merged.items():
            setattr(self, name, value)

    def pick(self, seed: int, request_key: str, repeat: int) -> str | None:
        for kind in KINDS:
            p = getattr(self, kind)
            if p > 0 and unit(seed, kind, request_key, repeat) < p:
                return kind
        return None

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)
