"""The test runner that executes *inside* the sandbox (stdlib only, Python >= 3.8).

It is shipped into the sandbox as ``runner.py`` next to the program and started as
``python3 runner.py``; the host sends the job (a marshal dict) on its stdin. The runner is split in
two from its first instruction, so that what decides pass or fail never shares a process with the
program being judged:

* the **judge** (this process) holds the test code, the trusted part of the prompt, the early-exit
  hashes and the only descriptor to the host (its stdout). It is non-dumpable (no ptrace, no
  ``/proc/PID/mem`` or ``/proc/PID/fd`` for the program), imports nothing after the program ran and
  never from a folder the program can write.
* the **zygote** is forked before the judge reads anything secret. It compiles the program and
  forks one fresh **candidate** process per test. Where the kernel allows, the zygote lives in a
  new user + pid namespace, so the candidates cannot even name the judge (no signals), and
  everything a test left behind is killed before the next one.

Tests that call the program (HumanEval, MBPP, call-based rows) run in the judge: each function the
tests use is a proxy whose calls cross a socket as plain data (exact built-in types, bounded in size
and depth, decoded here by :func:`wire_decode`, which builds nothing else). A return value cannot
carry an ``__eq__`` of its own, patched builtins stay in the candidate's process, and a candidate
that dies, hangs or answers garbage fails the test whatever the test code catches. stdin/stdout
tests compare on the host. A compiled ``main`` with asserts passes only by writing back a token it
was handed at start, after the test ``main`` returned, so exiting early is a failure.

Results go to the host as one ``repr`` line per record.
"""

import builtins
import marshal
import os
import resource
import select
import signal
import socket
import struct
import sys
import time

_SELF_DIR = os.path.dirname(os.path.abspath(__file__))


def harden_import_path():
    """Keep only import folders the program cannot write (or replace): never ``''`` or the work
    dir, so a ``hashlib.py`` the program drops next to us is never imported by the judge."""
    kept = []
    for entry in sys.path:
        if not entry or os.path.abspath(entry) == _SELF_DIR:
            continue
        probe = entry if os.path.isdir(entry) else os.path.dirname(entry)
        try:
            if os.access(probe, os.W_OK) or os.access(os.path.dirname(probe), os.W_OK):
                continue
        except (OSError, ValueError):
            continue
        kept.append(entry)
    sys.path[:] = kept
    sys.path_importer_cache.clear()
    sys.dont_write_bytecode = True


def make_undumpable():
    """PR_SET_DUMPABLE=0: processes of the same uid cannot ptrace this one or open its
    ``/proc/PID/mem`` and ``/proc/PID/fd`` (so neither its memory nor its pipe to the host)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
    except Exception:
        pass


# -- plain data on the wire -------------------------------------------------------------------

class WireError(Exception):
    """Bytes that are not a well-formed, bounded plain value."""


#: Containers nested deeper than this are refused (both ways).
MAX_DEPTH = 64
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_C128 = struct.Struct("<dd")


def wire_encode(value):
    """Plain data -> bytes: None, bool, int, float, complex, str, bytes, bytearray, range, list,
    tuple, set, frozenset, dict. Subclasses travel as their built-in base (a named tuple as a
    tuple, an IntEnum as an int); anything else raises TypeError."""
    out = bytearray()
    _encode(value, out, 0)
    return bytes(out)


def _encode(v, out, depth):
    if depth > MAX_DEPTH:
        raise ValueError("nested deeper than %d" % MAX_DEPTH)
    if v is None:
        out += b"N"
    elif v is True:
        out += b"T"
    elif v is False:
        out += b"F"
    elif isinstance(v, int):
        n = int.__index__(v)
        raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
        out += b"i" + _U32.pack(len(raw)) + raw
    elif isinstance(v, float):
        out += b"f" + _F64.pack(float.__float__(v))
    elif isinstance(v, complex):
        out += b"c" + _C128.pack(complex.real.__get__(v), complex.imag.__get__(v))
    elif isinstance(v, str):
        raw = str.encode(v, "utf-8", "surrogatepass")
        out += b"s" + _U32.pack(len(raw)) + raw
    elif isinstance(v, (bytes, bytearray)):
        raw = bytes(v) if type(v) in (bytes, bytearray) else b"".join([v])
        out += (b"b" if isinstance(v, bytes) else b"B") + _U32.pack(len(raw)) + raw
    elif isinstance(v, range):
        out += b"r"
        for part in (v.start, v.stop, v.step):
            _encode(part, out, depth + 1)
    elif isinstance(v, dict):
        items = list(dict.items(v))
        out += b"d" + _U32.pack(len(items))
        for key, item in items:
            _encode(key, out, depth + 1)
            _encode(item, out, depth + 1)
    else:
        for base, tag, iterate in _SEQUENCES:
            if isinstance(v, base):
                items = list(iterate(v))
                out += tag + _U32.pack(len(items))
                for item in items:
                    _encode(item, out, depth + 1)
                return
        raise TypeError("a %s is not plain data" % type(v).__name__)


_SEQUENCES = ((list, b"l", list.__iter__), (tuple, b"t", tuple.__iter__), (frozenset, b"z", frozenset.__iter__),
              (set, b"S", set.__iter__))
_CONTAINERS = {b"l": list, b"t": tuple, b"S": set, b"z": frozenset}


def wire_decode(data):
    """bytes -> a value made only of exact built-in types (the inverse of :func:`wire_encode`).

    Safe on hostile input: no code runs, nothing but built-in types is built, every length is
    checked against the bytes actually present, and nesting stops at :data:`MAX_DEPTH`.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise WireError("not bytes")
    try:
        value, end = _decode(bytes(data), 0, 0)
    except (IndexError, struct.error, UnicodeDecodeError, TypeError, OverflowError, RecursionError,
            MemoryError) as exc:
        raise WireError("malformed plain data: %s" % type(exc).__name__)
    if end != len(data):
        raise WireError("trailing bytes after the value")
    return value


def _length(data, pos):
    n = _U32.unpack_from(data, pos)[0]
    if n > len(data) - pos - 4:
        raise WireError("a length runs past the end of the data")
    return n, pos + 4


def _decode(data, pos, depth):
    if depth > MAX_DEPTH:
        raise WireError("nested deeper than %d" % MAX_DEPTH)
    tag = data[pos:pos + 1]
    pos += 1
    if tag == b"N":
        return None, pos
    if tag == b"T":
        return True, pos
    if tag == b"F":
        return False, pos
    if tag == b"i":
        n, pos = _length(data, pos)
        return int.from_bytes(data[pos:pos + n], "little", signed=True), pos + n
    if tag == b"f":
        return _F64.unpack_from(data, pos)[0], pos + 8
    if tag == b"c":
        real, imag = _C128.unpack_from(data, pos)
        return complex(real, imag), pos + 16
    if tag in (b"s", b"b", b"B"):
        n, pos = _length(data, pos)
        raw = data[pos:pos + n]
        value = raw.decode("utf-8", "surrogatepass") if tag == b"s" else (raw if tag == b"b" else bytearray(raw))
        return value, pos + n
    if tag == b"r":
        parts = []
        for _ in range(3):
            part, pos = _decode(data, pos, depth + 1)
            if type(part) is not int:
                raise WireError("a range of non-integers")
            parts.append(part)
        return range(*parts), pos
    if tag == b"d":
        n, pos = _length(data, pos)
        out = {}
        for _ in range(n):
            key, pos = _decode(data, pos, depth + 1)
            value, pos = _decode(data, pos, depth + 1)
            out[key] = value
        return out, pos
    if tag in _CONTAINERS:
        n, pos = _length(data, pos)
        items = []
        for _ in range(n):
            item, pos = _decode(data, pos, depth + 1)
            items.append(item)
        return _CONTAINERS[tag](items), pos
    raise WireError("unknown tag %r" % tag)


class Channel:
    """Length-prefixed plain-data messages over a stream socket, every read bounded by a deadline
    and a size cap. ``fds`` ride along with SCM_RIGHTS (judge -> zygote only)."""

    def __init__(self, sock, cap):
        self.sock = sock
        self.cap = cap
        sock.setblocking(False)

    def send(self, obj, fds=(), deadline=None):
        """Encode ``obj`` (TypeError/ValueError if it is not plain data; nothing is sent then)."""
        payload = wire_encode(obj)
        view = memoryview(_U32.pack(len(payload)) + payload)
        if fds:
            self._wait(select.POLLOUT, deadline)
            sent = socket.send_fds(self.sock, [view[:4096]], list(fds))
            view = view[sent:]
        while view:
            self._wait(select.POLLOUT, deadline)
            try:
                view = view[self.sock.send(view):]
            except BlockingIOError:
                pass

    def recv(self, deadline=None, with_fds=False):
        """One message (and the fds sent with it when ``with_fds``). Raises EOFError when the peer
        is gone, TimeoutError at ``deadline`` (a time.monotonic() value), WireError on garbage."""
        fds = []
        head = b""
        while len(head) < 4:
            self._wait(select.POLLIN, deadline)
            try:
                if with_fds and not head:
                    chunk, fds, _, _ = socket.recv_fds(self.sock, 4, 8)
                else:
                    chunk = self.sock.recv(4 - len(head))
            except BlockingIOError:
                continue
            if not chunk:
                raise EOFError("the peer closed the channel")
            head += chunk
        size = _U32.unpack(head)[0]
        if size > self.cap:
            raise WireError("a message of %d bytes (cap %d)" % (size, self.cap))
        body = bytearray()
        while len(body) < size:
            self._wait(select.POLLIN, deadline)
            try:
                chunk = self.sock.recv(min(size - len(body), 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                raise EOFError("the peer closed the channel mid-message")
            body += chunk
        value = wire_decode(body)
        return (value, fds) if with_fds else value

    def _wait(self, event, deadline):
        poller = select.poll()
        poller.register(self.sock, event)
        while True:
            if deadline is None:
                timeout = None
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no answer before the deadline")
                timeout = max(1, int(left * 1000))
            events = poller.poll(timeout)
            if events:
                if events[0][1] & (select.POLLERR | select.POLLNVAL) and not events[0][1] & event:
                    raise EOFError("the channel broke")
                return

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# -- the candidate side (zygote and per-test processes) ----------------------------------------

NO_PREIMPORT = frozenset({"this", "antigravity", "idlelib", "tkinter", "turtle", "turtledemo", "pydoc",
                          "webbrowser", "__main__", "__future__", "site", "test"})
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000


def error_text(exc):
    try:
        text = "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__
    except BaseException:  # a hostile __str__
        text = type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.lineno:
        text += " (line %s)" % exc.lineno
    return text[-500:]


def preimport(source):
    """Import the standard-library modules the program imports once, in the zygote, so that every
    forked test finds them loaded. Third-party modules are left to the program."""
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


def _own_pid_namespace():
    """Move the zygote's future children into a new user + pid namespace (where unprivileged user
    namespaces are allowed): they cannot name, signal or stop the judge, and the zygote, their
    init, cannot be killed from inside. Returns True when done."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        uid, gid = os.geteuid(), os.getegid()
        if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWPID) != 0:
            return False
        # /proc/self of a non-dumpable process belongs to root: dumpable just long enough to map
        # our own uid and gid into the namespace (so the program sees its real ids, not 65534)
        libc.prctl(4, 1, 0, 0, 0)
        try:
            for path, text in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", "%d %d 1" % (uid, uid)),
                               ("/proc/self/gid_map", "%d %d 1" % (gid, gid))):
                try:
                    with open(path, "w") as fh:
                        fh.write(text)
                except OSError:
                    pass
        finally:
            libc.prctl(4, 0, 0, 0, 0)
        return True
    except Exception:
        return False


def _drop_capabilities():
    """After unshare(CLONE_NEWUSER) the zygote holds every capability *inside* its namespace;
    the program gets none (capset to empty sets)."""
    try:
        import ctypes

        header = (ctypes.c_uint32 * 2)(0x20080522, 0)
        data = (ctypes.c_uint32 * 6)()
        ctypes.CDLL(None).capset(header, data)
    except Exception:
        pass


def zygote_main(sock):
    """Serve the judge: compile the program once, fork a fresh candidate per test. Never returns."""
    code = 0
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, sock.fileno())
        os.closerange(sock.fileno() + 1, 65536)
        namespaced = _own_pid_namespace()
        if namespaced:
            pid = os.fork()  # its first child is pid 1 of the new namespace: the real zygote
            if pid:
                sock.close()
                _, status = os.waitpid(pid, 0)
                os._exit(0)
        _drop_capabilities()
        _zygote_loop(Channel(sock, 1 << 20), namespaced)
    except BaseException:
        code = 1
    os._exit(code)


def _zygote_loop(chan, is_init):
    if is_init:
        # as pid 1, orphans of a test come to us: reap them as they die
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    program = {}
    while True:
        try:
            msg, fds = chan.recv(with_fds=True)
        except EOFError:
            return
        op = msg[0]
        if op == "load":
            program = dict(msg[1])
            chan.send(_load(program))
        elif op == "spawn":
            _spawn_and_wait(chan, program, msg[1], fds, is_init)
        elif op != "kill":  # a kill that crossed the test's end is moot
            return


def _load(program):
    """Compile the Python program (which runs none of it) and preimport its stdlib modules."""
    if program.get("language") != "python":
        return ("loaded", True, "")
    try:
        with open(program["source"], encoding="utf-8") as fh:
            source = fh.read()
        program["code"] = compile(source, program["source"], "exec", dont_inherit=True)
    except (SyntaxError, ValueError, MemoryError, RecursionError, OSError, UnicodeDecodeError) as exc:
        return ("loaded", False, error_text(exc))
    preimport(source)
    return ("loaded", True, "")


def _spawn_and_wait(chan, program, request, fds, is_init):
    """Fork one candidate for one test, tell the judge, and report its exit status when it ends."""
    pid = -1
    for attempt in range(50):  # a fork bomb's leftovers may hold every process slot for a moment
        try:
            pid = os.fork()
            break
        except OSError:
            _kill_leftovers(is_init, None, {})
            time.sleep(0.01 * (attempt + 1))
    if pid == 0:
        chan.close()
        _candidate(program, request, fds)
    for fd in fds:
        os.close(fd)
    if pid < 0:
        chan.send(("failed", "could not start the test (no process slot left)"))
        return
    chan.send(("started",))
    pidfd = None
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pass
    reaped = {}
    while pid not in reaped:
        ready = select.select([chan.sock] + ([pidfd] if pidfd is not None else []), [], [],
                              None if pidfd is not None else 0.005)[0]
        if chan.sock in ready:
            try:
                chan.recv()  # the only request while a test runs: kill it
            except (EOFError, WireError, TimeoutError):
                _kill_leftovers(is_init, pid, reaped)
                return
            _kill_leftovers(is_init, pid, reaped)
        if pid not in reaped:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                reaped[pid] = status
    if pidfd is not None:
        os.close(pidfd)
    _kill_leftovers(is_init, pid, reaped)
    chan.send(("exited", reaped[pid]))


def _kill_leftovers(is_init, pid, reaped):
    """Kill what a test left running: everything in our pid namespace (as its init), else the
    test's process group. Statuses of the children reaped meanwhile go into ``reaped``."""
    try:
        if is_init:
            os.kill(-1, signal.SIGKILL)
        elif pid:
            os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    if is_init:
        while True:
            try:
                done, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if done == 0:
                break
            reaped[done] = status


def _candidate(program, request, fds):
    """In a fresh child of the zygote: become one test's program. Never returns."""
    code = 1
    try:
        os.setpgid(0, 0)
        cpu = max(1, int(-(-request["cpu"] // 1)))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        mode = request["mode"]
        devnull = os.open(os.devnull, os.O_RDWR)
        if mode == "serve":  # stdio to /dev/null; the channel right after them
            targets = [devnull, devnull, devnull, fds[0]]
        else:  # stdin, stdout, stderr; for a C/C++ test main also the token (3) and its report (4)
            targets = list(fds)
        _install_fds(targets)
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        if mode == "exec":
            os.execv(request["argv"][0], request["argv"])
        if mode == "main":
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as in a fresh python3
            code = _run_main(program)
        else:
            code = _serve(program, Channel(socket.socket(fileno=3), 256 << 20), request)
    except BaseException:
        code = 127
    os._exit(code)


def _install_fds(targets):
    """Make fd i a copy of ``targets[i]`` and close every other descriptor (sources are first
    moved out of the way, so a source that already sits on a target number is not clobbered)."""
    import fcntl

    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, len(targets)) for fd in targets]
    for target, fd in enumerate(high):
        os.dup2(fd, target)  # dup2 clears close-on-exec on the copy
    os.closerange(len(targets), 65536)


def _fresh_stdio():
    import io

    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)),
                                                 encoding="utf-8", errors="replace")
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)),
                                                   encoding="utf-8", errors="replace")
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
                                                   encoding="utf-8", errors="replace", line_buffering=True)


def _program_namespace(program, name):
    sys.path.insert(0, os.getcwd())  # as `python3 solution.py` would have it
    sys.argv = [program["source"]]
    return {"__name__": name, "__file__": program["source"], "__builtins__": builtins}


def _run_main(program):
    """stdin/stdout test: the program as ``__main__``; the exit status as python3 would give it."""
    _fresh_stdio()
    code = 0
    try:
        exec(program["code"], _program_namespace(program, "__main__"))
        join_threads()
    except SystemExit as exc:
        join_threads()
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:
        code = 1
        try:
            os.write(2, ("\n" + error_text(exc) + "\n").encode("utf-8", "replace"))
        except BaseException:
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            code = code or 1
    return code & 0xFF


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


def _describe(ns, wanted):
    """What each name the tests use is in the program: a function (proxied), a module (imported
    again by the judge if it is stdlib), or a plain value (copied)."""
    out = {}
    for name in wanted:
        if name not in ns:
            continue
        value = ns[name]
        if isinstance(value, type(sys)):
            out[name] = ("module", str(getattr(value, "__name__", "")))
        elif callable(value):
            out[name] = ("callable",)
        else:
            try:
                out[name] = ("value", wire_decode(wire_encode(value)))
            except (TypeError, ValueError, WireError, RecursionError):
                out[name] = ("opaque", type(value).__name__)
    return out


def _message(exc):
    try:
        return str(exc)[-500:]
    except BaseException:  # a hostile __str__
        return ""


def _builtin_exception(exc):
    """The closest built-in exception class of ``exc`` (by name), for the judge to raise."""
    try:
        for klass in type(exc).__mro__:
            if getattr(builtins, klass.__name__, None) is klass:
                return klass.__name__
    except BaseException:
        pass
    return "Exception"


def _reply(chan, value):
    """Send a call's result: plain data, or an iterator materialised (``list(f(x))`` works), or
    the name of a type that cannot cross."""
    try:
        chan.send(("ok", value))
        return
    except (TypeError, ValueError, RecursionError):
        pass
    if hasattr(type(value), "__next__") and hasattr(type(value), "__iter__"):
        try:
            chan.send(("iter", list(value)))
            return
        except (TypeError, ValueError, RecursionError):
            pass
    try:
        truth, text = bool(value), repr(value)[:200]
    except BaseException as exc:
        chan.send(("fault", "the result's __bool__ or __repr__ raised " + error_text(exc)))
        return
    chan.send(("opaque", type(value).__name__, truth, text if type(text) is str else ""))


def _serve(program, chan, request):
    """A test that calls the program: run the module, then answer the judge's calls."""
    _fresh_stdio()
    ns = _program_namespace(program, "solution")
    try:
        exec(program["code"], ns)
        sys.stdout.flush()
    except SystemExit as exc:
        chan.send(("load_error", "the program called exit(%r)" % (exc.code,)))
        return 1
    except BaseException as exc:
        chan.send(("load_error", "the program raised " + error_text(exc)))
        return 1
    chan.send(("ready", _describe(ns, request.get("wanted", ()))))
    while True:
        try:
            msg = chan.recv()
        except (EOFError, WireError):
            return 0
        op, name, args, kwargs = msg
        target = ns.get(name)
        if op == "call_solution" and isinstance(ns.get("Solution"), type) and hasattr(ns["Solution"], name):
            try:
                target = getattr(ns["Solution"](), name)
            except BaseException as exc:
                chan.send(("raise", _builtin_exception(exc), _message(exc)))
                continue
        if not callable(target):
            chan.send(("raise", "NameError", "the program defines no function %r" % name))
            continue
        try:
            value = target(*args, **kwargs)
        except SystemExit as exc:
            chan.send(("fault", "the program called exit(%r) during the test" % (exc.code,)))
            return 1
        except BaseException as exc:
            chan.send(("raise", _builtin_exception(exc), _message(exc)))
            continue
        _reply(chan, value)


# -- the judge ---------------------------------------------------------------------------------

RESULT_FD = -1
#: Bytes one call's result may take on the wire in an assert test (a call-based test's result is
#: capped by the size of the expected output instead).
ASSERT_VALUE_CAP = 16 << 20


def emit(obj):
    """One result line to the host: the record as a Python literal (the host literal_evals it)."""
    line = repr(obj).encode("utf-8", "backslashreplace") + b"\n"
    view = memoryview(line)
    while view:
        view = view[os.write(RESULT_FD, view):]


def canon_tokens(text):
    return " ".join(text.split())


def plain(value):
    """A returned value as JSON-like data for the host's comparison (tuples become lists, dict keys
    strings); anything exotic becomes a marker that equals nothing."""
    if value is None or type(value) in (bool, str, int):
        return value
    if type(value) is float:
        return value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if type(value) in (list, tuple):
        return [plain(v) for v in value]
    if type(value) is dict:
        return {str(plain(k)): plain(v) for k, v in value.items()}
    return {"__repr__": repr(value)[:200]}


def canon_value(value):
    """A canonical text of a plain value (dict keys sorted), the same on host and in the sandbox."""
    if isinstance(value, dict):
        return "{" + ",".join(repr(k) + ":" + canon_value(value[k]) for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canon_value(v) for v in value) + "]"
    return repr(value)


class Fault(BaseException):
    """The candidate failed outside the rules (died, hung, exited, answered what cannot cross).
    A BaseException, and remembered by the session: a test that catches it still fails."""


class TestTimeout(BaseException):
    """The judge's own per-test deadline (SIGALRM) fired."""

    __test__ = False


class CandidateError(Exception):
    """An exception the candidate raised that is not a built-in one."""


ALARMS = []


def _on_alarm(signum, frame):
    ALARMS.append(signum)  # remembered: a test whose code swallows the exception still times out
    raise TestTimeout()


class Candidate:
    """The judge's end of one test's candidate process."""

    def __init__(self, chan, deadline):
        self.chan = chan
        self.deadline = deadline
        self.fault = None

    def request(self, msg):
        if self.fault is not None:
            raise Fault(self.fault)
        try:
            self.chan.send(msg, deadline=self.deadline)
            return self.chan.recv(self.deadline)
        except TimeoutError:
            self.fault = "timeout"
        except EOFError:
            self.fault = "the program's process died during the test"
        except WireError as exc:
            self.fault = "the program answered with malformed data (%s)" % exc
        except OSError as exc:
            self.fault = "the program's channel broke (%s)" % exc
        raise Fault(self.fault)

    def call(self, op, name, args, kwargs):
        try:
            msg = (op, name, list(args), dict(kwargs))
            wire_encode(msg)
        except (TypeError, ValueError) as exc:
            raise TypeError("only plain data crosses to the program under test: %s" % exc)
        reply = self.request(msg)
        tag = reply[0] if isinstance(reply, tuple) and reply else None
        if tag == "ok" and len(reply) == 2:
            return reply[1]
        if tag == "iter" and len(reply) == 2 and type(reply[1]) is list:
            return iter(reply[1])
        if tag == "raise" and len(reply) == 3:
            raise _exception(reply[1], reply[2])
        if tag == "opaque" and len(reply) == 4 and type(reply[2]) is bool and type(reply[3]) is str:
            return Opaque(str(reply[1]), reply[2], reply[3])
        if tag == "fault" and len(reply) == 2:
            self.fault = str(reply[1])[:300]
        else:
            self.fault = "the program answered out of protocol"
        raise Fault(self.fault)


def _exception(name, message):
    klass = getattr(builtins, name, None) if type(name) is str else None
    if not (isinstance(klass, type) and issubclass(klass, Exception)):
        return CandidateError("%s: %s" % (str(name)[:60], str(message)[:300]))
    try:
        exc = klass(str(message)[:300])
    except BaseException:
        exc = CandidateError("%s: %s" % (name, str(message)[:300]))
    return exc


class Opaque:
    """What the judge sees of a result that is not plain data (a ``re.Match``...): its truth value,
    its text, and an identity that equals nothing else. No more than a bool or a str could say."""

    __slots__ = ("type_name", "_truth", "_text")

    def __init__(self, type_name, truth, text):
        self.type_name, self._truth, self._text = type_name, truth, text

    def __bool__(self):
        return self._truth

    def __repr__(self):
        return self._text

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    __hash__ = object.__hash__


class RemoteFunction:
    """A function of the program, called across the channel with plain data."""

    __slots__ = ("_candidate", "_name", "_op")

    def __init__(self, candidate, name, op="call"):
        self._candidate, self._name, self._op = candidate, name, op

    def __call__(self, *args, **kwargs):
        return self._candidate.call(self._op, self._name, args, kwargs)

    def __repr__(self):
        return "<program function %s>" % self._name


class Unavailable:
    """A name the program defines but that cannot cross (an object, a non-stdlib module): any use
    is a fault."""

    __slots__ = ("_candidate", "_why")

    def __init__(self, candidate, why):
        self._candidate, self._why = candidate, why

    def _fail(self, *args, **kwargs):
        self._candidate.fault = self._why
        raise Fault(self._why)

    __call__ = __getattr__ = __eq__ = __ne__ = __bool__ = __iter__ = __len__ = __getitem__ = _fail
    __hash__ = None


class Judge:
    """Runs the tests of one sample against the candidate processes the zygote makes."""

    def __init__(self, spec, zygote):
        self.spec = spec
        self.zygote = zygote
        self.lost = None  # why the zygote can no longer be trusted to answer (then every test fails)
        self.base_ns = {"__name__": "__test__", "__builtins__": builtins}
        self.wanted = ()
        self.compiled = {}
        self.hashes_fn = None

    # -- set-up -------------------------------------------------------------------------------
    def prepare_python(self):
        """Trusted code first: the prompt's helpers (HumanEval's ``poly``...), then which names of
        the program the tests use."""
        spec = self.spec
        if spec.get("prelude"):
            try:
                exec(compile(spec["prelude"], "prompt", "exec", dont_inherit=True), self.base_ns)
            except BaseException:
                pass  # a prompt that does not run on its own just defines nothing
        if spec["kind"] != "assert":
            return ""
        try:
            self.compiled["setup"] = compile(spec["setup"], "test_setup", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            return "the row's test set-up does not compile: " + error_text(exc)
        import ast

        names = set()
        for text in [spec["setup"]] + list(spec["tests"]):
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError):
                continue
            names.update(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
        entry = spec.get("entry_point")
        self.wanted = sorted(n for n in names if n == entry or n not in self.base_ns)
        if entry and entry not in self.wanted:
            self.wanted.append(entry)
        return ""

    # -- the zygote -----------------------------------------------------------------------------
    def spawn(self, request, fds, deadline):
        """Ask the zygote for a fresh candidate; True when it started."""
        if self.lost:
            return False
        try:
            self.zygote.send(("spawn", request), fds)
            reply = self.zygote.recv(deadline)
        except (EOFError, TimeoutError, WireError, OSError) as exc:
            self.lost = "the test process spawner stopped answering (%s)" % type(exc).__name__
            return False
        if reply[:1] != ("started",):
            self.lost = str(reply[1]) if len(reply) > 1 else "could not start the test"
            return False
        return True

    def finish(self, kill, grace=2.0):
        """Wait for the zygote's report that the test's process ended (killing it if asked or if
        it lingers). Returns its wait status, or None when the zygote is lost."""
        if self.lost:
            return None
        if kill:
            self._kill()
        for attempt in range(2):
            try:
                reply = self.zygote.recv(time.monotonic() + grace)
            except TimeoutError:
                if attempt == 0:
                    self._kill()
                    continue
                self.lost = "the test process spawner stopped answering"
                return None
            except (EOFError, WireError, OSError):
                self.lost = "the test process spawner died"
                return None
            if reply[:1] == ("exited",) and len(reply) == 2 and type(reply[1]) is int:
                return reply[1]
            self.lost = "the test process spawner answered out of protocol"
            return None
        return None

    def _kill(self):
        try:
            self.zygote.send(("kill", None, None, None))
        except OSError:
            self.lost = "the test process spawner is gone"

    # -- Python tests ----------------------------------------------------------------------------
    def run_python_call(self, index, wall):
        """An assert test (HumanEval, MBPP) or a call-based test (APPS ``fn_name``), judged here."""
        spec = self.spec
        deadline = time.monotonic() + wall
        record = {"i": index}
        ours, theirs = socket.socketpair()
        started = self.spawn({"mode": "serve", "cpu": spec["per_test"], "wanted": self.wanted},
                             [theirs.fileno()], deadline)
        theirs.close()
        if not started:
            ours.close()
            record.update(status="error", error=self.lost or "could not start the test")
            return record, None
        cap = spec["output_cap"] + (1 << 16) if spec["kind"] == "call" else ASSERT_VALUE_CAP
        candidate = Candidate(Channel(ours, cap), deadline)
        out = None
        try:
            hello = candidate.chan.recv(deadline)
            if hello[0] == "load_error":
                record.update(status="error", error=str(hello[1])[:500])
            elif spec["kind"] == "call":
                value = candidate.call("call_solution", spec["fn_name"], spec["tests"][index], {})
                out = plain(value)
                record.update(status="done", out=out)
            else:
                self._run_assert(index, candidate, hello[1], record, deadline)
        except TimeoutError:
            record.update(status="timeout", error="time limit exceeded")
        except Fault as exc:
            record.update(status="timeout" if str(exc) == "timeout" else "error", error=str(exc))
        except (EOFError, WireError, OSError, IndexError, TypeError) as exc:
            record.update(status="error", error="the program's process failed: %s" % type(exc).__name__)
        except BaseException as exc:
            record.update(status="error", error=error_text(exc))
        if candidate.fault is not None and record.get("status") in ("pass", "done"):
            record.update(status="error", error=candidate.fault)
            record.pop("out", None)
        candidate.chan.close()
        status = self.finish(kill=record.get("status") == "timeout")
        if record.get("status") == "timeout" or _cpu_killed(status):
            record.update(status="timeout", error="time limit exceeded")
            record.pop("out", None)
        return record, out

    def _run_assert(self, index, candidate, names, record, deadline):
        ns = dict(self.base_ns)
        for name, desc in (names.items() if type(names) is dict else ()):
            if type(name) is not str or type(desc) is not tuple or not desc:
                continue
            if desc[0] == "callable":
                ns[name] = RemoteFunction(candidate, name)
            elif desc[0] == "value" and len(desc) == 2:
                ns[name] = desc[1]
            elif desc[0] == "module" and len(desc) == 2 and desc[1] in getattr(sys, "stdlib_module_names", ()):
                ns[name] = sys.modules.get(desc[1]) or __import__(desc[1])
            else:
                ns[name] = Unavailable(candidate, "the tests use %r, which the program defines as something that "
                                                  "cannot cross to the judge" % name)
        for name in _shadowed_builtins(names, self.spec.get("entry_point")):
            del ns[name]
        entry = self.spec.get("entry_point")
        if entry and (entry not in ns or ns[entry] is self.base_ns.get(entry)):
            ns[entry] = RemoteFunction(candidate, entry)  # never the prompt's stub
        if entry:  # the prompt's own helpers look the entry point up in their globals: this test's
            self.base_ns[entry] = ns[entry]
        test = compile(self.spec["tests"][index], "test_%d" % index, "exec", dont_inherit=True)
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError()
        del ALARMS[:]
        signal.setitimer(signal.ITIMER_REAL, left)
        try:
            exec(self.compiled["setup"], ns)
            exec(test, ns)
            if ALARMS:
                raise TestTimeout()
        except AssertionError as exc:
            signal.setitimer(signal.ITIMER_REAL, 0)
            record.update(status="fail", error=error_text(exc))
            return
        except TestTimeout:
            raise TimeoutError()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        record.update(status="pass")

    def run_python_stdio(self, index, wall):
        spec = self.spec
        deadline = time.monotonic() + wall
        stdin_fd = _input_fd(spec["tests"][index])
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        fds = [stdin_fd, out_w, err_w]
        started = self.spawn({"mode": "main", "cpu": spec["per_test"]}, fds, deadline)
        for fd in fds:
            os.close(fd)
        return self._collect(index, started, [out_r, err_r], None, deadline)

    # -- compiled programs ---------------------------------------------------------------------------
    def run_exec(self, index, wall):
        spec = self.spec
        deadline = time.monotonic() + wall
        stdin_fd = _input_fd(spec["tests"][index] if spec["kind"] == "stdio" else "")
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        fds = [stdin_fd, out_w, err_w]
        token = None
        report_r = None
        if spec["kind"] == "program":
            token = os.urandom(24).hex().encode()
            token_r, token_w = os.pipe()
            os.write(token_w, token)
            os.close(token_w)
            report_r, report_w = os.pipe()
            fds += [token_r, report_w]
        argv = list(spec["run"])
        argv[0] = os.path.abspath(argv[0])
        started = self.spawn({"mode": "exec", "cpu": spec["per_test"], "argv": argv}, fds, deadline)
        for fd in fds:
            os.close(fd)
        return self._collect(index, started, [out_r, err_r] + ([report_r] if report_r is not None else []),
                             token, deadline)

    def _collect(self, index, started, read_fds, token, deadline):
        """Read a test process's stdout, stderr (and token report) to EOF, then its exit status."""
        record = {"i": index}
        if not started:
            for fd in read_fds:
                os.close(fd)
            record.update(status="error", error=self.lost or "could not start the test")
            return record, None
        cap = self.spec["output_cap"]
        bufs = {fd: bytearray() for fd in read_fds}
        open_fds = list(read_fds)
        timed_out = False
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready = select.select(open_fds, [], [], left)[0]
            for fd in ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    open_fds.remove(fd)
                elif len(bufs[fd]) <= cap:
                    bufs[fd] += chunk[: cap + 1 - len(bufs[fd])]
        for fd in read_fds:
            os.close(fd)
        status = self.finish(kill=timed_out)
        if timed_out or _cpu_killed(status):
            record.update(status="timeout", error="time limit exceeded")
            return record, None
        if status is None:
            record.update(status="error", error=self.lost or "the test process vanished")
            return record, None
        out = bytes(bufs[read_fds[0]]).decode("utf-8", "replace")
        code = os.waitstatus_to_exitcode(status)
        why = "exit code %s" % code if code >= 0 else "signal %s" % -code
        last = [line for line in bytes(bufs[read_fds[1]]).decode("utf-8", "replace").splitlines() if line.strip()]
        if code != 0 and last:
            why = "%s (%s)" % (last[-1].strip()[-300:], why)
        if token is not None:
            if code == 0 and bytes(bufs[read_fds[2]]) == token:
                record.update(status="pass")
            elif code == 0:
                record.update(status="fail", error="the test main did not run to its end (exited early)")
            else:
                record.update(status="fail", error=why)
            return record, None
        if code == 0:
            record.update(status="done", out=out)
        else:
            record.update(status="error", out=out, error=why)
        return record, out

    # -- early exit -----------------------------------------------------------------------------
    def definitely_failed(self, index, record, out):
        status = record["status"]
        if status in ("fail", "error", "timeout"):
            return True
        if status == "pass" or not self.spec.get("hashes"):
            return False
        hashes, tolerant = self.spec["hashes"][index], self.spec["tolerant"][index]
        if tolerant:
            return False
        text = canon_tokens(out) if self.spec["kind"] == "stdio" else canon_value(out)
        return self.hashes_fn(self.spec["salt"] + text.encode("utf-8", "replace")).hexdigest() not in hashes


def _shadowed_builtins(names, entry):
    """The builtins the program redefined that the tests keep using as builtins.

    A program may not replace what the tests compare with (``sorted = lambda *a: 0`` would make
    ``sorted(f(x)) == sorted(want)`` hold). Only when the function under test is itself named like
    a builtin (MBPP's ``sum``: the row's entry point, or the only kind of program name the tests
    use) do calls go to the program's."""
    if type(names) is not dict:
        return []
    shadowing = [n for n in names if type(n) is str and hasattr(builtins, n)]
    if not shadowing or (entry and entry in shadowing):
        return [n for n in shadowing if n != entry] if entry else []
    if any(not hasattr(builtins, n) for n in names if type(n) is str):
        return shadowing
    return []


def _cpu_killed(status):
    return (status is not None and os.WIFSIGNALED(status)
            and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL))


def _input_fd(text):
    """A descriptor on a private, already unlinked file holding a test's stdin."""
    path = "stdin.%d.%s" % (os.getpid(), os.urandom(4).hex())
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.unlink(path)
    data = memoryview(text.encode("utf-8"))
    while data:
        data = data[os.write(fd, data):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def compile_native(spec):
    """g++/gcc for C/C++ (before any program code runs). Returns (ok, error)."""
    import subprocess

    try:
        proc = subprocess.run(spec["compile"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=spec["compile_timeout"])
    except subprocess.TimeoutExpired:
        return False, "compilation timed out after %ss" % spec["compile_timeout"]
    except OSError as exc:
        return False, "could not run the compiler %r: %s" % (spec["compile"][0], exc)
    if proc.returncode != 0:
        return False, proc.stdout.decode("utf-8", "replace")[-1500:]
    return True, ""


def _read_job():
    chunks = []
    while True:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    return marshal.loads(b"".join(chunks))


def main():
    global RESULT_FD
    started = time.monotonic()
    harden_import_path()
    make_undumpable()
    # The zygote is forked before the job is read: it never holds the tests or the hashes.
    ours, theirs = socket.socketpair()
    if os.fork() == 0:
        ours.close()
        zygote_main(theirs)
    theirs.close()
    zygote = Channel(ours, 1 << 20)
    spec = _read_job()
    RESULT_FD = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)  # trusted test code that prints cannot garble the result stream
    signal.signal(signal.SIGALRM, _on_alarm)
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)  # a program that signals us changes nothing (SIGKILL aside)
    judge = Judge(spec, zygote)
    if spec.get("hashes"):
        import hashlib

        judge.hashes_fn = hashlib.sha256
    python = spec["language"] == "python"
    if python:
        error = judge.prepare_python()
        if error:
            emit({"event": "compile", "ok": False, "error": error, "time": 0.0})
            return
        zygote.send(("load", {"language": "python", "source": spec["source"]}))
        try:
            reply = zygote.recv(time.monotonic() + 60)
            ok, error = bool(reply[1]), str(reply[2])
        except (EOFError, TimeoutError, WireError, IndexError, TypeError):
            ok, error = False, "the program could not be loaded"
    elif spec.get("compile"):
        ok, error = compile_native(spec)
    else:
        ok, error = True, ""
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
        if not python:
            record, out = judge.run_exec(index, wall)
        elif spec["kind"] == "stdio":
            record, out = judge.run_python_stdio(index, wall)
        else:
            record, out = judge.run_python_call(index, wall)
        record["time"] = round(time.monotonic() - t0, 4)
        if isinstance(record.get("out"), str) and len(record["out"]) > spec["output_cap"]:
            record["out"] = record["out"][: spec["output_cap"] + 1]
        emit(record)
        if judge.lost:
            emit({"event": "spawner_lost", "next": index + 1, "why": judge.lost})
            return
        if spec["early_exit"] and judge.definitely_failed(index, record, out):
            emit({"event": "early_exit", "next": index + 1})
            return
    emit({"event": "done"})


if __name__ == "__main__":
    main()
