"""The only module that talks HTTP: one shared httpx.AsyncClient, retries, and response classes.

Every answer is classified once, here, into the class stored on its raw row:
  data       200 with a valid envelope for the page asked
  empty      the endpoint's own "nothing here" on page 1 (204, PCA's empty 200, instruments' 404)
  fatal      400/422 on page 1: the request itself is wrong, retrying cannot help
  retryable  everything else (429, 5xx, timeouts, dropped connections, HTML or cut JSON with 200,
             an empty page 2+, a page whose numeroPagina is not the one asked for)
Only data and empty count as landed.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter
from tenacity.wait import wait_base

from pncp_pipeline.limiter import AdaptiveRateLimiter
from pncp_pipeline.endpoints import DEFAULT_MODALITIES, MODALITIES_PATH, EmptySignal, Endpoint
from pncp_pipeline.settings import CONSULTA_PREFIX, ClientSettings

USER_AGENT = "pncp-pipeline/0.1 (resumable local mirror; https://pncp.gov.br/api/consulta)"
#: Bodies of answers that did not land are kept for diagnosis, but not without bound.
MAX_FAILED_BODY_BYTES = 65536


class ResponseClass(str, enum.Enum):
    DATA = "data"
    EMPTY = "empty"
    FATAL = "fatal"
    RETRYABLE = "retryable"


@dataclass
class Outcome:
    """One attempt at one page, ready to become a raw row."""

    response_class: ResponseClass
    url: str
    params: dict[str, Any]
    status_code: int | None = None
    #: The body as received (a failed answer's: its first MAX_FAILED_BODY_BYTES), always valid UTF-8.
    #: Bytes, not str: the writer's thread holds the GIL while DuckDB converts a batch's bodies, and
    #: for non-ASCII text a list of bytes is held a fifth as long as a list of str (measured: 29 vs
    #: 130 ms over 40 MB), so the event loop stalls less; DuckDB decodes them into text itself.
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    total_records: int | None = None
    total_pages: int | None = None
    page_records: int | None = None
    record_keys: list[str | None] | None = None
    error: str | None = None
    retry_after_s: float | None = None
    elapsed_ms: float = 0.0
    attempt: int = 1
    fetched_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def landed(self) -> bool:
        return self.response_class in (ResponseClass.DATA, ResponseClass.EMPTY)

    @property
    def throttled(self) -> bool:
        return self.status_code == 429 or (self.status_code or 0) >= 500


def classify(endpoint: Endpoint, page: int, status: int, content: bytes) -> tuple[ResponseClass, dict[str, Any]]:
    """Decide the class of one answer; returns the class and what was learned (totals, error)."""
    if status == 204:
        return _empty_or_retry(page, "204 No Content")
    if status == 200 and not content.strip() and endpoint.empty_signal is EmptySignal.EMPTY_BODY_200:
        return _empty_or_retry(page, "200 with an empty body")
    if status == 404 and endpoint.empty_signal is EmptySignal.NOT_FOUND_404 and _json_message(content):
        return _empty_or_retry(page, "404: " + _json_message(content))
    if status in (400, 422):
        message = f"HTTP {status}: {_json_message(content) or content[:200].decode('utf-8', 'replace')}"
        return (ResponseClass.FATAL if page == 1 else ResponseClass.RETRYABLE), {"error": message}
    if status != 200:
        return ResponseClass.RETRYABLE, {"error": f"HTTP {status}"}
    try:
        envelope = orjson.loads(content)
    except orjson.JSONDecodeError:
        kind = "an HTML page" if content.lstrip()[:1] == b"<" else "invalid JSON"
        return ResponseClass.RETRYABLE, {"error": f"HTTP 200 with {kind} ({len(content)} bytes)"}
    problem = _envelope_problem(envelope, page)
    if problem:
        return ResponseClass.RETRYABLE, {"error": problem}
    keys = endpoint.record_keys(envelope["data"])
    return ResponseClass.DATA, {
        "total_records": envelope["totalRegistros"],
        "total_pages": envelope["totalPaginas"],
        "page_records": len(keys),
        "record_keys": keys,
    }


def storable_body(response_class: ResponseClass, content: bytes) -> bytes:
    """What a raw row keeps of an answer's body: always valid UTF-8, because one undecodable body
    would fail its whole batch in the writer's decode(). A data page's UTF-8 was validated by its
    JSON parse and is kept as it came; any other body may be cut or garbled, and is repaired."""
    if response_class is ResponseClass.DATA:
        return content
    if response_class is not ResponseClass.EMPTY:
        content = content[:MAX_FAILED_BODY_BYTES]
    return content.decode("utf-8", "replace").encode()


def _empty_or_retry(page: int, what: str) -> tuple[ResponseClass, dict[str, Any]]:
    """'Nothing here' ends a task only on page 1; on a later page it contradicts page 1's totals."""
    if page == 1:
        return ResponseClass.EMPTY, {"total_records": 0, "total_pages": 0, "page_records": 0, "record_keys": []}
    return ResponseClass.RETRYABLE, {"error": f"{what} on page {page} after page 1 announced more"}


def _envelope_problem(envelope: Any, page: int) -> str | None:
    if not isinstance(envelope, dict):
        return "HTTP 200 whose body is not a page envelope"
    data, total, pages = envelope.get("data"), envelope.get("totalRegistros"), envelope.get("totalPaginas")
    if not isinstance(data, list) or not isinstance(total, int) or not isinstance(pages, int):
        return "HTTP 200 whose envelope lacks data/totalRegistros/totalPaginas"
    number = envelope.get("numeroPagina")
    if number is not None and number != page:
        return f"asked for page {page}, the server answered page {number}"
    if not data and page > 1:
        return f"empty page {page} although page 1 announced {pages} pages"
    return None


def _json_message(content: bytes) -> str:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _retry_after(headers: httpx.Headers) -> float | None:
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(raw) - datetime.now(timezone.utc)).total_seconds())
        except (TypeError, ValueError):
            return None


class _Retry(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


class _wait_retry_after(wait_base):
    """Exponential backoff with jitter, unless the server said how long to wait (Retry-After)."""

    def __init__(self, fallback: wait_base, cap_s: float) -> None:
        self.fallback = fallback
        self.cap_s = cap_s

    def __call__(self, retry_state: Any) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, _Retry) and error.outcome.retry_after_s is not None:
            return min(error.outcome.retry_after_s, self.cap_s)
        return self.fallback(retry_state)


Sink = Callable[[Outcome], Awaitable[None]]


class PncpClient:
    """Shared by all concurrent requests of a run: one connection pool, one rate limit.

    `concurrency` bounds requests on the wire, not callers: a slot is held from the request until
    its body has arrived and no longer, so a caller's parsing and writing overlap the next
    request's wait for the server instead of adding to it.
    """

    def __init__(self, settings: ClientSettings, limiter: AdaptiveRateLimiter | None = None) -> None:
        self.settings = settings
        self.limiter = limiter or AdaptiveRateLimiter(settings.rate_per_s)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._http = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/"),
            timeout=httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            limits=httpx.Limits(max_connections=settings.concurrency,
                                max_keepalive_connections=settings.concurrency),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    async def __aenter__(self) -> "PncpClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._http.aclose()

    async def fetch_page(self, endpoint: Endpoint, month: Any, modalidade: int | None, page: int,
                         sink: Sink, page_size: int | None = None) -> Outcome:
        """Fetch one page with retries; every attempt's outcome goes to `sink` (the writer).

        `page_size` is the size the task was discovered with: page numbers only mean something at it.
        """
        params = endpoint.params(month, modalidade, page, page_size)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=_wait_retry_after(
                wait_exponential_jitter(multiplier=self.settings.backoff_initial_s, max=self.settings.backoff_max_s,
                                        jitter=self.settings.backoff_initial_s),
                self.settings.backoff_max_s),
            retry=retry_if_exception_type(_Retry),
            reraise=False,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    outcome = await self._attempt(endpoint, page, params, attempt.retry_state.attempt_number)
                    await sink(outcome)
                    if outcome.response_class is ResponseClass.RETRYABLE and _worth_retrying(outcome, page):
                        raise _Retry(outcome)
                    return outcome
        except RetryError as e:
            return e.last_attempt.exception().outcome  # type: ignore[union-attr]
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _attempt(self, endpoint: Endpoint, page: int, params: dict[str, Any], attempt: int) -> Outcome:
        request = self._http.build_request("GET", CONSULTA_PREFIX + endpoint.path, params=params)
        url = str(request.url)
        async with self._slots:  # a free slot first: a rate slot booked while waiting would be wasted
            await self.limiter.acquire()
            started = time.perf_counter()
            try:
                response = await self._http.send(request)
            except httpx.TransportError as e:
                self.limiter.throttled()
                return Outcome(ResponseClass.RETRYABLE, url, params, error=f"{type(e).__name__}: {e or 'no detail'}",
                               elapsed_ms=(time.perf_counter() - started) * 1000, attempt=attempt)
            elapsed_ms = (time.perf_counter() - started) * 1000
        response_class, learned = classify(endpoint, page, response.status_code, response.content)
        outcome = Outcome(response_class, url, params, status_code=response.status_code,
                          body=storable_body(response_class, response.content),
                          headers=dict(response.headers), retry_after_s=_retry_after(response.headers),
                          elapsed_ms=elapsed_ms, attempt=attempt, **learned)
        if outcome.throttled:
            self.limiter.throttled()
        elif outcome.landed:
            self.limiter.succeeded()
        return outcome

    async def modalities(self) -> tuple[int, ...]:
        """The modality codes of the domain table; the shipped list when the API does not answer."""
        try:
            await self.limiter.acquire()
            response = await self._http.get(MODALITIES_PATH, timeout=min(self.settings.timeout_s, 20.0))
            rows = response.json() if response.status_code == 200 else None
            codes = tuple(sorted(int(r["id"]) for r in rows if r.get("statusAtivo", True))) if isinstance(rows, list) else ()
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            codes = ()
        return codes or DEFAULT_MODALITIES


def _worth_retrying(outcome: Outcome, page: int) -> bool:
    """A 400/422 on page > 1 contradicts the plan (page past the end): retrying the same request
    now cannot change the answer, so the page is left missing for the task to be re-planned."""
    return not (page > 1 and outcome.status_code in (400, 422))
