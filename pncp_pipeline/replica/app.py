"""The replica's HTTP face: a bare ASGI application (no framework), so faults can reach the wire.

A framework would hide exactly what we need to reproduce: a body cut mid-JSON with a correct
Content-Length, a connection dropped after half the promised bytes, a 200 that is an HTML page.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl

import orjson

from pncp_pipeline.replica import contract as c
from pncp_pipeline.replica.data import MODALITIES_SAMPLE, SAMPLES, Dataset, Query, modality_names, page_count, unit
from pncp_pipeline.replica.faults import Faults

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

BRT = timezone(timedelta(hours=-3))
HTML_429 = (
    b"<html><head><title>429 Too Many Requests</title></head><body>"
    b"<h1>Limite de requisi\xc3\xa7\xc3\xb5es excedido</h1></body></html>"
)
HTML_MAINTENANCE = (
    b"<!DOCTYPE html><html><head><title>PNCP</title></head><body>"
    b"<h1>Portal em manuten\xc3\xa7\xc3\xa3o</h1><p>Tente novamente mais tarde.</p></body></html>"
)
HTML_GATEWAY = b"<html><body><h1>%d Gateway Error</h1></body></html>"


class DropConnection(Exception):
    """Raised after a partial body: the server aborts the connection, as a crashed upstream does."""


class _DropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DropConnection))


logging.getLogger("uvicorn.error").addFilter(_DropFilter())


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"


@dataclass
class Stats:
    total: int = 0
    by_path: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)
    by_path_status: defaultdict = field(default_factory=lambda: defaultdict(Counter))
    by_query: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0  # the most requests the replica was answering at once

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_path": dict(self.by_path),
            "by_status": {str(k): v for k, v in self.by_status.items()},
            "by_path_status": {p: {str(k): v for k, v in s.items()} for p, s in self.by_path_status.items()},
            "by_query": dict(self.by_query),
            "faults": dict(self.faults),
            "max_in_flight": self.max_in_flight,
        }


def error_a(status: int, message: str, path: str) -> bytes:
    """Spring Boot's default error body: numeric status, UTC timestamp (SPEC §6, shape A)."""
    reason = {400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return orjson.dumps({"timestamp": now, "status": status, "error": reason, "message": message, "path": path})


def error_b(message: str, path: str) -> bytes:
    """The application's own validation body: string status, -03:00 timestamp (SPEC §6, shape B)."""
    now = datetime.now(BRT).isoformat(timespec="milliseconds")
    return orjson.dumps(
        {"path": path, "message": message, "error": "422 UNPROCESSABLE_ENTITY", "timestamp": now, "status": "422"}
    )


def _parse_date(raw: str) -> date | None:
    if len(raw) != 8 or not raw.isdigit():
        return None
    try:
        return datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        return None


def _int_param(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, c.msg_bad_type(name, raw)) from None


class Replica:
    """State shared by all requests: the dataset, the fault switches and the counters."""

    def __init__(self, seed: int = 1, scale: float = 1.0, latency_ms: float = 0.0,
                 faults: Faults | None = None, today: date | None = None) -> None:
        self.seed = seed
        self.dataset = Dataset(seed=seed, scale=scale, today=today)
        self.latency_s = latency_ms / 1000.0
        self.faults = faults or Faults()
        self.stats = Stats()
        self._asked: Counter = Counter()
        self._window_asks: Counter = Counter()
        self._list_requests = 0

    # -- the consultation API ----------------------------------------------------------------

    def list_endpoint(self, spec: c.PathContract, params: dict[str, str], drift: int = 0) -> Response:
        try:
            return self._list(spec, params, drift)
        except ApiError as e:
            body = error_b(e.message, spec.internal_path) if e.status == 422 else error_a(
                e.status, e.message, spec.internal_path)
            return Response(e.status, body)

    def _list(self, spec: c.PathContract, params: dict[str, str], drift: int = 0) -> Response:
        required = [p for p in (spec.start_param, spec.end_param) if p]
        if spec.modality == "required":
            required.append("codigoModalidadeContratacao")
        required.append("pagina")
        for name in required:
            if not params.get(name):
                raise ApiError(400, c.msg_missing(name))
        page = _int_param(params, "pagina")
        size = _int_param(params, "tamanhoPagina")
        modality = _int_param(params, "codigoModalidadeContratacao")
        size = spec.default_page_size if size is None else size
        if not c.MIN_PAGE_SIZE <= size <= spec.max_page_size:
            raise ApiError(400, c.MSG_PAGE_SIZE)
        assert page is not None
        if page < 1:
            raise ApiError(400, c.MSG_PAGE_MIN)
        start, end = self._window(spec, params)
        if modality is not None and modality not in modality_names():
            raise ApiError(422, c.MSG_BAD_MODALITY)
        if params.get("codigoUnidade") and not params.get("cnpj") and spec.family == "pca":
            raise ApiError(422, c.MSG_UNIT_WITHOUT_CNPJ)
        query = Query(spec.family, modality, start, end)
        cnpj = params.get(spec.cnpj_param or "")
        if (
            spec.family == "contratacao" and page == 1 and size == 10 and not cnpj
            and self.dataset.total(query) and query == Query("contratacao", 6, date(2025, 6, 24), date(2025, 7, 24))
        ):
            return Response(200, self.dataset.pinned_page_bytes())
        if cnpj:
            records = [r for r in self.dataset.slice(query, 0, self.dataset.total(query)) if _cnpj_of(r) == cnpj]
            total = _count(spec, records)
            data = _paginate(spec, records, page, size)
        else:
            total = self.dataset.total(query, drift)
            data = self.dataset.slice(query, (page - 1) * size, size, drift) if total else []
            if data and page > 1 and spec.family != "pca" and self.faults.unstable_order and unit(
                    self.seed, "unstable", _window_key(spec, params), page) < self.faults.unstable_order:
                # ties in the server's sort: the previous page's last record shows up again here,
                # and this page's own first record is never served at all
                data[0] = self.dataset.slice(query, (page - 1) * size - 1, 1, drift)[0]
        if total == 0:
            return self._empty(spec)
        pages = page_count(total, size)
        if page > pages:
            raise ApiError(400, c.MSG_PAGE_PAST_END)
        envelope = {"data": data, "totalRegistros": total, "totalPaginas": pages, "numeroPagina": page,
                    "paginasRestantes": pages - page, "empty": False}
        return Response(200, orjson.dumps(envelope))

    def _window(self, spec: c.PathContract, params: dict[str, str]) -> tuple[date, date]:
        end_raw = params[spec.end_param]
        end = _parse_date(end_raw)
        if spec.window is c.Window.PROPOSAL:
            if end is None:
                raise ApiError(422, c.msg_bad_date("Final"))
            today = self.dataset.today
            if end < today:
                raise ApiError(422, c.MSG_PROPOSAL_PAST)
            return today, end
        assert spec.start_param is not None
        start = _parse_date(params[spec.start_param])
        if start is None or (spec.min_start and params[spec.start_param] < spec.min_start):
            raise ApiError(422, c.MSG_PCA_START if spec.min_start else c.msg_bad_date("Inicial"))
        if end is None:
            raise ApiError(422, c.msg_bad_date("Final"))
        if start > end:
            raise ApiError(422, c.MSG_ORDER)
        if (end - start).days > c.MAX_WINDOW_DAYS:
            raise ApiError(422, c.MSG_WINDOW)
        if spec.end_exclusive:
            end -= timedelta(days=1)
        return start, end

    def _empty(self, spec: c.PathContract) -> Response:
        if spec.empty is c.Empty.EMPTY_200:
            return Response(200, b"")
        if spec.empty is c.Empty.NOT_FOUND:
            return Response(404, error_a(404, c.MSG_NO_INSTRUMENTS, spec.internal_path))
        return Response(204)

    def modalities(self) -> Response:
        return Response(200, (SAMPLES / MODALITIES_SAMPLE).read_bytes())

    # -- faults ------------------------------------------------------------------------------

    def fault_for(self, request_key: str) -> str | None:
        repeat = self._asked[request_key]
        self._asked[request_key] += 1
        return self.faults.pick(self.seed, request_key, repeat)

    def _another_page(self, spec: c.PathContract, params: dict[str, str], drift: int, asked: Response) -> Response:
        """A neighbouring page's answer (its own numeroPagina), as a confused server sends."""
        page = params.get("pagina", "1")
        for other in (int(page) + 1, int(page) - 1) if page.isdigit() else ():
            if other >= 1:
                response = self.list_endpoint(spec, params | {"pagina": str(other)}, drift)
                if response.status == 200 and response.body:
                    return response
        return asked

    def fault_response(self, kind: str, good: Response, request_key: str) -> Response:
        if kind == "fail_5xx":
            status = (500, 502, 503, 504)[int(unit(self.seed, "5xx-code", request_key) * 4)]
            if status == 500:
                return Response(500, "Erro ao processar a consulta.".encode(), "text/plain;charset=UTF-8")
            return Response(status, HTML_GATEWAY % status, "text/html")
        if kind in ("fail_429", "burst_429"):
            return Response(429, HTML_429, "text/html")
        if kind == "fail_html":
            return Response(200, HTML_MAINTENANCE, "text/html")
        if kind == "fail_truncate":
            body = good.body or b'{"data": ['
            return Response(200, body[: max(1, len(body) // 2)])
        return good

    # -- ASGI ----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        query_string = scope.get("query_string", b"").decode("latin-1")
        if path.startswith("/_replica/"):
            await self._control(scope, receive, send, path)
            return
        params = dict(parse_qsl(query_string, keep_blank_values=True))
        spec = c.PATHS.get(path.rstrip("/")) if path != "/" else None
        if spec is not None:
            window = _window_key(spec, params)
            drift = self.faults.drift(self._window_asks[window])
            self._window_asks[window] += 1
            response = self.list_endpoint(spec, params, drift)
        elif path.rstrip("/") == c.MODALITIES_PATH:
            response = self.modalities()
        else:
            response = Response(404, error_a(404, f"No static resource {path.lstrip('/')}.", path))
        request_key = path + "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        fault = self.fault_for(request_key) if spec is not None else None
        if spec is not None:
            self._list_requests += 1
            if self.faults.burst(self._list_requests - 1):
                fault = "burst_429"
            elif fault == "fail_wrong_page":
                response = self._another_page(spec, params, drift, response)
        self._count(path, request_key, fault, response)
        # counted while the answer is being prepared, not while it is sent: a client that waits for
        # its answers shows at most its concurrency (one that gives up on a stall frees its slot
        # while the stalled request still counts here)
        stats = self.stats
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            if fault == "fail_stall":
                await asyncio.sleep(self.faults.stall_s)
        finally:
            stats.in_flight -= 1
        if fault == "fail_reset":
            await self._reset(send, response)
            return
        if fault is not None:
            response = self.fault_response(fault, response, request_key)
        self.stats.by_status[response.status] += 1
        self.stats.by_path_status[path][response.status] += 1
        await _send(send, response)

    def _count(self, path: str, request_key: str, fault: str | None, response: Response) -> None:
        self.stats.total += 1
        self.stats.by_path[path] += 1
        self.stats.by_query[request_key] += 1
        if fault:
            self.stats.faults[fault] += 1

    async def _reset(self, send: Send, response: Response) -> None:
        body = response.body or b'{"data": []}'
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        self.stats.by_status["reset"] += 1
        raise DropConnection("replica fault: connection dropped mid-response")

    async def _control(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        method = scope["method"]
        if path == "/_replica/stats" and method == "GET":
            await _send(send, Response(200, orjson.dumps(self.stats.as_dict())))
        elif path == "/_replica/reset-stats" and method == "POST":
            self.stats = Stats()
            await _send(send, Response(200, b'{"reset": true}'))
        elif path == "/_replica/faults" and method == "GET":
            await _send(send, Response(200, orjson.dumps(self.faults.as_dict())))
        elif path == "/_replica/faults" and method == "POST":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            try:
                self.faults.update(orjson.loads(body or b"{}"))
            except (ValueError, TypeError) as e:
                await _send(send, Response(400, orjson.dumps({"error": str(e)})))
                return
            await _send(send, Response(200, orjson.dumps(self.faults.as_dict())))
        else:
            await _send(send, Response(404, orjson.dumps({"error": f"no control endpoint {method} {path}"})))


async def _send(send: Send, response: Response) -> None:
    headers = [(b"content-length", str(len(response.body)).encode())]
    if response.body or response.status != 204:
        headers.append((b"content-type", response.content_type.encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _window_key(spec: c.PathContract, params: dict[str, str]) -> str:
    """A window is a query without its paging: drift and ordering belong to it, not to a page."""
    rest = sorted((k, v) for k, v in params.items() if k not in ("pagina", "tamanhoPagina"))
    return spec.path + "?" + "&".join(f"{k}={v}" for k, v in rest)


def _cnpj_of(record: dict[str, Any]) -> str | None:
    if "orgaoEntidade" in record:
        return record["orgaoEntidade"].get("cnpj")
    return record.get("cnpjOrgao") or record.get("orgaoEntidadeCnpj") or record.get("cnpj")


def _count(spec: c.PathContract, records: list[dict[str, Any]]) -> int:
    if spec.family == "pca":
        return sum(len(p["itens"]) for p in records)
    return len(records)


def _paginate(spec: c.PathContract, records: list[dict[str, Any]], page: int, size: int) -> list[dict[str, Any]]:
    if spec.family != "pca":
        return records[(page - 1) * size: page * size]
    items = [(p, it) for p in records for it in p["itens"]]
    chosen = items[(page - 1) * size: page * size]
    plans: list[dict[str, Any]] = []
    for plan, item in chosen:
        if not plans or plans[-1]["idPcaPncp"] != plan["idPcaPncp"]:
            plans.append({**plan, "itens": []})
        plans[-1]["itens"].append(item)
    return plans
