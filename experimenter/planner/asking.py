"""How the planner asks a question: ``Planner``, the only way the graph asks one, and
what guards every call.

For each question (``Planner.analyze`` / ``propose`` / ``decompose``):

1. **cache**: a remote backend is not asked again for the same prompt, images, schema and
   model; the hit is still a decisions row (``cache_hit``, no tokens, no dollars);
2. **budgets**: before every remote call, against its worst case (estimated prompt tokens,
   the most output tokens the backend may bill); a call that could overshoot a limit is not
   sent (a decisions row says so) and ``BudgetExhausted`` is raised (``on_budget="stop"``)
   or the offline backend answers. What was used is counted from the decisions rows, so
   budgets survive restarts;
3. **retries**: 429, 5xx, timeouts and dropped connections are retried up to ``retries``
   times, with exponential backoff and jitter, each attempt logged and recorded;
4. **repair**: an answer that is not valid JSON, not of the schema, or fails the question's
   checks, or an HTTP success whose body is not the API's answer at all (truncated, an HTML
   page), is asked again once, quoting the problems;
5. **time**: one question (attempts, backoffs, repair) takes at most
   ``question_timeout_s``; each attempt's HTTP timeout is cut to what is left;
6. **fallback**: when retries or the question's time run out, or the backend refuses (bad
   key, unknown model), it is marked down and the offline backend answers for the rest of
   the iteration (``new_iteration`` tries it again); an answer still invalid after the
   repair is answered offline too, for that question only;
7. **stop**: a remote call runs in a worker thread that the planner waits on in short
   slices; when ``should_stop`` says so (a signal, a stop command) the call is abandoned and
   ``PlannerStopped`` raised within a fraction of a second, backoffs included.

Every call, including failures, cache hits and budget refusals, is handed to the recorder.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar, cast

from pydantic import BaseModel

from experimenter.planner.answers import Decomposition, Progress, Proposals
from experimenter.planner.backends import Backend, make_backend
from experimenter.planner.backends.base import (
    BackendError,
    MalformedReply,
    PermanentError,
    Reply,
    Request,
    TransientError,
    Usage,
)
from experimenter.planner.backends.offline import OfflineBackend
from experimenter.planner.budget import Budget, BudgetExhausted, dollars, estimate_prompt_tokens
from experimenter.planner.cache import ResponseCache, cache_key
from experimenter.planner.config import DEFAULT_PRICES, ModelPrice, PlannerSettings
from experimenter.planner.inputs import AnalyzeInput, DecomposeInput, Image, ProposeInput
from experimenter.planner.prompts import render_repair
from experimenter.planner.questions import Inputs, Question, parse_answer, question
from experimenter.planner.record import NOT_SENT, DecisionRecord, MemoryRecorder, Recorder

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

STOP_POLL_S = 0.25
"""How often a remote call in flight, or a backoff, looks at ``should_stop``."""


class PlannerStopped(Exception):
    """A stop (signal, stop command) was requested while a question was being asked: the
    call in flight was abandoned and nothing answered. The daemon stops as at any safe
    point."""


class _OutOfTime(Exception):
    """The question's time ran out while waiting for an attempt."""


@dataclass(frozen=True)
class Answer(Generic[T]):
    """A validated answer and where it came from."""

    value: T
    backend: str
    """Who answered: the configured backend, or ``offline`` after a fallback."""
    model: str
    decision_id: int | None
    """The decisions row holding this answer."""
    cache_hit: bool = False
    fallback: str | None = None
    """Why the offline backend answered instead of the configured one (None if it did not)."""
    usage: Usage = field(default_factory=Usage)
    """Tokens of every attempt of this question, failures and the repair included."""
    dollars: float = 0.0


@dataclass
class RetryPolicy:
    retries: int = 3
    backoff_s: float = 2.0
    backoff_max_s: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Backoff before retry ``attempt`` (1, 2, ...): doubling, capped, "equal jitter"
        (half fixed, half random), so that clients stopped together do not return together."""
        cap = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
        return cap / 2 + rng.random() * cap / 2


class Planner:
    """Asks the three questions through ``backend``; the graph's only door to a model."""

    def __init__(
        self,
        backend: Backend,
        *,
        recorder: Recorder | None = None,
        budget: Budget | None = None,
        prices: Mapping[str, ModelPrice] | None = None,
        retry: RetryPolicy | None = None,
        cache: ResponseCache | None = None,
        on_budget: Literal["stop", "offline"] = "stop",
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        question_timeout_s: float | None = None,
        attempt_timeout_s: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ):
        """``sleep``: waits out a backoff (tests pass a fake; by default the wait wakes on a
        stop). ``question_timeout_s``: the most one question may take, all attempts
        included (None: no bound). ``attempt_timeout_s``: the backend's HTTP timeout, cut to
        what is left of the question. ``should_stop``: polled while a remote call is in
        flight and during backoffs; when true, ``PlannerStopped`` is raised."""
        self.backend = backend
        # The configured backend itself when it is the offline one (its rows then read as
        # first answers, not fallbacks).
        self.offline = backend if isinstance(backend, OfflineBackend) else OfflineBackend()
        self.recorder: Recorder = recorder if recorder is not None else MemoryRecorder()
        self.budget = budget if budget is not None else Budget()
        self.prices = dict(prices) if prices is not None else dict(DEFAULT_PRICES)
        self.retry = retry if retry is not None else RetryPolicy()
        self.cache = cache if cache is not None else ResponseCache()
        self.on_budget = on_budget
        self.sleep = sleep
        self.rng = rng if rng is not None else random.Random(0)
        self.question_timeout_s = question_timeout_s
        self.attempt_timeout_s = attempt_timeout_s
        self.should_stop = should_stop
        self.down: str | None = None
        """Why the backend is not asked for the rest of this iteration (None: it is)."""
        usage = getattr(self.recorder, "usage", None)
        if callable(usage):  # what earlier runs spent, from the decisions they recorded
            self.budget.restore(usage())

    @classmethod
    def from_settings(
        cls, settings: PlannerSettings, *, recorder: Recorder | None = None, **kwargs: Any
    ) -> Planner:
        """A planner with the backend, prices, budgets, retries and cache of ``settings``."""
        backend = make_backend(settings.backend, settings)
        priced = backend.model in settings.prices
        if backend.name == "gemini" and settings.max_dollars is not None and not priced:
            raise ValueError(
                f"no price for Gemini model {backend.model!r} (known: "
                f"{', '.join(sorted(settings.prices))}); add it to EXPERIMENTER_PLANNER_PRICES "
                "or set EXPERIMENTER_PLANNER_MAX_DOLLARS to null"
            )
        return cls(
            backend,
            recorder=recorder,
            budget=Budget(settings.max_calls, settings.max_tokens, settings.max_dollars),
            prices=settings.prices,
            retry=RetryPolicy(settings.retries, settings.backoff_s, settings.backoff_max_s),
            cache=ResponseCache(settings.cache_dir),
            on_budget=settings.on_budget,
            question_timeout_s=settings.question_timeout_s,
            attempt_timeout_s=settings.timeout_s,
            **kwargs,
        )

    def new_iteration(self) -> None:
        """A new iteration: a backend that was down is tried again."""
        self.down = None

    def ask_offline(self, inp: Inputs, images: Sequence[Image] = (), *, reason: str) -> Answer[Any]:
        """The offline rules' answer to ``inp``, recorded with ``reason`` (why the configured
        backend's answer could not be used, e.g. every proposal was a duplicate)."""
        return self._offline(question(inp), tuple(images), inp, reason=reason)

    # --- the three questions -------------------------------------------------------------

    def analyze(self, inp: AnalyzeInput, images: Sequence[Image] = ()) -> Answer[Progress]:
        """Verdicts on the skills in training (images: learning curves, then the scene)."""
        return cast(Answer[Progress], self.ask(inp, images))

    def propose(self, inp: ProposeInput, images: Sequence[Image] = ()) -> Answer[Proposals]:
        """New tasks (image: the scene). Vet them with ``vet_proposals`` before training."""
        return cast(Answer[Proposals], self.ask(inp, images))

    def decompose(self, inp: DecomposeInput, images: Sequence[Image] = ()) -> Answer[Decomposition]:
        """Ordered subtasks, each a valid spec of the scene."""
        return cast(Answer[Decomposition], self.ask(inp, images))

    # --- asking --------------------------------------------------------------------------

    def ask(self, inp: Inputs, images: Sequence[Image] = ()) -> Answer[Any]:
        """Any of the three questions, by the type of ``inp``."""
        q = question(inp)
        pics = tuple(images)
        backend = self.backend
        if backend is self.offline:
            return self._offline(q, pics, inp, reason=None)
        if not backend.remote:  # replay: free and local, nothing to save by caching
            return self._ask_backend(q, pics, inp, key="")
        key = cache_key(
            backend=backend.name, model=backend.model, prompt=q.prompt, images=pics, schema=q.schema
        )
        if (cached := self.cache.get(key)) is not None:
            value, problem = parse_answer(q, cached)
            if value is not None:
                row = self._record(q, pics, backend, response=cached, value=value, cache_hit=True)
                return Answer(value, backend.name, backend.model, row, cache_hit=True)
            log.warning("ignoring a cached %s answer that no longer validates: %s", q.kind, problem)
        if self.down is not None:
            return self._offline(q, pics, inp, reason=f"{backend.name} is down: {self.down}")
        return self._ask_backend(q, pics, inp, key)

    def _ask_backend(
        self, q: Question, pics: tuple[Image, ...], inp: Inputs, key: str
    ) -> Answer[Any]:
        backend = self.backend
        request = Request(q.kind, q.prompt, q.schema, pics, inp)
        limit = self.question_timeout_s if backend.remote else None
        deadline = None if limit is None else time.monotonic() + limit
        failures = 0
        repaired = False
        total = Usage()
        spent = 0.0
        last = ""  # the last failure, for the fallback's reason
        while True:  # bounded: at most retries + 1 failures and one repair, and the deadline
            self._check_stop()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return self._out_of_time(q, pics, inp, limit, last, total, spent)
            if backend.remote:
                if (why := self._refusal(request)) is not None:
                    self._record(q, pics, backend, error=NOT_SENT + why, prompt=request.prompt)
                    if self.on_budget == "stop":
                        raise BudgetExhausted(why)
                    return self._offline(q, pics, inp, reason=why, usage=total, cost=spent)
                timeouts = [t for t in (self.attempt_timeout_s, left) if t is not None]
                request = replace(request, timeout_s=min(timeouts) if timeouts else None)
            start = time.perf_counter()
            try:
                reply = self._call(request, deadline)
            except PlannerStopped:
                self._failed(q, pics, request, start, "abandoned: stop requested")
                raise
            except _OutOfTime:
                self._failed(q, pics, request, start, f"no answer within {limit} s: abandoned")
                return self._out_of_time(q, pics, inp, limit, last, total, spent)
            except MalformedReply as e:
                # Read like an invalid answer: recorded, then repaired once.
                self._failed(q, pics, request, start, str(e), response=e.body)
                text, value = e.body or "(nothing readable)", None
                problem: str | None = str(e)
            except TransientError as e:
                failures += 1
                last = str(e)
                self._failed(q, pics, request, start, last)
                if failures > self.retry.retries:
                    self.down = f"{failures} failed attempts, the last: {e}"
                    log.error(
                        "%s: giving up on %s after %d attempts: %s",
                        q.kind,
                        backend.name,
                        failures,
                        e,
                    )
                    return self._offline(q, pics, inp, reason=self.down, usage=total, cost=spent)
                delay = self.retry.delay(failures, self.rng)
                if deadline is not None and time.monotonic() + delay >= deadline:
                    return self._out_of_time(q, pics, inp, limit, last, total, spent)
                log.warning(
                    "%s: %s failed (%s); retry %d of %d in %.2f s",
                    q.kind, backend.name, e, failures, self.retry.retries, delay,
                )  # fmt: skip
                self._pause(delay)
                continue
            except (PermanentError, BackendError) as e:
                self._failed(q, pics, request, start, str(e))
                self.down = str(e)
                log.error("%s: %s refused: %s", q.kind, backend.name, e)
                return self._offline(q, pics, inp, reason=self.down, usage=total, cost=spent)
            except Exception as e:  # an SDK's own bug or surprise must not end a long run
                log.exception("%s: %s failed unexpectedly", q.kind, backend.name)
                self._failed(q, pics, request, start, f"unexpected {type(e).__name__}: {e}")
                self.down = f"unexpected {type(e).__name__}: {e}"
                return self._offline(q, pics, inp, reason=self.down, usage=total, cost=spent)
            else:
                latency = time.perf_counter() - start
                cost = dollars(self.prices, backend.model, reply.usage)
                if backend.remote:
                    self.budget.charge(reply.usage, cost)
                total = Usage(
                    total.tokens_in + reply.usage.tokens_in,
                    total.tokens_out + reply.usage.tokens_out,
                )
                spent += cost
                text = reply.text
                value, problem = parse_answer(q, text)
                row = self._record(
                    q, pics, backend, response=text, value=value, error=problem,
                    usage=reply.usage, cost=cost, latency=latency, prompt=request.prompt,
                    model=reply.model,
                )  # fmt: skip
            if value is not None:
                if backend.remote:
                    self.cache.put(key, text)
                return Answer(value, backend.name, backend.model, row, usage=total, dollars=spent)
            if repaired:
                log.error("%s: %s answered invalidly twice: %s", q.kind, backend.name, problem)
                return self._offline(
                    q, pics, inp, reason=f"invalid answer after the repair re-ask: {problem}",
                    usage=total, cost=spent,
                )  # fmt: skip
            log.warning(
                "%s: invalid answer from %s, asking once more: %s", q.kind, backend.name, problem
            )
            repaired = True
            prompt = render_repair(prompt=q.prompt, answer=text, error=str(problem))
            request = Request(q.kind, prompt, q.schema, pics, inp, repair_of=text)

    # --- what guards each call -----------------------------------------------------------

    def _check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise PlannerStopped("stop requested while asking the planner")

    def _pause(self, delay: float) -> None:
        """A backoff: ``sleep`` when one was given, else a wait that wakes on a stop."""
        if self.sleep is not None:
            self.sleep(delay)
        else:
            end = time.monotonic() + delay
            while (left := end - time.monotonic()) > 0:
                self._check_stop()
                time.sleep(min(left, STOP_POLL_S))
        self._check_stop()

    def _call(self, request: Request, deadline: float | None) -> Reply:
        """``backend.ask(request)``; a remote one in a worker thread, waited on in slices so
        that a stop or the question's deadline abandons it (the thread is a daemon: an
        abandoned call never holds up the process's exit)."""
        backend = self.backend
        if not backend.remote:
            return backend.ask(request)
        done: futures.Future[Reply] = futures.Future()

        def work() -> None:
            try:
                done.set_result(backend.ask(request))
            except BaseException as e:  # handed to the waiting planner
                done.set_exception(e)

        threading.Thread(target=work, name=f"planner-{request.kind}", daemon=True).start()
        while True:
            wait = STOP_POLL_S
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    raise _OutOfTime
            finished, _ = futures.wait([done], timeout=wait)
            if finished:
                return done.result()
            self._check_stop()

    def _refusal(self, request: Request) -> str | None:
        """Why ``request`` must not be sent: a budget it could overshoot at worst."""
        backend = self.backend
        tokens_in = estimate_prompt_tokens(request.prompt, request.schema, request.images)
        tokens_out = int(getattr(backend, "max_reply_tokens", 0) or 0)
        worst = dollars(self.prices, backend.model, Usage(tokens_in, tokens_out))
        return self.budget.refusal(tokens=tokens_in + tokens_out, cost=worst)

    def _failed(
        self,
        q: Question,
        pics: tuple[Image, ...],
        request: Request,
        start: float,
        error: str,
        response: str | None = None,
    ) -> None:
        """A call that brought no usable reply: recorded, and counted as a call."""
        latency = time.perf_counter() - start
        self._record(
            q, pics, self.backend, response=response, error=error, latency=latency,
            prompt=request.prompt,
        )  # fmt: skip
        if self.backend.remote:
            self.budget.charge(Usage(), 0.0)

    def _out_of_time(
        self,
        q: Question,
        pics: tuple[Image, ...],
        inp: Inputs,
        limit: float | None,
        last: str,
        usage: Usage,
        cost: float,
    ) -> Answer[Any]:
        """The question's time is spent: the backend is down for the rest of the iteration."""
        self.down = (
            f"no answer within the question's {limit} s (EXPERIMENTER_PLANNER_QUESTION_TIMEOUT_S)"
            + (f"; the last failure: {last}" if last else "")
        )
        log.error("%s: %s: %s", q.kind, self.backend.name, self.down)
        return self._offline(q, pics, inp, reason=self.down, usage=usage, cost=cost)

    def _offline(
        self,
        q: Question,
        pics: tuple[Image, ...],
        inp: Inputs,
        *,
        reason: str | None,
        usage: Usage | None = None,
        cost: float = 0.0,
    ) -> Answer[Any]:
        start = time.perf_counter()
        reply = self.offline.ask(Request(q.kind, q.prompt, q.schema, pics, inp))
        latency = time.perf_counter() - start
        value, problem = parse_answer(q, reply.text)
        if value is None:  # the rules must always answer validly: a bug, not a model's whim
            raise RuntimeError(f"the offline backend gave an invalid {q.kind} answer: {problem}")
        row = self._record(
            q, pics, self.offline, response=reply.text, value=value, latency=latency,
            error=f"answered offline: {reason}" if reason else None,
        )  # fmt: skip
        return Answer(
            value, self.offline.name, self.offline.model, row, fallback=reason,
            usage=usage or Usage(), dollars=cost,
        )  # fmt: skip

    def _record(
        self,
        q: Question,
        pics: tuple[Image, ...],
        backend: Backend,
        *,
        response: str | None = None,
        value: BaseModel | None = None,
        error: str | None = None,
        usage: Usage | None = None,
        cost: float = 0.0,
        latency: float = 0.0,
        cache_hit: bool = False,
        prompt: str | None = None,
        model: str | None = None,
    ) -> int | None:
        usage = usage or Usage()
        return self.recorder.record(
            DecisionRecord(
                kind=q.kind, backend=backend.name, model=model or backend.model,
                prompt=prompt if prompt is not None else q.prompt, images=pics, response=response,
                parsed=value.model_dump(mode="json") if value is not None else None,
                valid=value is not None, error=error, tokens_in=usage.tokens_in,
                tokens_out=usage.tokens_out, dollars=cost, latency_s=latency, cache_hit=cache_hit,
            )
        )  # fmt: skip
