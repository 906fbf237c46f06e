"""cninfo (巨潮资讯) over HTTP, politely: the stock list, the announcement query and the file host.

The request and response shapes are those of cninfo's public endpoints as open-source clients use them. Read
for this module: akfamily/akshare ``akshare/stock_feature/stock_disclosure_cninfo.py`` (the query's form
fields; ``tabName=relation`` is the investor-relations activity tab; ``szse_stock.json``'s ``stockList`` maps
codes to ``orgId`` for all A-shares), alwqx/sec ``provider/cninfo/cninfo.go`` (the announcement fields,
``hasMore``/``totalpages``, 30 a page whatever is asked, ``column`` and ``plate`` by code, files at the static
host plus ``adjunctUrl``) and Yanc3113/WebScraper-WordCount ``1.DataSource/1.2testConnection.py`` (headers,
``seDate=YYYY-MM-DD~YYYY-MM-DD``). Nothing here was tried against the live site (no internet where it was
written); the tests run it against a local stand-in that answers in these shapes.
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import httpx
import tenacity

from rag.errors import FetchError
from rag.settings import Settings

T = TypeVar("T")

PAGE_SIZE = 30
"""cninfo serves 30 announcements a page whatever ``pageSize`` asks (alwqx/sec), so that is what we ask."""
MAX_PAGES = 1000
"""A server that says ``hasMore`` for ever is stopped here with an error rather than followed."""
CHINA = timezone(timedelta(hours=8))
"""``announcementTime`` is epoch milliseconds; the publication date is Beijing's."""
USER_AGENT = "Mozilla/5.0 (compatible; irchat/0.1; investor-relations records for offline reading)"
_TAG = re.compile(r"<[^>]+>")
_PARTIAL = ".part"


@dataclass(frozen=True)
class Stock:
    """One entry of cninfo's stock list."""

    code: str
    org_id: str
    name: str
    """证券简称 (``zwjc``), e.g. 江丰电子."""

    @property
    def column(self) -> str:
        """The query's ``column``: which exchange's announcements (alwqx/sec's columnForCode)."""
        if self.code.startswith(("60", "68", "90")):
            return "sse"
        if self.code.startswith(("4", "8", "92")):
            return "bj"
        return "szse"

    @property
    def plate(self) -> str:
        """The query's ``plate``; Shanghai answers nothing without ``sh``."""
        return {"sse": "sh", "bj": "bj"}.get(self.column, "sz")


@dataclass(frozen=True)
class Announcement:
    """One item of the announcement query's ``announcements`` list."""

    id: str
    title: str
    """``announcementTitle`` without the ``<em>`` highlights cninfo adds."""
    time_ms: int
    adjunct_url: str
    """The file's path on the static host, e.g. ``finalpage/2021-11-05/1211458262.PDF``."""
    sec_code: str
    sec_name: str
    adjunct_type: str = ""

    @property
    def date(self) -> date:
        """Publication date (Beijing time)."""
        return datetime.fromtimestamp(self.time_ms / 1000, CHINA).date()

    @property
    def suffix(self) -> str:
        """The attached file's type, lower case with its dot (``.pdf``); from the URL, else ``adjunctType``."""
        suffix = Path(self.adjunct_url).suffix.lower()
        return suffix or (f".{self.adjunct_type.lower()}" if self.adjunct_type else "")

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Announcement | None:
        """Read one list item; None when it lacks an id (nothing to remember it by)."""
        if not isinstance(item, dict) or item.get("announcementId") in (None, ""):
            return None
        title = html.unescape(_TAG.sub("", str(item.get("announcementTitle") or "")))
        try:
            time_ms = int(item.get("announcementTime") or 0)
        except (TypeError, ValueError):
            time_ms = 0
        return cls(
            id=str(item["announcementId"]),
            title=" ".join(title.split()),
            time_ms=time_ms,
            adjunct_url=str(item.get("adjunctUrl") or ""),
            sec_code=str(item.get("secCode") or ""),
            sec_name=" ".join(str(item.get("secName") or "").split()),
            adjunct_type=str(item.get("adjunctType") or ""),
        )


class _Transient(Exception):
    """A failure worth another try after a pause: a timeout, a dropped connection, 429 or 5xx."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None  # an HTTP date, or nothing: our own backoff applies


def _check_status(response: httpx.Response, what: str) -> None:
    code = response.status_code
    if code == 429 or code >= 500:
        raise _Transient(f"HTTP {code} {response.reason_phrase}".strip(), _retry_after(response))
    if code >= 400:
        raise FetchError(
            f"{what}: cninfo answered HTTP {code} {response.reason_phrase} for {response.request.url}; not retried "
            "(the file is gone, or the address is wrong: see IRCHAT_CNINFO_BASE_URL and IRCHAT_CNINFO_STATIC_URL)"
        )


def looks_like_pdf(path: Path) -> bool:
    """True when ``path`` starts with ``%PDF`` and has ``%%EOF`` in its last kilobyte (a complete PDF's end)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(5)
        f.seek(max(0, size - 1024))
        tail = f.read()
    return head.startswith(b"%PDF") and b"%%EOF" in tail


def partial_path(dest: Path) -> Path:
    """Where ``dest`` is downloaded to until it is complete: hidden, so ``irchat ingest`` never reads it."""
    return dest.with_name(f".{dest.name}{_PARTIAL}")


class CninfoClient:
    """One request at a time with ``IRCHAT_CNINFO_DELAY`` between requests; timeouts, 429 and 5xx are retried
    with exponential backoff (``IRCHAT_CNINFO_RETRIES``, ``IRCHAT_CNINFO_BACKOFF``), other 4xx are errors."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self.base_url = settings.cninfo_base_url.rstrip("/")
        self.static_url = settings.cninfo_static_url.rstrip("/")
        self._sleep = sleep
        self._last: float | None = None
        self._stocks: dict[str, Stock] | None = None
        self.http = httpx.Client(
            timeout=httpx.Timeout(settings.cninfo_timeout),
            headers={"User-Agent": USER_AGENT, "Referer": f"{self.base_url}/"},
            transport=transport,
            follow_redirects=True,
        )

    def __enter__(self) -> CninfoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    # -- politeness ----------------------------------------------------------------------------------

    def _polite(self, attempt: Callable[[], T]) -> T:
        # The pause runs from the end of the previous request, so a slow answer is not followed at once.
        if self._last is not None:
            wait = self.settings.cninfo_delay - (time.monotonic() - self._last)
            if wait > 0:
                self._sleep(wait)
        try:
            return attempt()
        except httpx.TimeoutException as e:
            raise _Transient(f"timed out after {self.settings.cninfo_timeout:g} s ({type(e).__name__})") from e
        except httpx.TransportError as e:
            raise _Transient(f"connection failed ({type(e).__name__}: {e})") from e
        finally:
            self._last = time.monotonic()

    def _wait(self, state: tenacity.RetryCallState) -> float:
        backoff = self.settings.cninfo_backoff * 2 ** (state.attempt_number - 1)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return max(backoff, min(error.retry_after, 300.0))  # honour the server, within reason
        return backoff

    def _retrying(self, what: str, attempt: Callable[[], T]) -> T:
        tries = max(0, self.settings.cninfo_retries) + 1
        retryer = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(tries),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Transient),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retryer(self._polite, attempt)
        except _Transient as e:
            raise FetchError(
                f"{what}: {e.reason}, {tries} {'try' if tries == 1 else 'tries'} "
                "(IRCHAT_CNINFO_RETRIES); cninfo may be busy, run the command again later"
            ) from e

    def _json(self, response: httpx.Response, what: str) -> Any:
        _check_status(response, what)
        try:
            return response.json()
        except ValueError as e:
            start = response.text[:80].replace("\n", " ")
            raise FetchError(
                f"{what}: expected JSON from {response.request.url}, got "
                f"{response.headers.get('content-type', 'no content type')} starting {start!r} "
                "(an error page: cninfo may be busy or have changed; try again later)"
            ) from e

    # -- the stock list ------------------------------------------------------------------------------

    def stocks(self) -> dict[str, Stock]:
        """Every A-share cninfo lists, by code (read once per client)."""
        if self._stocks is None:
            url = f"{self.base_url}/new/data/szse_stock.json"
            data = self._retrying("cninfo's stock list", lambda: self._json(self.http.get(url), "cninfo's stock list"))
            rows = data.get("stockList") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                raise FetchError(f"cninfo's stock list: {url} has no 'stockList'; cninfo may have changed")
            self._stocks = {
                str(r["code"]): Stock(str(r["code"]), str(r["orgId"]), " ".join(str(r.get("zwjc") or "").split()))
                for r in rows
                if isinstance(r, dict) and r.get("code") and r.get("orgId")
            }
        return self._stocks

    def stock(self, code: str) -> Stock:
        """The stock list's entry for ``code``."""
        found = self.stocks().get(code)
        if found is None:
            raise FetchError(
                f"{code} is not in cninfo's stock list ({self.base_url}/new/data/szse_stock.json): "
                "check the code (six digits of an A-share, e.g. 002415)"
            )
        return found

    # -- the announcement query ----------------------------------------------------------------------

    def announcements(
        self,
        stock: Stock,
        *,
        tab: str = "relation",
        searchkey: str = "",
        since: date | None = None,
        until: date | None = None,
    ) -> Iterator[Announcement]:
        """Every announcement of ``stock`` on one tab of the query, page after page, as cninfo lists them."""
        url = f"{self.base_url}/new/hisAnnouncement/query"
        se_date = ""
        if since or until:
            se_date = f"{since or date(2000, 1, 1)}~{until or datetime.now(CHINA).date()}"
        form = {
            "pageNum": "1",
            "pageSize": str(PAGE_SIZE),
            "column": stock.column,
            "tabName": tab,
            "plate": stock.plate,
            "stock": f"{stock.code},{stock.org_id}",
            "searchkey": searchkey,
            "secid": "",
            "category": "",
            "trade": "",
            "seDate": se_date,
            "sortName": "",
            "sortType": "",
            "isHLtitle": "true",
        }
        headers = {
            "Accept": "application/json, text/javascript, */*; q=0.01",
            "X-Requested-With": "XMLHttpRequest",
            "Origin": self.base_url,
        }
        for page in range(1, MAX_PAGES + 1):
            form["pageNum"] = str(page)
            what = f"cninfo's announcement list for {stock.code} ({tab}, page {page})"

            def post(what: str = what) -> Any:
                return self._json(self.http.post(url, data=form, headers=headers), what)

            data = self._retrying(what, post)
            if not isinstance(data, dict):
                raise FetchError(f"{what}: expected a JSON object, got {type(data).__name__}")
            items = data.get("announcements") or []  # an empty page says null, not []
            for item in items:
                found = Announcement.from_json(item)
                if found is not None:
                    yield found
            if not items or not self._has_more(data, page):
                return
        raise FetchError(f"cninfo's announcement list for {stock.code}: still more after {MAX_PAGES} pages; stopped")

    @staticmethod
    def _has_more(data: dict[str, Any], page: int) -> bool:
        if isinstance(data.get("hasMore"), bool):
            return data["hasMore"]
        try:
            return page < int(data.get("totalpages") or 0)
        except (TypeError, ValueError):
            return False

    # -- the file host -------------------------------------------------------------------------------

    def file_url(self, adjunct_url: str) -> str:
        """The full address of an announcement's file."""
        return f"{self.static_url}/{adjunct_url.lstrip('/')}"

    def download(self, adjunct_url: str, dest: Path) -> int:
        """Download a PDF to ``dest`` through a hidden partial file, renamed only once the whole file is there
        and looks like a PDF; a partial file left by an interruption is continued (HTTP Range). Returns bytes."""
        url = self.file_url(adjunct_url)
        part = partial_path(dest)
        limit = int(self.settings.max_file_mb * 1024 * 1024)
        what = f"downloading {url}"

        def attempt() -> None:
            have = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            with self.http.stream("GET", url, headers=headers) as r:
                if r.status_code == 416:  # the partial file is no longer a prefix of the file: start over
                    part.unlink(missing_ok=True)
                    raise _Transient("the partial download did not match the file (HTTP 416)")
                _check_status(r, what)
                range_ = r.headers.get("content-range", "")
                resumed = bool(have) and r.status_code == 206 and range_.startswith(f"bytes {have}-")
                written = have if resumed else 0
                with part.open("ab" if resumed else "wb") as f:
                    for chunk in r.iter_bytes():
                        written += len(chunk)
                        if written > limit:
                            f.close()
                            part.unlink(missing_ok=True)
                            raise FetchError(
                                f"{what}: larger than IRCHAT_MAX_FILE_MB ({self.settings.max_file_mb:g} MB); not kept"
                            )
                        f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())  # on disk before the rename makes it a record

        dest.parent.mkdir(parents=True, exist_ok=True)
        self._retrying(what, attempt)
        if not looks_like_pdf(part):
            size = part.stat().st_size
            part.unlink()
            raise FetchError(
                f"{what}: the {size}-byte answer is not a complete PDF (it must start with %PDF and end with "
                "%%EOF: truncated, or an error page); nothing was kept, run the command again to retry"
            )
        os.replace(part, dest)
        return dest.stat().st_size
