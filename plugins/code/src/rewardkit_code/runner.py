"""The test runner that executes *inside* the sandbox (stdlib only, Python >= 3.8).

It is shipped into the sandbox as ``runner.py`` next to ``spec.bin`` (marshal) and the program, and started
as ``python3 runner.py`` with a one-line nonce on stdin. One sandbox run serves a whole sample:

* the program is compiled once (``g++`` for C++; ``compile()`` for Python, which runs no code);
* every test runs in a **fresh child** (``fork`` for Python, ``exec`` of the binary otherwise), with
  its own CPU-time rlimit and a wall-clock backstop, so a hang, ``sys.exit()``, ``os._exit()`` or
  a crash costs that test only and cannot touch the runner;
* after each test a result line ``<nonce> <python literal>`` goes to the runner's private copy of stdout.
  Children never hold that descriptor, have fds 0-2 redirected to files, and zero their copy of
  the nonce before running user code, so program output cannot pass for a result line.

Expected outputs of stdin/stdout and call-based tests never enter the sandbox: the runner sends
back what the program printed/returned and the host compares. For early exit it gets only salted
hashes of the expected outputs (also wiped in children) to spot definite failures.
"""

import builtins
import io
import marshal
import os
import resource
import select
import signal
import sys
import time

# Imports are kept to cheap built-in modules: interpreter start-up is most of a small sample's cost.
# (json, hashlib, subprocess and traceback would add ~20 ms per sample.)

#: Standard-library modules never imported ahead of the program (side effects on import).
NO_PREIMPORT = frozenset({"this", "antigravity", "idlelib", "tkinter", "turtle", "turtledemo", "pydoc",
                          "webbrowser", "__main__", "__future__", "site", "test"})

NONCE = bytearray()
RESULT_FD = -1


def emit(obj):
    """One result line: the nonce, then the record as a Python literal (the host literal_evals it)."""
    line = bytes(NONCE) + b" " + repr(obj).encode("utf-8", "backslashreplace") + b"\n"
    view = memoryview(line)
    while view:
        view = view[os.write(RESULT_FD, view):]


def digest(text):
    import hashlib

    return hashlib.sha256(bytes(NONCE) + text.encode("utf-8", "replace")).hexdigest()


def canon_tokens(text):
    return " ".join(text.split())


def plain(value):
    """Turn a returned value into plain JSON data; anything exotic becomes its repr (never equal)."""
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    return {"__repr__": repr(value)[:200]}


def canon_value(value):
    """A canonical text of a plain value (dict keys sorted), the same on host and in the sandbox."""
    if isinstance(value, dict):
        return "{" + ",".join(repr(k) + ":" + canon_value(value[k]) for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canon_value(v) for v in value) + "]"
    return repr(value)


def error_text(exc):
    try:
        text = "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__
    except BaseException:  # a hostile __str__
        text = type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.lineno:
        text += " (line %s)" % exc.lineno
    return text[-500:]


def make_undumpable():
    """PR_SET_DUMPABLE=0: tests (same uid) cannot read this process's memory, and so the nonce,
    through /proc/PID/mem or ptrace."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
    except Exception:
        pass


_SLOT = type(object.__eq__)
EQ_NAME = "__rewardkit_eq__"


def _own_eq(cls):
    return type(getattr(cls, "__eq__", None)) is not _SLOT


def safe_eq(a, b):
    """``a == b`` for assert tests, except that an object whose class defines ``__eq__`` in Python
    does not get to decide equality against a value of a built-in type: that side decides. This
    defeats "always equal" return values (``__eq__ = lambda *a: True``)."""
    ta, tb = type(a), type(b)
    if ta is not tb:
        own_a, own_b = _own_eq(ta), _own_eq(tb)
        if own_a != own_b:
            result = tb.__eq__(b, a) if own_a else ta.__eq__(a, b)
            return result is True
    return bool(a == b)


def preimport(source):
    """Import the standard-library modules the program imports once, in the runner, so that every
    forked test finds them loaded (importing ``typing`` in each child would dominate small tests).
    Third-party modules are left to the program: their import code is as untrusted as the program."""
    stdlib = getattr(sys, "stdlib_module_names", ())
    for line in source.splitlines():
        words = line.replace(",", " ").split()
        if len(words) < 2 or words[0] not in ("import", "from"):
            continue
        names = [words[1]] if words[0] == "from" else [w for w in words[1:] if w != "as"]
        for name in names:
            top = name.split(".")[0]
            if top in stdlib and top not in NO_PREIMPORT and top not in sys.modules:
                try:
                    __import__(name)
                except BaseException:
                    pass


def child_setup(cpu_seconds, stdin_path, stdout_path):
    """In a fresh child: own process group, CPU limit, redirected stdio, no secrets left."""
    os.setpgid(0, 0)
    for i in range(len(NONCE)):
        NONCE[i] = 0
    os.close(RESULT_FD)
    cpu = max(1, int(-(-cpu_seconds // 1)))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    fd_in = os.open(stdin_path, os.O_RDONLY)
    fd_out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    fd_err = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd_in, 0)
    os.dup2(fd_out, 1)
    os.dup2(fd_err, 2)
    for fd in (fd_in, fd_out, fd_err):
        os.close(fd)
    # buffered, as an interpreter's own stdio are (`sys.stdin.buffer.readline` is the fast-input
    # idiom of competitive programmers; on a raw FileIO it would read byte by byte)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)),
                                                 encoding="utf-8", errors="replace")
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)),
                                                   encoding="utf-8", errors="replace")
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
                                                   encoding="utf-8", errors="replace", line_buffering=True)


def wait_child(pid, read_fd, wall, cap):
    """Collect what the child writes on ``read_fd`` until it exits or ``wall`` seconds pass."""
    deadline = time.monotonic() + wall
    data = bytearray()
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        if len(data) < cap:
            data += chunk[: cap - len(data)]
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        timed_out = True  # the CPU-time rlimit (soft: SIGXCPU, hard: SIGKILL)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    try:
        os.killpg(pid, signal.SIGKILL)  # grandchildren the test left behind
    except OSError:
        pass
    return bytes(data), code, sig, timed_out


def run_python_test(spec, index, code_obj, wall):
    """Fork a child that runs one Python test; returns the result record."""
    kind = spec["kind"]
    test = spec["tests"][index]
    if kind == "assert":
        try:
            test = compile(test, "test_%d" % index, "exec")
        except (SyntaxError, ValueError) as exc:
            return {"i": index, "status": "error", "error": "the test does not compile: " + error_text(exc)}, None
    in_path = "in_%d.txt" % index
    out_path = "out_%d.txt" % index
    with open(in_path, "w", encoding="utf-8") as f:
        f.write(test if kind == "stdio" else "")
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:  # e.g. a fork bomb's leftovers hold every process slot of the uid
        os.close(read_fd)
        os.close(write_fd)
        return {"i": index, "status": "error", "error": "could not start the test: %s" % exc}, None
    if pid == 0:  # child: never returns
        status = 1
        try:
            os.close(read_fd)
            child_setup(spec["per_test"], in_path, out_path if kind == "stdio" else os.devnull)
            tests = spec["tests"]
            for i in range(len(tests)):
                if i != index:
                    tests[i] = None
            spec["hashes"] = None
            status = child_body(kind, spec, test, code_obj, write_fd)
        except BaseException:  # noqa: B036 - a child must always end here
            status = 1
        finally:
            for stream in (sys.stdout, sys.__stdout__):
                try:
                    stream.flush()
                except BaseException:
                    pass
            os._exit(status)
    os.close(write_fd)
    data, code, sig, timed_out = wait_child(pid, read_fd, wall, spec["output_cap"] + 4096)
    record = {"i": index}
    if timed_out or sig in (signal.SIGXCPU,):
        record.update(status="timeout", error="time limit exceeded")
        return record, None
    verdict = {}
    if data:
        try:
            verdict = marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            verdict = {}
        if not isinstance(verdict, dict):
            verdict = {}
    if kind == "stdio":
        try:
            with open(out_path, "rb") as f:
                out = f.read(spec["output_cap"] + 1).decode("utf-8", "replace")
        except OSError:
            out = ""
        if code == 0:
            record.update(status="done", out=out)
        else:
            record.update(status="error", out=out,
                          error=verdict.get("error") or ("killed by signal %s" % sig if sig else "exit code %s" % code))
        return record, out
    if verdict.get("status") in ("pass", "fail", "error", "done"):
        record.update({k: v for k, v in verdict.items() if k in ("status", "error", "out")})
    else:
        record.update(status="error", error="the test ended without a verdict (%s)" % (
            "signal %s" % sig if sig else "exit code %s" % code))
    return record, record.get("out")


def child_body(kind, spec, test, code_obj, write_fd):
    """Runs in the child: the program, then the test; reports a verdict on ``write_fd``."""
    def verdict(obj):
        data = memoryview(marshal.dumps(obj))
        while data:
            data = data[os.write(write_fd, data):]

    ns = {"__name__": "__main__" if kind == "stdio" else "solution", "__builtins__": builtins}
    try:
        exec(code_obj, ns)
    except SystemExit as exc:
        join_threads()
        if kind == "stdio" and exc.code in (None, 0):
            return 0
        verdict({"status": "error", "error": "the program called exit(%r)" % (exc.code,)})
        return 1
    except BaseException as exc:
        verdict({"status": "error", "error": "the program raised " + error_text(exc)})
        return 1
    join_threads()
    if kind == "stdio":
        return 0
    try:
        if kind == "assert":
            exec(spec["setup_code"], ns)
            ns[EQ_NAME] = safe_eq  # set after the program ran, checked after the test
            exec(test, ns)
            if ns.get(EQ_NAME) is not safe_eq:
                verdict({"status": "error", "error": "the program tampered with the test harness"})
                return 1
            verdict({"status": "pass"})
            return 0
        # call-based: LeetCode-style `class Solution` methods or a top-level function
        name = spec["fn_name"]
        target = ns.get(name)
        if "Solution" in ns and hasattr(ns["Solution"], name):
            target = getattr(ns["Solution"](), name)
        if not callable(target):
            verdict({"status": "error", "error": "the program defines no function %r" % name})
            return 1
        args = test if isinstance(test, list) else [test]
        result = plain(target(*args))
        verdict({"status": "done", "out": result})
        return 0
    except AssertionError as exc:
        verdict({"status": "fail", "error": error_text(exc)})
    except SystemExit as exc:
        verdict({"status": "error", "error": "the program called exit(%r) during the test" % (exc.code,)})
    except BaseException as exc:
        verdict({"status": "error", "error": error_text(exc)})
    return 1


def join_threads():
    """Wait for the program's non-daemon threads, as interpreter exit would (competitive
    programmers run ``main`` in a thread to get a bigger stack)."""
    threading = sys.modules.get("threading")
    if threading is None:
        return
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()


def run_exec_test(spec, index, wall):
    """Run the compiled program on one stdin/stdout case (or once, for a whole-program test)."""
    import subprocess

    test = spec["tests"][index]
    in_path = "in_%d.txt" % index
    out_path = "out_%d.txt" % index
    with open(in_path, "w", encoding="utf-8") as f:
        f.write(test if spec["kind"] == "stdio" else "")
    cpu = max(1, int(-(-spec["per_test"] // 1)))

    def limit():
        for i in range(len(NONCE)):  # the exec wipes memory anyway; belt and braces
            NONCE[i] = 0
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))

    record = {"i": index}
    with open(in_path, "rb") as fin, open(out_path, "wb") as fout:
        try:
            proc = subprocess.Popen(spec["run"], stdin=fin, stdout=fout, stderr=subprocess.DEVNULL,
                                    start_new_session=True, preexec_fn=limit, close_fds=True)
        except OSError as exc:
            record.update(status="error", error="could not start the program: %s" % exc)
            return record, None
        try:
            code = proc.wait(timeout=wall)
            timed_out = code in (-signal.SIGXCPU, -signal.SIGKILL)
        except subprocess.TimeoutExpired:
            timed_out, code = True, None
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
    if timed_out:
        record.update(status="timeout", error="time limit exceeded")
        return record, None
    with open(out_path, "rb") as f:
        out = f.read(spec["output_cap"] + 1).decode("utf-8", "replace")
    if spec["kind"] == "program":
        if code == 0:
            record.update(status="pass")
        else:
            record.update(status="fail", error="exit code %s" % code if code >= 0 else "signal %s" % -code)
        return record, None
    if code == 0:
        record.update(status="done", out=out)
    else:
        record.update(status="error", out=out, error="exit code %s" % code if code >= 0 else "signal %s" % -code)
    return record, out


def definitely_failed(spec, index, record, out):
    """For early exit: True when the result cannot pass the host's comparison."""
    status = record["status"]
    if status in ("fail", "error", "timeout"):
        return True
    if status == "pass" or not spec.get("hashes"):
        return False
    hashes, tolerant = spec["hashes"][index], spec["tolerant"][index]
    if tolerant:
        return False
    text = canon_tokens(out) if spec["kind"] == "stdio" else canon_value(out)
    return digest(text) not in hashes


def compile_program(spec):
    """Compile the program; returns (ok, error, Python code object or None). Runs no program code."""
    source_file = spec["source"]
    if spec["language"] == "python":
        with open(source_file, encoding="utf-8") as f:
            source = f.read()
        try:
            code = compile(source, source_file, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
            return False, error_text(exc), None
        try:
            spec["setup_code"] = compile(spec["setup"], "test_setup", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            return False, "the row's test set-up does not compile: " + error_text(exc), None
        return True, "", code
    if not spec.get("compile"):
        return True, "", None
    import subprocess

    try:
        proc = subprocess.run(spec["compile"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=spec["compile_timeout"])
    except subprocess.TimeoutExpired:
        return False, "compilation timed out after %ss" % spec["compile_timeout"], None
    except OSError as exc:
        return False, "could not run the compiler %r: %s" % (spec["compile"][0], exc), None
    if proc.returncode != 0:
        return False, proc.stdout.decode("utf-8", "replace")[-1500:], None
    return True, "", None


def main():
    global RESULT_FD
    started = time.monotonic()
    # byte by byte: one-byte bytes objects are shared singletons, so no copy of the nonce is left
    # behind in a local for a test to find by walking frames
    while len(NONCE) < 256:
        byte = os.read(0, 1)
        if not byte or byte == b"\n":
            break
        NONCE.extend(byte)
    RESULT_FD = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    with open("spec.bin", "rb") as f:
        spec = marshal.loads(f.read())
    os.unlink("spec.bin")  # the program has no business reading its tests
    make_undumpable()
    ok, error, code_obj = compile_program(spec)
    if ok and spec["language"] == "python":
        with open(spec["source"], encoding="utf-8") as f:
            preimport(f.read())
            preimport(spec["setup"])
    emit({"event": "compile", "ok": ok, "error": error, "time": round(time.monotonic() - started, 4)})
    if not ok:
        return
    deadline = time.monotonic() + spec["total"]
    for index in range(len(spec["tests"])):
        left = deadline - time.monotonic()
        if left <= 0:
            emit({"event": "total_timeout", "next": index})
            return
        wall = min(spec["per_test_wall"], left)
        t0 = time.monotonic()
        if spec["language"] == "python":
            record, out = run_python_test(spec, index, code_obj, wall)
        else:
            record, out = run_exec_test(spec, index, wall)
        record["time"] = round(time.monotonic() - t0, 4)
        if "out" in record and isinstance(record["out"], str) and len(record["out"]) > spec["output_cap"]:
            record["out"] = record["out"][: spec["output_cap"] + 1]
        emit(record)
        if spec["early_exit"] and definitely_failed(spec, index, record, out):
            emit({"event": "early_exit", "next": index + 1})
            return
    emit({"event": "done"})


if __name__ == "__main__":
    main()
