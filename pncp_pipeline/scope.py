"""What a run works on: endpoints × a range of months. Parsed and checked before anything is touched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from collections.abc import Mapping
from typing import Any

from pncp_pipeline.endpoints import EARLIEST_MONTH, Endpoint, enabled_endpoints, get_endpoint
from pncp_pipeline.errors import UsageError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str, *, today: date | None = None) -> date:
    """'2024-03' -> date(2024, 3, 1); refuses malformed, pre-PNCP and future months with one line."""
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise UsageError(f"month {text!r} is not of the form YYYY-MM (e.g. 2024-03)")
    month = date(int(match[1]), int(match[2]), 1)
    current = (today or date.today()).replace(day=1)
    if month < EARLIEST_MONTH:
        raise UsageError(f"month {text} is before {EARLIEST_MONTH:%Y-%m}: PNCP publishes nothing earlier")
    if month > current:
        raise UsageError(f"month {text} is in the future (the latest is {current:%Y-%m})")
    return month


def configured(endpoints: tuple[Endpoint, ...], page_sizes: Mapping[str, int]) -> tuple[Endpoint, ...]:
    return tuple(e.with_page_size(page_sizes[e.name]) if e.name in page_sizes else e for e in endpoints)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Scope:
    endpoints: tuple[Endpoint, ...]
    start: date  # first day of the first month
    end: date  # first day of the last month (inclusive)

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise UsageError(f"start month {self.start:%Y-%m} is after end month {self.end:%Y-%m}")
        if not self.endpoints:
            raise UsageError("no endpoint selected")

    @classmethod
    def from_args(cls, start: str, end: str | None = None, endpoint_names: list[str] | None = None,
                  today: date | None = None, page_sizes: Mapping[str, int] | None = None) -> "Scope":
        first = parse_month(start, today=today)
        last = parse_month(end, today=today) if end else first
        endpoints = tuple(get_endpoint(n) for n in endpoint_names) if endpoint_names else enabled_endpoints()
        return cls(configured(endpoints, page_sizes or {}), first, last)

    def endpoint(self, name: str) -> Endpoint:
        """The run's own copy of an endpoint (with its configured page size), by name."""
        for e in self.endpoints:
            if e.name == name:
                return e
        raise KeyError(name)

    @property
    def months(self) -> list[date]:
        out, month = [], self.start
        while month <= self.end:
            out.append(month)
            month = add_months(month, 1)
        return out

    def params(self) -> dict[str, Any]:
        """The bound parameters every scoped statement takes (`$endpoints`, `$start`, `$end`)."""
        return {"endpoints": [e.name for e in self.endpoints], "start": self.start, "end": self.end}

    def describe(self) -> str:
        names = ", ".join(e.name for e in self.endpoints)
        span = f"{self.start:%Y-%m}" if self.start == self.end else f"{self.start:%Y-%m}..{self.end:%Y-%m}"
        return f"{names} for {span}"
