"""``rewardkit serve``: a recipe's rewards behind HTTP, in OpenRLHF's remote reward protocol.

``POST /get_reward`` with ``{"query": [...], "prompts": [...], "labels": [...]}`` answers
``{"rewards": [...], "scores": [...], "extra_logs": {...}, "errors": [...]}`` (one entry per query;
how queries are split into prompt and response, and labels read, is :mod:`rewardkit.adapters.openrlhf`).
``GET /health`` answers at once, whatever is being scored.

Concurrency: requests are parsed on an asyncio loop (starlette on uvicorn) and queued to one scoring
thread, which takes everything queued (up to ``max_batch`` rows) into a single engine call: concurrent
clients share the engine's workers, cache and deduplication instead of taking turns. Deadlines: each
reward call has the recipe's ``deadline`` (a hanging reward becomes a failed score, the row's reward
``none_value``); each request has ``request_timeout`` on top (then 504, and the server goes on).
"""

from __future__ import annotations

import asyncio
import json
import queue
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from .engine import ScoredSample, ScoringEngine
    from .types import Sample


class BadRequest(ValueError):
    """A request body that does not follow the protocol; answered with 400 and this message."""


@dataclass
class _Pending:
    samples: list["Sample"]
    future: "asyncio.Future[list[ScoredSample]]"
    loop: asyncio.AbstractEventLoop


def _settle(future: "asyncio.Future[Any]", value: Any = None, error: BaseException | None = None) -> None:
    if future.done():  # the request gave up (its deadline passed) while we scored
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class RewardServer:
    """Scores requests' rows in batches on one thread; the HTTP layer awaits :meth:`score`."""

    def __init__(self, engine: "ScoringEngine", *, domain: str | None = None, request_timeout: float = 120.0,
                 max_batch: int = 1024, none_value: float = 0.0, name: str = "") -> None:
        self.engine, self.domain, self.name = engine, domain, name
        self.request_timeout, self.max_batch, self.none_value = request_timeout, max(1, max_batch), none_value
        self.counts = {"requests": 0, "rows": 0, "bad_requests": 0, "deadline_exceeded": 0, "batches": 0,
                       "scoring": 0}  # scoring: rows in the engine right now
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="rewardkit-scorer", daemon=True)
        self._thread.start()

    def _take_batch(self, first: _Pending) -> list[_Pending]:
        batch, rows = [first], len(first.samples)
        while rows < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # the stop signal: handle it after this batch
                break
            batch.append(item)
            rows += len(item.samples)
        return [p for p in batch if not p.future.done()]

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = self._take_batch(first)
            if not batch:
                continue
            self.counts["batches"] += 1
            samples = [s for p in batch for s in p.samples]
            self.counts["scoring"] = len(samples)
            try:
                scored = self.engine.score(samples)
            except Exception as exc:  # noqa: BLE001 - the engine contains reward errors; this is a bug: report it
                for p in batch:
                    p.loop.call_soon_threadsafe(_settle, p.future, None, exc)
                continue
            finally:
                self.counts["scoring"] = 0
            for p in batch:
                part, scored = scored[:len(p.samples)], scored[len(p.samples):]
                p.loop.call_soon_threadsafe(_settle, p.future, part)

    async def score(self, samples: list["Sample"]) -> list["ScoredSample"]:
        """Score ``samples`` in the next batch; ``asyncio.TimeoutError`` after ``request_timeout``."""
        if not samples:
            return []
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[ScoredSample]] = loop.create_future()
        self._queue.put(_Pending(samples, future, loop))
        return await asyncio.wait_for(future, self.request_timeout)

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "recipe": self.name, "rewards": self.engine.ids,
                "weights": self.engine.weights, "queued": self._queue.qsize(), **self.counts}

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self.engine.close()


def parse_request(body: Any) -> tuple[list[str], list[str] | None, list[Any] | None]:
    """``query`` / ``prompts`` / ``labels`` from a request body, or :class:`BadRequest` saying why not."""
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object like {{\"query\": [...], \"prompts\": [...], "
                         f"\"labels\": [...]}}, not {type(body).__name__}")
    queries = body.get("query", body.get("queries"))
    if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
        raise BadRequest("`query` must be a list of strings (each the prompt and response decoded together)")
    out: list[Any] = [queries]
    for key in ("prompts", "labels"):
        value = body.get(key)
        if value is not None and (not isinstance(value, list) or len(value) != len(queries)):
            got = f"{len(value)} items" if isinstance(value, list) else type(value).__name__
            raise BadRequest(f"`{key}` must be a list with one item per query ({len(queries)}), got {got}")
        out.append(value)
    if out[1] is not None and not all(isinstance(p, str) for p in out[1]):
        raise BadRequest("`prompts` must be strings (the prompt text each query starts with)")
    return out[0], out[1], out[2]


def build_app(server: RewardServer) -> "Starlette":
    """The ASGI app: ``POST /get_reward`` and ``GET /health``."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from .adapters.openrlhf import score_rows, to_samples

    def error(status: int, message: str) -> "JSONResponse":
        return JSONResponse({"error": message}, status_code=status)

    async def get_reward(request: "Request") -> "JSONResponse":
        server.counts["requests"] += 1
        try:
            body = json.loads(await request.body())
            queries, prompts, labels = parse_request(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            server.counts["bad_requests"] += 1
            return error(400, f"the body is not JSON ({exc}); send {{\"query\": [...], \"prompts\": [...], "
                              "\"labels\": [...]}} with Content-Type: application/json")
        except BadRequest as exc:
            server.counts["bad_requests"] += 1
            return error(400, str(exc))
        samples, errors = to_samples(queries, prompts, labels, server.domain)
        try:
            scored = await server.score([s for s in samples if s is not None])
        except asyncio.TimeoutError:
            server.counts["deadline_exceeded"] += 1
            return error(504, f"scoring {len(queries)} rows took longer than the request deadline "
                              f"({server.request_timeout:g} s); raise --request-timeout, or lower the "
                              "rewards' `deadline:` so a hanging reward fails its row instead")
        server.counts["rows"] += len(queries)
        out = score_rows(server.engine, samples, errors, server.none_value, scored)
        out["errors"] = errors
        return JSONResponse(out)

    async def health(request: "Request") -> "JSONResponse":
        return JSONResponse(server.health())

    return Starlette(routes=[Route("/get_reward", get_reward, methods=["POST"]),
                             Route("/health", health, methods=["GET"])])


def serve(recipe_path: str, *, host: str = "127.0.0.1", port: int = 5000, profile: str | None = None,
          domain: str | None = None, request_timeout: float = 120.0, max_batch: int = 1024,
          none_value: float = 0.0, executor: str | None = None, workers: int | None = None,
          deadline: float | None = None) -> None:
    """Load a recipe and serve its rewards until interrupted (what ``rewardkit serve`` runs)."""
    try:
        import uvicorn
    except ImportError:
        raise ImportError("rewardkit serve needs starlette and uvicorn: "
                          "pip install 'rewardkit[serve]'") from None
    from .recipe import RecipeError, RecipeProblem, load_recipe

    recipe = load_recipe(recipe_path, profile=profile)
    if not recipe.rewards:
        raise RecipeError(recipe_path, [RecipeProblem("rewards", "the recipe has no rewards to serve",
                                                      "add a `rewards:` list")])
    engine = recipe.build_engine(executor=executor, workers=workers, deadline=deadline)
    server = RewardServer(engine, domain=domain or (recipe.data.domain if recipe.data else None),
                          request_timeout=request_timeout, max_batch=max_batch, none_value=none_value,
                          name=recipe.name)
    print(f"rewardkit serve: {recipe.name} ({', '.join(engine.ids)}) on http://{host}:{port}/get_reward "
          f"(health: /health)", file=sys.stderr, flush=True)
    try:
        uvicorn.run(build_app(server), host=host, port=port, log_level="warning")
    finally:
        server.close()
