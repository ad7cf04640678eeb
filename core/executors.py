"""Executors that run calls under a hard per-call deadline: threads, worker processes, or Ray.

No ``signal.alarm``: deadlines are enforced by a supervisor loop in the calling thread, so they work
from any thread. Each call gets its own deadline, counted from the moment a worker starts it.

* :class:`ThreadExecutor` abandons a call that overruns (Python cannot kill a thread); the stuck
  worker is replaced so the batch goes on. Use it for I/O-bound or trusted, cheap rewards.
* :class:`ProcessExecutor` kills the worker process that overruns (or crashes, or runs out of its
  memory cap) and starts a fresh one. Use it for anything that can hang or blow up (sympy, parsers).
* :class:`RayExecutor` runs calls as Ray tasks and force-cancels those that overrun.

All three take ``run_calls([(fn, args, kwargs), ...], timeout)`` and return one :class:`Outcome`
per call, in order. A call never raises out of an executor: its error is in the Outcome.
"""

from __future__ import annotations

import abc
import collections
import itertools
import os
import pickle
import queue
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]
ExecutorKind = Literal["thread", "process", "ray"]


@dataclass
class Outcome:
    """What became of one call."""

    value: Any = None
    error: str | None = None
    timed_out: bool = False
    latency: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _invoke(call: Call) -> Outcome:
    fn, args, kwargs = call
    start = time.perf_counter()
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - contained and reported, never re-raised
        if isinstance(exc, KeyboardInterrupt):
            raise
        return Outcome(error=_describe(exc), latency=time.perf_counter() - start)
    return Outcome(value=value, latency=time.perf_counter() - start)


class Executor(abc.ABC):
    """Runs batches of calls with a hard per-call deadline."""

    kind: str = ""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or min(8, os.cpu_count() or 1))
        self.timeouts = 0
        self.crashes = 0

    @abc.abstractmethod
    def run_calls(self, calls: Sequence[Call], timeout: float | None = None) -> list[Outcome]:
        """Run ``calls`` (``(fn, args, kwargs)`` tuples); each may take at most ``timeout`` seconds."""

    def map(self, fn: Callable[..., Any], items: Sequence[Any], timeout: float | None = None) -> list[Outcome]:
        return self.run_calls([(fn, (item,), {}) for item in items], timeout)

    def close(self) -> None:
        """Release workers. The executor restarts them if used again."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Worker(abc.ABC):
    """One slot of a supervised pool: runs a chunk of calls in order, reporting each as it ends."""

    def __init__(self) -> None:
        self.queue: collections.deque[int] = collections.deque()  # this chunk's calls not yet answered
        self.started = 0.0  # when the call at the head of the queue started (as the supervisor saw it)
        self.begun = True  # False while a process worker is still unpickling its chunk

    @abc.abstractmethod
    def start(self, indices: list[int], calls: list[Call]) -> None: ...

    @abc.abstractmethod
    def discard(self) -> None:
        """Give up on this worker (its call overran or it died)."""


class _SupervisedPool(Executor):
    """The deadline loop shared by the thread and process executors.

    Calls go to workers in chunks (one hand-off per chunk, not per call), and each worker reports
    every call as it finishes, so the supervisor knows which call is running and since when: the
    deadline stays per call. When a call overruns, the rest of its chunk goes back to the queue.
    """

    #: Most calls handed to a worker at once.
    max_chunk = 32

    def __init__(self, workers: int | None = None) -> None:
        super().__init__(workers)
        self._pool: list[_Worker] = []
        self._lock = threading.Lock()  # one batch at a time per executor

    @abc.abstractmethod
    def _new_worker(self) -> _Worker: ...

    def _limit(self, worker: _Worker, timeout: float) -> float:
        """Seconds the call at the head of ``worker``'s queue may run."""
        return timeout

    @abc.abstractmethod
    def _collect(self, busy: list[_Worker], wait: float) -> list[tuple[_Worker, int, Outcome]]:
        """Block up to ``wait`` seconds for finished calls among ``busy`` workers."""

    def run_calls(self, calls: Sequence[Call], timeout: float | None = None) -> list[Outcome]:
        if not calls:
            return []
        with self._lock:
            return self._run(calls, timeout)

    def _run(self, calls: Sequence[Call], timeout: float | None) -> list[Outcome]:
        results: list[Outcome | None] = [None] * len(calls)
        pending = collections.deque(range(len(calls)))
        while len(self._pool) < min(self.workers, len(calls)):
            self._pool.append(self._new_worker())
        busy: list[_Worker] = []
        while pending or busy:
            for worker in self._pool:
                if not worker.queue and pending:
                    size = max(1, min(self.max_chunk, len(pending) // (2 * len(self._pool))))
                    chunk = [pending.popleft() for _ in range(min(size, len(pending)))]
                    worker.queue.extend(chunk)
                    worker.started = time.monotonic()
                    worker.start(chunk, [calls[i] for i in chunk])
                    busy.append(worker)
            wait = 3600.0 if timeout is None else max(
                0.0, min(w.started + self._limit(w, timeout) for w in busy) - time.monotonic())
            self._accept(self._collect(busy, wait), results, busy, pending)
            if timeout is None:
                continue
            if any(time.monotonic() - w.started >= self._limit(w, timeout) for w in busy):
                # Results may have landed while this thread waited for the GIL: take them first.
                self._accept(self._collect(busy, 0.0), results, busy, pending)
            now = time.monotonic()
            for worker in [w for w in busy if now - w.started >= self._limit(w, timeout)]:
                index = worker.queue.popleft()
                results[index] = Outcome(
                    error=f"TimeoutError: call exceeded its {timeout:g}s deadline and was "
                    f"{'killed' if self.kind != 'thread' else 'abandoned'}",
                    timed_out=True,
                    latency=now - worker.started,
                )
                self.timeouts += 1
                self._retire(worker, busy, pending)
        return [r if r is not None else Outcome(error="RuntimeError: no result") for r in results]

    def _accept(self, done: list[tuple[_Worker, int, Outcome]], results: list[Outcome | None],
                busy: list[_Worker], pending: collections.deque[int]) -> None:
        for worker, index, outcome in done:
            if worker not in busy or not worker.queue or worker.queue[0] != index:
                continue  # a late answer from an abandoned call
            worker.queue.popleft()
            results[index] = outcome
            worker.started = time.monotonic()  # the next call of the chunk starts now
            if outcome.error and outcome.error.startswith("WorkerDied"):
                self.crashes += 1
                self._retire(worker, busy, pending)
            elif not worker.queue:
                busy.remove(worker)

    def _retire(self, worker: _Worker, busy: list[_Worker], pending: collections.deque[int]) -> None:
        """Replace a worker that overran or died; its unstarted calls go back to the queue."""
        pending.extendleft(reversed(worker.queue))
        worker.queue.clear()
        busy.remove(worker)
        worker.discard()
        self._pool[self._pool.index(worker)] = self._new_worker()

    def close(self) -> None:
        for worker in self._pool:
            worker.discard()
        self._pool.clear()

    def __del__(self) -> None:  # best effort: do not leave worker processes behind
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


# -- threads ---------------------------------------------------------------------------------------
class _ThreadWorker(_Worker):
    """A thread that runs chunks; it records each call's start and result itself and signals the
    supervisor once per chunk, so a chunk costs one hand-off each way, not one per call."""

    _ids = itertools.count()

    def __init__(self, signals: "queue.Queue[_ThreadWorker]") -> None:
        self._current_start = 0.0
        super().__init__()
        self.done: collections.deque[tuple[int, Outcome]] = collections.deque()
        self._inbox: queue.Queue[tuple[list[int], list[Call]] | None] = queue.Queue()
        self._signals = signals
        self._thread = threading.Thread(
            target=self._loop, name=f"rewardkit-worker-{next(self._ids)}", daemon=True
        )
        self._thread.start()

    @property  # type: ignore[override]
    def started(self) -> float:
        """When the running call started, as this thread recorded it."""
        return self._current_start

    @started.setter
    def started(self, value: float) -> None:
        pass  # the thread keeps its own, exact start times

    def _loop(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:
                return
            for index, call in zip(*item):
                self._current_start = time.monotonic()
                self.done.append((index, _invoke(call)))
            self._signals.put(self)

    def start(self, indices: list[int], calls: list[Call]) -> None:
        self._current_start = time.monotonic()
        self._inbox.put((indices, calls))

    def discard(self) -> None:
        # A running call cannot be stopped; the thread exits once it returns (daemon: never blocks exit).
        self._inbox.put(None)


class ThreadExecutor(_SupervisedPool):
    """Worker threads; an overrunning call is abandoned (it keeps its thread until it returns)."""

    kind = "thread"
    #: Warn once this many abandoned calls are still running: they hold threads and CPU.
    abandoned_warning = 16

    def __init__(self, workers: int | None = None) -> None:
        super().__init__(workers)
        self._signals: queue.Queue[_ThreadWorker] = queue.Queue()
        self._abandoned: list[_ThreadWorker] = []
        self._warned = False

    def _new_worker(self) -> _Worker:
        return _ThreadWorker(self._signals)

    @property
    def abandoned_running(self) -> int:
        """Abandoned calls still running in their threads."""
        self._abandoned = [w for w in self._abandoned if w._thread.is_alive()]
        return len(self._abandoned)

    def _retire(self, worker: _Worker, busy: list[_Worker], pending: collections.deque[int]) -> None:
        super()._retire(worker, busy, pending)
        self._abandoned.append(worker)  # type: ignore[arg-type]
        if not self._warned and self.abandoned_running >= self.abandoned_warning:
            import warnings

            self._warned = True
            warnings.warn(
                f"{self.abandoned_running} reward calls overran their deadline and are still running in "
                "abandoned threads; use `executor: process` for rewards that can hang (it kills them)",
                RuntimeWarning, stacklevel=2,
            )

    def _collect(self, busy: list[_Worker], wait: float) -> list[tuple[_Worker, int, Outcome]]:
        try:
            self._signals.get(timeout=wait)
            while True:
                self._signals.get_nowait()
        except queue.Empty:
            pass
        done: list[tuple[_Worker, int, Outcome]] = []
        for worker in busy:
            results = worker.done  # type: ignore[attr-defined]
            while results:
                index, outcome = results.popleft()
                done.append((worker, index, outcome))
        return done


# -- processes -------------------------------------------------------------------------------------
def _limit_memory(memory_limit_mb: int | None) -> None:
    if memory_limit_mb:
        import resource

        limit = int(memory_limit_mb) * 1024 * 1024
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        # Only the soft limit is lowered: the hard one may be below ours already, and raising it needs privilege.
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


_BEGIN = b"begin"  # sent once a chunk is unpickled: the first call's deadline starts then


def _process_main(conn: Any, memory_limit_mb: int | None, initializer: Callable[[], Any] | None) -> None:
    """Body of a worker process: receive pickled chunks of calls, answer each call, until EOF."""
    _limit_memory(memory_limit_mb)
    if initializer is not None:
        initializer()
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        indices, payload = pickle.loads(message)
        try:
            calls = pickle.loads(payload)  # may import the rewards' modules: not part of any deadline
        except BaseException as exc:  # noqa: BLE001
            failure = Outcome(error=f"could not unpickle the call in the worker: {_describe(exc)}")
            calls = [None] * len(indices)
        conn.send_bytes(_BEGIN)
        for index, call in zip(indices, calls):
            outcome = failure if call is None else _invoke(call)
            try:
                data = pickle.dumps((index, outcome), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # noqa: BLE001 - an unpicklable result is the call's error
                data = pickle.dumps((index, Outcome(error=f"result is not picklable: {_describe(exc)}",
                                                    latency=outcome.latency)))
            conn.send_bytes(data)


class _ProcessWorker(_Worker):
    def __init__(self, ctx: Any, memory_limit_mb: int | None, initializer: Callable[[], Any] | None) -> None:
        super().__init__()
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=_process_main, args=(child, memory_limit_mb, initializer), daemon=True, name="rewardkit-worker"
        )
        self.process.start()
        child.close()

    def start(self, indices: list[int], calls: list[Call]) -> None:
        import cloudpickle

        try:
            payload = cloudpickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001
            failing = (_raise_unpicklable, (f"call is not picklable: {_describe(exc)}",), {})
            payload = pickle.dumps([failing] * len(calls))
        self.begun = False
        self.conn.send_bytes(pickle.dumps((indices, payload), protocol=pickle.HIGHEST_PROTOCOL))

    def discard(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


def _raise_unpicklable(message: str) -> None:
    raise TypeError(message)


class ProcessExecutor(_SupervisedPool):
    """Worker processes, killed and restarted on deadline overrun, crash, or memory exhaustion.

    ``memory_limit_mb`` caps each worker's address space (RLIMIT_AS): a call that allocates past it
    gets a MemoryError (or its worker dies), never the host. ``start_method`` defaults to
    ``forkserver`` on Linux (safe with threads, fast restarts) and ``spawn`` elsewhere.
    """

    kind = "process"
    #: Seconds a worker may take to start and unpickle a chunk, on top of the call's deadline.
    startup_grace = 30.0

    def __init__(
        self,
        workers: int | None = None,
        *,
        memory_limit_mb: int | None = None,
        start_method: str | None = None,
        initializer: Callable[[], Any] | None = None,
    ) -> None:
        import multiprocessing

        super().__init__(workers)
        self.memory_limit_mb = memory_limit_mb
        self.initializer = initializer
        method = start_method or ("forkserver" if sys.platform.startswith("linux") else "spawn")
        self._ctx = multiprocessing.get_context(method)

    def _new_worker(self) -> _Worker:
        return _ProcessWorker(self._ctx, self.memory_limit_mb, self.initializer)

    def _limit(self, worker: _Worker, timeout: float) -> float:
        # Until its chunk is unpickled (process start-up, importing the rewards' modules) a worker
        # gets a grace period on top of the call's deadline.
        return timeout if worker.begun else timeout + self.startup_grace

    def _collect(self, busy: list[_Worker], wait: float) -> list[tuple[_Worker, int, Outcome]]:
        from multiprocessing.connection import wait as wait_for

        by_conn = {w.conn: w for w in busy}  # type: ignore[attr-defined]
        done: list[tuple[_Worker, int, Outcome]] = []
        for conn in wait_for(list(by_conn), timeout=wait):
            worker = by_conn[conn]
            try:
                message = conn.recv_bytes()
                if message == _BEGIN:
                    worker.started, worker.begun = time.monotonic(), True
                    continue
                index, outcome = pickle.loads(message)
            except (EOFError, OSError):
                worker.process.join(timeout=1)  # type: ignore[attr-defined]
                code = worker.process.exitcode  # type: ignore[attr-defined]
                index = worker.queue[0]
                why = "killed by a signal (often the memory limit)" if code and code < 0 else f"exit code {code}"
                outcome = Outcome(error=f"WorkerDied: the worker process died ({why}) during this call",
                                  latency=time.monotonic() - worker.started)
            done.append((worker, index, outcome))
        return done


# -- ray -------------------------------------------------------------------------------------------
class RayExecutor(Executor):
    """Calls as Ray tasks (``pip install 'rewardkit[ray]'``); overrunning tasks are force-cancelled.

    Connects to a running cluster when ``address`` is given (or RAY_ADDRESS is set), else starts a
    local one with ``workers`` CPUs.
    """

    kind = "ray"

    def __init__(self, workers: int | None = None, *, address: str | None = None) -> None:
        super().__init__(workers)
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError("the ray executor needs Ray: pip install 'rewardkit[ray]'") from exc
        self._ray = ray
        if not ray.is_initialized():
            # A local cluster's workers import what this process can: rewards defined in modules
            # found through sys.path (tests, notebooks, scripts) pickle by reference.
            runtime_env = None if address else {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}
            ray.init(address=address, num_cpus=None if address else self.workers, include_dashboard=False,
                     ignore_reinit_error=True, log_to_driver=False, configure_logging=False,
                     runtime_env=runtime_env)
        self._remote = ray.remote(max_retries=0)(_ray_task)

    def run_calls(self, calls: Sequence[Call], timeout: float | None = None) -> list[Outcome]:
        import cloudpickle

        ray = self._ray
        results: list[Outcome | None] = [None] * len(calls)
        pending = collections.deque(range(len(calls)))
        running: dict[Any, tuple[int, float]] = {}
        while pending or running:
            while pending and len(running) < self.workers:
                index = pending.popleft()
                payload = cloudpickle.dumps(calls[index])
                running[self._remote.remote(payload)] = (index, time.monotonic())
            wait = None if timeout is None else max(0.0, min(s for _, s in running.values()) + timeout - time.monotonic())
            ready, _ = ray.wait(list(running), num_returns=1, timeout=wait)
            for ref in ready:
                index, started = running.pop(ref)
                try:
                    results[index] = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - worker died, task error
                    self.crashes += 1
                    results[index] = Outcome(error=f"WorkerDied: {_describe(exc)}", latency=time.monotonic() - started)
            if timeout is not None:
                now = time.monotonic()
                for ref, (index, started) in list(running.items()):
                    if now - started >= timeout:
                        ray.cancel(ref, force=True)
                        running.pop(ref)
                        self.timeouts += 1
                        results[index] = Outcome(
                            error=f"TimeoutError: call exceeded its {timeout:g}s deadline and was killed",
                            timed_out=True, latency=now - started)
        return [r if r is not None else Outcome(error="RuntimeError: no result") for r in results]


def _ray_task(payload: bytes) -> Outcome:
    return _invoke(pickle.loads(payload))


def make_executor(kind: ExecutorKind | str = "thread", workers: int | None = None, **options: Any) -> Executor:
    """Build an executor by name: ``thread``, ``process`` or ``ray``."""
    if kind == "thread":
        return ThreadExecutor(workers)
    if kind == "process":
        return ProcessExecutor(workers, **options)
    if kind == "ray":
        return RayExecutor(workers, **options)
    raise ValueError(f"unknown executor {kind!r}; use 'thread', 'process' or 'ray'")
