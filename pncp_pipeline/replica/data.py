"""The replica's dataset: deterministic records for any window, built from the real samples.

Nothing is stored: a window's records are a pure function of (seed, scale, family, modality, day,
index), so the same request always returns the same page, `totalRegistros` equals what paging
through returns, and the server needs no memory that grows with the data. Records are real sample
records with their identifiers, organ CNPJ and dates rewritten, so they keep the API's types and
oddities (integer `situacaoCompraId`, date-only ata dates, `poderId` "N", string ids).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

import orjson

SAMPLES = resources.files("pncp_pipeline.replica") / "samples"
PINNED_SAMPLE = "contratacoes-publicacao_modalidade6-jun-jul2025-page1.json"
MODALITIES_SAMPLE = "api-pncp-v1-modalidades_domain-table-2026.json"

#: Records per day at scale 1.0, by family (contratações per modality). Shapes follow SPEC §4.1
#: (modality 8 largest, 2/3 always empty) scaled down so a test month is hundreds of records.
MODALITY_RATE = {
    8: 40.0, 6: 20.0, 9: 14.0, 4: 4.0, 12: 1.5, 7: 0.5, 5: 0.3, 1: 0.1, 13: 0.05, 10: 0.05,
    11: 0.05, 14: 0.03, 15: 0.05, 16: 0.03, 17: 0.02, 18: 0.03, 19: 0.02,
}
#: Modalities that did not exist before these dates serve nothing earlier (SPEC §4.1).
MODALITY_SINCE = {15: date(2025, 11, 10), 16: date(2026, 2, 23), 17: date(2026, 2, 23),
                  18: date(2026, 2, 23), 19: date(2026, 2, 23)}
FAMILY_RATE = {
    "contrato": 60.0, "contrato_atualizacao": 66.0, "ata": 15.0, "ata_vigencia": 15.0,
    "pca": 100.0, "instrumento": 5.0, "proposta": 10.0,
}
EARLIEST = date(2021, 1, 1)
PCA_EARLIEST = date(2021, 4, 1)
EMPTY_MONTH_SHARE = 0.08
#: An ata stays in force this many days, so /v1/atas returns everything of the past year.
ATA_VALIDITY_DAYS = 365


def unit(*parts: object) -> float:
    """A uniform number in [0, 1) from the parts: the replica's only source of randomness."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _digits(n: int, *parts: object) -> str:
    return f"{int(unit(*parts) * 10**n):0{n}d}"


@functools.cache
def _sample(name: str) -> Any:
    return orjson.loads((SAMPLES / name).read_bytes())


@functools.cache
def _templates(family: str) -> tuple[bytes, ...]:
    """Serialized real records used as moulds; reparsing bytes is the cheapest deep copy."""
    if family in ("contratacao", "contratacao_atualizacao", "proposta"):
        records = _sample(PINNED_SAMPLE)["data"]
    elif family in ("contrato", "contrato_atualizacao"):
        records = _sample("contratos_jun-jul2025-page1-first20.json")["data"]
    elif family in ("ata", "ata_vigencia"):
        records = _sample("atas_vigencia-jun-jul2025-page1-first20.json")["data"]
    else:
        probe = {e["endpoint"]: e for e in _sample("multi-endpoint_probe-one-record-each-2025-07-17.json")}
        key = "pca_atualizacao" if family == "pca" else "instrumentoscobranca_inclusao"
        records = [probe[key]["sample_record"]]
    return tuple(orjson.dumps(r) for r in records)


@functools.cache
def modality_names() -> dict[int, str]:
    table = _sample(MODALITIES_SAMPLE)
    return {row["id"]: row["nome"] for row in table}


@dataclass(frozen=True)
class Query:
    """One series of the dataset: a family (an endpoint's record kind) and, where needed, a modality."""

    family: str
    modality: int | None
    start: date
    end: date  # inclusive: the caller has already applied exclusive-end semantics


class Dataset:
    def __init__(self, seed: int = 1, scale: float = 1.0, today: date | None = None) -> None:
        self.seed = seed
        self.scale = scale
        self.today = today or date.today()
        self._counts = functools.lru_cache(maxsize=65536)(self._day_count)

    # -- volumes ---------------------------------------------------------------------------

    def _rate(self, family: str, modality: int | None) -> float:
        if family in ("contratacao", "contratacao_atualizacao"):
            base = MODALITY_RATE.get(modality or 0, 0.0)
            return base * (1.1 if family == "contratacao_atualizacao" else 1.0)
        return FAMILY_RATE[family]

    def _day_count(self, family: str, modality: int | None, day: date) -> int:
        # Open proposals close in the future (SPEC §2.3); everything else is dated today at the latest.
        if (day > self.today and family != "proposta") or day < (PCA_EARLIEST if family == "pca" else EARLIEST):
            return 0
        if modality in MODALITY_SINCE and day < MODALITY_SINCE[modality]:
            return 0
        month = (day.year, day.month)
        if family != "proposta" and unit(self.seed, "empty-month", family, modality, month) < EMPTY_MONTH_SHARE:
            return 0
        weekday = 1.0 if day.weekday() < 5 else 0.2
        expected = self._rate(family, modality) * self.scale * weekday * (0.5 + unit(self.seed, family, modality, day))
        return int(expected + unit(self.seed, "frac", family, modality, day))

    def _days(self, q: Query) -> list[date]:
        if q.family == "ata_vigencia":
            first = q.start - timedelta(days=ATA_VALIDITY_DAYS - 1)
        else:
            first = q.start
        return [first + timedelta(days=i) for i in range((q.end - first).days + 1)]

    def _cumulative(self, q: Query) -> tuple[list[date], list[int]]:
        days = self._days(q)
        family = "ata" if q.family == "ata_vigencia" else q.family
        cum, total = [], 0
        for d in days:
            total += self._counts(family, q.modality, d)
            cum.append(total)
        return days, cum

    def total(self, q: Query, drift: int = 0) -> int:
        """Records in the window; `drift` moves the count as records published or removed since."""
        if self._pinned(q):
            return _sample(PINNED_SAMPLE)["totalRegistros"]
        base = self._cumulative(q)[1][-1] if q.end >= q.start else 0
        return max(0, base + drift) if base else 0

    # -- records ---------------------------------------------------------------------------

    def _pinned(self, q: Query) -> bool:
        """The one window whose page 1 is the stored real response (checked against real bytes)."""
        return (q.family, q.modality, q.start, q.end) == ("contratacao", 6, date(2025, 6, 24), date(2025, 7, 24))

    def pinned_page_bytes(self) -> bytes:
        return (SAMPLES / PINNED_SAMPLE).read_bytes()

    def slice(self, q: Query, offset: int, limit: int, drift: int = 0) -> list[dict[str, Any]]:
        """Records [offset, offset+limit) of the window, in the server's (ascending date) order.

        With a positive `drift`, the extra records are the window's last day's latest publications.
        """
        total = self.total(q, drift)
        stop = min(total, offset + limit)
        if offset >= stop:
            return []
        if self._pinned(q):
            return [self._pinned_record(q, i) for i in range(offset, stop)]
        days, cum = self._cumulative(q)
        base = cum[-1]
        last_count = base - (cum[-2] if len(cum) > 1 else 0)
        out = []
        pos = bisect.bisect_right(cum, offset)
        for i in range(offset, stop):
            if i >= base:
                out.append((days[-1], last_count + i - base, last_count + max(drift, 0)))
                continue
            while cum[pos] <= i:
                pos += 1
            before = cum[pos - 1] if pos else 0
            out.append((days[pos], i - before, cum[pos] - before))
        if q.family == "pca":
            return self._pca_plans(q, out)
        return [self._record(q.family, q.modality, day, idx, n) for day, idx, n in out]

    def _pinned_record(self, q: Query, i: int) -> dict[str, Any]:
        real = _sample(PINNED_SAMPLE)["data"]
        if i < len(real):
            return real[i]
        day = q.start + timedelta(days=(i * 31) // self.total(q))
        return self._record("contratacao", 6, day, i, self.total(q), cnpj_prefix="99")

    def _cnpj(self, family: str, modality: int | None, day: date, cnpj_prefix: str = "") -> str:
        head = cnpj_prefix or f"{modality or 0:02d}"
        return f"{head}{day.toordinal():07d}" + _digits(5, self.seed, "cnpj", family, day)

    def _stamp(self, day: date, idx: int, n: int) -> str:
        seconds = (idx * 86399) // max(n, 1)
        return (datetime.combine(day, datetime.min.time()) + timedelta(seconds=seconds)).isoformat()

    def _record(self, family: str, modality: int | None, day: date, idx: int, n: int,
                cnpj_prefix: str = "") -> dict[str, Any]:
        templates = _templates(family)
        rec = orjson.loads(templates[int(unit(self.seed, "tpl", family, day, idx) * len(templates))])
        key_family = {"contratacao_atualizacao": "contratacao", "contrato_atualizacao": "contrato",
                      "ata_vigencia": "ata"}.get(family, family)
        cnpj = self._cnpj(key_family, modality, day, cnpj_prefix)
        # A proposal closing on `day` was published no later than today.
        published = min(day, self.today) if family == "proposta" else day
        seq, year, stamp = idx + 1, published.year, self._stamp(published, idx, n)
        if family in ("contratacao", "contratacao_atualizacao", "proposta"):
            rec["numeroControlePNCP"] = f"{cnpj}-1-{seq:06d}/{year}"
            rec["anoCompra"], rec["sequencialCompra"] = year, seq
            rec["orgaoEntidade"]["cnpj"] = cnpj
            if modality is not None:
                rec["modalidadeId"], rec["modalidadeNome"] = modality, modality_names()[modality]
            rec["dataInclusao"] = rec["dataPublicacaoPncp"] = stamp
            rec["dataAtualizacao"] = stamp
            rec["dataAtualizacaoGlobal"] = stamp if family != "contratacao_atualizacao" else stamp[:11] + "23:59:59"
            if family == "proposta":
                rec["dataEncerramentoProposta"] = f"{day.isoformat()}T18:00:00"
        elif family in ("contrato", "contrato_atualizacao"):
            rec["numeroControlePNCP"] = f"{cnpj}-2-{seq:06d}/{year}"
            rec["numeroControlePncpCompra"] = f"{cnpj}-1-{seq:06d}/{year}"
            rec["anoContrato"], rec["sequencialContrato"] = year, seq
            rec["orgaoEntidade"]["cnpj"] = cnpj
            rec["dataPublicacaoPncp"] = rec["dataAtualizacao"] = stamp
            rec["dataAtualizacaoGlobal"] = stamp if family == "contrato" else stamp[:11] + "23:59:59"
        elif family in ("ata", "ata_vigencia"):
            rec["numeroControlePNCPCompra"] = f"{cnpj}-1-{seq:06d}/{year}"
            rec["numeroControlePNCPAta"] = f"{cnpj}-1-{seq:06d}/{year}-000001"
            rec["anoAta"] = year
            rec["cnpjOrgao"] = cnpj
            iso = day.isoformat()
            rec["dataAssinatura"] = rec["vigenciaInicio"] = iso
            rec["vigenciaFim"] = (day + timedelta(days=ATA_VALIDITY_DAYS - 1)).isoformat()
            rec["dataPublicacaoPncp"] = rec["dataInclusao"] = rec["dataAtualizacao"] = iso
            rec["dataAtualizacaoGlobal"] = iso
        elif family == "instrumento":
            rec["cnpj"], rec["ano"] = cnpj, year
            rec["sequencialContrato"], rec["sequencialInstrumentoCobranca"] = seq, 1
            rec["dataInclusao"] = rec["dataAtualizacao"] = stamp
        return rec

    # -- PCA: plans with nested items; pages and totals count items --------------------------

    def _plan_size(self, day: date) -> int:
        return 3 + int(unit(self.seed, "plan-size", day) * 9)

    def _pca_plans(self, q: Query, items: list[tuple[date, int, int]]) -> list[dict[str, Any]]:
        template = orjson.loads(_templates("pca")[0])
        item_template = orjson.dumps(template["itens"][0])
        plans: list[dict[str, Any]] = []
        current: tuple[date, int] | None = None
        for day, idx, n in items:
            size = self._plan_size(day)
            plan_no = idx // size
            if (day, plan_no) != current:
                current = (day, plan_no)
                plan = orjson.loads(orjson.dumps({k: v for k, v in template.items() if k != "itens"}))
                cnpj = self._cnpj("pca", None, day)
                plan["idPcaPncp"] = f"{cnpj}-0-{plan_no + 1:06d}/{day.year}"
                plan["orgaoEntidadeCnpj"] = cnpj
                plan["anoPca"] = day.year
                plan["dataPublicacaoPNCP"] = plan["dataAtualizacaoGlobalPCA"] = self._stamp(day, idx, n)
                plan["itens"] = []
                plans.append(plan)
            item = orjson.loads(item_template)
            item["numeroItem"] = idx % size + 1
            item["dataInclusao"] = item["dataAtualizacao"] = self._stamp(day, idx, n)
            plans[-1]["itens"].append(item)
        return plans


def page_count(total: int, size: int) -> int:
    return math.ceil(total / size)
