"""HTTP to the TTP: JSON bodies, retries with backoff, refusals, batches in flight.

Why apart from the use cases: what is retried and how (timeouts, connection
errors and 5xx, exponential backoff; a 4xx raised at once as
:class:`TTPRefused`, never retried; a 3xx likewise, redirects are never
followed) is the same for every endpoint, and so is
keeping a few batches on the wire while earlier answers are checked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from aanlevering import json_input
from aanlevering.bounded_answers import AnswerTooSlow, read_capped
from aanlevering.demo_mode import REFERENCE_HEADER, demo_mode, refuse_reference
from aanlevering.errors import TTPError
from aanlevering.pseudonym.ttp.errors import TTPRefused, TTPUnavailable
from aanlevering.tls import ClientTLS, redirect_refusal

if TYPE_CHECKING:  # imported at first use: a task that never calls the TTP does not pay (0741)
    import requests

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Batches in flight at once: the TTP works on one while the client checks the last.
DEFAULT_CONCURRENCY = 2

#: One multipart file part: (field name, (file name, content, media type)).
FilePart = tuple[str, tuple[str, bytes, str]]

#: The most one TTP answer may be (decision 0441): a batch of the TTP's largest
#: size (20,000 records) answers well under 32 MiB in either form.
ANSWER_LIMIT = 64 * 1024 * 1024
ANSWER_LIMIT_TEXT = "64 MiB"
#: Seconds one attempt may take from sending to the answer's last byte (decision 0441).
DEFAULT_ANSWER_TIMEOUT = 120.0


class _TooSlow(Exception):
    """The answer did not arrive whole within the answer timeout (retried like a timeout)."""


class Transport:
    """One TTP base URL and API key, with the retry policy and the batch pool size."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        concurrency: int = DEFAULT_CONCURRENCY,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        tls: ClientTLS | None = None,
        answer_timeout: float = DEFAULT_ANSWER_TIMEOUT,
    ) -> None:
        """``timeout``: seconds to connect and between two reads; ``answer_timeout``:
        seconds for a whole attempt, so an answer trickling in cannot hold a run."""
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._tls = tls or ClientTLS()
        self._tls.check_url(base_url, "TTP")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.answer_timeout = answer_timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.concurrency = max(1, concurrency)
        self._session = session  # made at the first request when not given (0741)
        self._session_lock = threading.Lock()
        # Without an API key the client certificate (mTLS) identifies the organisation.
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._json_headers = {**self._headers, "Content-Type": "application/json"}
        self._sleep = sleep
        self._known_real = False
        self._handshake_lock = threading.Lock()

    def _check_not_reference(self) -> None:
        """Before the first request with data: ask ``/health`` whether this is a reference TTP.

        Why a handshake: the header on every answer (decision 0710) is only seen
        after a request's digests were sent; asked first, the reference TTP is
        refused before it is offered any patient. In demo mode nothing is asked.
        A TTP that cannot be asked (down, no ``/health``) is not taken for a
        reference one: the header on its later answers still stops the run.
        """
        if self._known_real or demo_mode():
            return
        import requests  # at the first call out (0741)

        with self._handshake_lock:
            if self._known_real:
                return
            try:
                with self._http_session().request(
                    "GET",
                    self.base_url + "/health",  # public: no API key sent
                    timeout=self.timeout,
                    verify=self._tls.verify,
                    cert=self._tls.cert,
                    allow_redirects=False,
                    stream=True,
                ) as response:
                    marked = bool(response.headers.get(REFERENCE_HEADER))
            except requests.RequestException:
                return
            if marked:
                refuse_reference("TTP", self.base_url)
            self._known_real = True

    def _refuse_if_reference(self, response: requests.Response) -> None:
        """Every answer: a reference TTP's is never used outside demo mode (decision 0710)."""
        if response.headers.get(REFERENCE_HEADER):
            refuse_reference("TTP", self.base_url)

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r})"

    def _http_session(self) -> requests.Session:
        """The session given, or one made at the first request (batches may ask at once)."""
        with self._session_lock:
            if self._session is None:
                import requests

                self._session = requests.Session()
            return self._session

    def request(
        self,
        method: str,
        path: str,
        *,
        registration: str | None,
        what: str,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        files: Sequence[FilePart] | None = None,
    ) -> Any:
        """The decoded JSON answer, after retries; TTPRefused on 4xx, TTPUnavailable at the end.

        ``what`` and ``registration`` name the call in errors and logs (never
        anything from the body).
        """
        if path != "/health":
            self._check_not_reference()
        import requests

        session = self._http_session()
        url = self.base_url + path
        problem = ""
        attempts = self.max_retries + 1
        data: Mapping[str, str] | bytes | None = form
        headers = self._headers
        if json_body is not None:
            # Encoded once for every attempt, with msgspec: a batch of thousands of
            # records costs several times less than with the json module (0122).
            data = msgspec.json.encode(json_body)
            headers = self._json_headers
        for attempt in range(attempts):
            wait = 0.0
            deadline = time.monotonic() + self.answer_timeout
            try:
                response = session.request(
                    method,
                    url,
                    data=data,
                    files=files,
                    headers=headers,
                    timeout=self.timeout,
                    # Per request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
                    verify=self._tls.verify,
                    cert=self._tls.cert,
                    # Data goes only where check_url allowed it to (decision 0360).
                    allow_redirects=False,
                    stream=True,  # read by _body: capped and against the deadline (0441)
                )
                with response:
                    content = _body(response, deadline, what)
            except requests.exceptions.SSLError as error:
                # A certificate problem is configuration, not an outage: never retried.
                raise TTPRefused(
                    f"TTP {what}: TLS verification failed at {self.base_url}: {error}",
                    status=0,
                    code="tls_verification_failed",
                    registration=registration,
                    pseudonym_type=None,
                    server_message="",
                ) from None
            except (requests.Timeout, requests.ConnectionError) as error:
                problem = type(error).__name__
            except _TooSlow:
                problem = f"answer not complete within {self.answer_timeout} s"
            else:
                self._refuse_if_reference(response)
                if 300 <= response.status_code < 400:
                    raise TTPRefused(
                        redirect_refusal("TTP", what, response),
                        status=response.status_code,
                        code="redirect_refused",
                        registration=registration,
                        pseudonym_type=None,
                        server_message="",
                    )
                if response.status_code < 400:
                    return _json(content, what)
                if response.status_code == 429:
                    # Rate limited: wait as the TTP asks (bounded), then retry.
                    retry_after = response.headers.get("Retry-After", "")
                    wait = float(retry_after) if retry_after.isdigit() else 0.0
                elif response.status_code < 500:
                    raise _refused(response, content, registration, what)
                problem = f"HTTP {response.status_code}"
            if attempt + 1 < attempts:
                delay = min(max(wait, self.backoff * 2**attempt), self.max_backoff)
                log.warning(
                    "TTP %s failed (%s), attempt %d/%d; retrying in %.2fs",
                    what,
                    problem,
                    attempt + 1,
                    attempts,
                    delay,
                )
                self._sleep(delay)
        raise TTPUnavailable(
            f"TTP {what} for registration {registration!r} failed after {attempts} attempts "
            f"({problem}) at {self.base_url}",
            attempts=attempts,
        )

    def in_flight(
        self,
        batches: Iterable[tuple[int, Sequence[T]]],
        call: Callable[[int, Sequence[T]], Any],
    ) -> Iterator[tuple[int, Sequence[T], Any]]:
        """Answers in batch order, with up to ``concurrency`` requests on the wire at once.

        The first failure (after its own retries) is raised in batch order;
        batches already sent finish first, and no further batch is sent.
        """
        if self.concurrency == 1:
            for index, batch in batches:
                yield index, batch, call(index, batch)
            return
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="ttp-batch") as pool:
            pending: deque[tuple[int, Sequence[T], Future[Any]]] = deque()
            source = iter(batches)
            try:
                for index, batch in source:
                    pending.append((index, batch, pool.submit(call, index, batch)))
                    if len(pending) >= self.concurrency:
                        done_index, done_batch, future = pending.popleft()
                        yield done_index, done_batch, future.result()
                while pending:
                    done_index, done_batch, future = pending.popleft()
                    yield done_index, done_batch, future.result()
            finally:
                for _, _, future in pending:
                    future.cancel()


def _body(response: requests.Response, deadline: float, what: str) -> bytes:
    """The whole answer body: TTPError past :data:`ANSWER_LIMIT`, _TooSlow past ``deadline``."""
    try:
        body, whole = read_capped(response, ANSWER_LIMIT, deadline)
    except AnswerTooSlow:
        raise _TooSlow from None
    if not whole:
        raise _too_long(what)
    return body


def _too_long(what: str) -> TTPError:
    return TTPError(
        f"TTP {what}: the answer is longer than {ANSWER_LIMIT_TEXT}; "
        "nothing from this run may be delivered"
    )


def _json(content: bytes, what: str) -> Any:
    try:
        return json_input.parse(content)  # a key twice is refused too (decision 0801)
    except json_input.JsonInputError:
        raise TTPError(f"TTP {what}: the answer is not JSON or repeats a key") from None


def _refused(
    response: requests.Response, content: bytes, registration: str | None, what: str
) -> TTPRefused:
    detail: Mapping[str, Any] = {}
    try:
        body = msgspec.json.decode(content)
        if isinstance(body, dict) and isinstance(body.get("detail"), dict):
            detail = body["detail"]
    except (msgspec.DecodeError, ValueError):
        pass
    server_message = str(detail.get("message", response.reason or ""))
    pseudonym_type = detail.get("pseudonym_type")
    refused_type = f", type {pseudonym_type}" if pseudonym_type else ""
    return TTPRefused(
        f"TTP refused {what} for registration {registration!r}{refused_type} "
        f"(HTTP {response.status_code}): {server_message}",
        status=response.status_code,
        code=str(detail.get("code", "")),
        registration=detail.get("registration", registration),
        pseudonym_type=pseudonym_type,
        server_message=server_message,
    )
