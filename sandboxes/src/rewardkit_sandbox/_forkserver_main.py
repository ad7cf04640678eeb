"""The per-slot helper behind the process, forkserver and bubblewrap backends (a script, stdlib only).

It starts once per worker slot, imports the stdlib modules test code usually needs, then serves
requests on a Unix socket: each request brings three pipe fds (stdin, stdout, stderr) and a JSON
header. The server forks; the child drops to the slot uid, applies rlimits, starts a new session,
enters the work dir with a scrubbed environment and runs the Python source in-process with
``__name__ == "__main__"`` (forkserver) or execs the command (process, bubblewrap). The server
reports the child's pid at
once and its exit status and CPU time when it ends, then kills whatever the uid left running.

Protocol on a stream socket: a 16-byte ASCII length carrying the three fds, then that many bytes of
JSON request; replies are JSON lines: {"pid": n} at once, {"status": s, "cpu": t} at the end.
"""

import ctypes
import io
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import traceback

#: Imported once by a warm helper (``--warm``) so every forked child has them for free: what
#: coding benchmarks use. Exec-only helpers stay lean, which keeps their fork() cheap.
WARM_MODULES = ("array", "bisect", "collections", "copy", "dataclasses", "datetime", "decimal", "fractions",
                "functools", "hashlib", "heapq", "itertools", "math", "operator", "random", "re",
                "statistics", "string", "typing", "unittest", "unittest.mock")

_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_DUMPABLE = 4
_RLIMITS = {"cpu": resource.RLIMIT_CPU, "as": resource.RLIMIT_AS, "fsize": resource.RLIMIT_FSIZE,
            "nofile": resource.RLIMIT_NOFILE, "nproc": resource.RLIMIT_NPROC, "core": resource.RLIMIT_CORE}


def _child(req, fds):
    """In the forked child: become the sandboxed program. Never returns."""
    code = 1
    try:
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 65536)
        uid, gid = req["uid"], req["gid"]
        _join_cgroup(req.get("cgroup"))
        # Exec'ing a setuid binary (su, passwd...) must not gain privileges.
        if _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if uid is not None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        for name, value in req["rlimits"].items():
            hard = value + 1 if name == "cpu" else value
            resource.setrlimit(_RLIMITS[name], (value, hard))
        os.umask(0o077)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        argv = req["argv"]
        python = req.get("python")
        if python is None:
            try:
                os.execvpe(argv[0], argv, req["env"])
            except OSError as exc:  # report like a shell would: 127 not found, 126 not executable
                os.write(2, ("%s: %s\n" % (argv[0], exc.strerror)).encode())
                os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                      errors="backslashreplace", write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                      errors="backslashreplace", write_through=True)
        filename, source = python["filename"], python.get("source")
        if source is None:
            with open(filename, "rb") as fh:  # read as the slot uid, from the work dir
                source = fh.read()
        sys.argv, sys.path[0] = python["argv"], python["path0"]
        sys.dont_write_bytecode = "PYTHONDONTWRITEBYTECODE" in os.environ  # as a fresh python3 would
        main = {"__name__": "__main__", "__file__": filename, "__builtins__": __builtins__}
        sys.modules["__main__"] = type(sys)("__main__")
        sys.modules["__main__"].__dict__.update(main)
        try:
            exec(compile(source, filename, "exec"), sys.modules["__main__"].__dict__)
            code = 0
        except SystemExit as exc:
            if exc.code is None:
                code = 0
            elif isinstance(exc.code, int):
                code = exc.code & 0xFF
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
    except BaseException:
        try:
            os.write(2, traceback.format_exc().encode())
        except OSError:
            pass
        code = 127
    os._exit(code)


def _spawn(req, fds):
    """Start an exec'd run with subprocess: its fork/exec path runs in C (few copy-on-write faults
    in this process's memory), setting the uid, session, cwd and fds; only the rlimits and
    no_new_privs are set from Python, after the uid switch. Returns the pid, or a fake failed pid."""
    rlimits = [(_RLIMITS[name], value, value + 1 if name == "cpu" else value)
               for name, value in req["rlimits"].items()]
    uid, gid, cgroup = req["uid"], req["gid"], req.get("cgroup")

    def limit():
        _join_cgroup(cgroup)  # as root, before anything of the run can fork
        if uid is not None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        if _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        for res, soft, hard in rlimits:
            resource.setrlimit(res, (soft, hard))
        os.umask(0o077)

    argv = req["argv"]
    try:
        proc = subprocess.Popen(argv, stdin=fds[0], stdout=fds[1], stderr=fds[2], cwd=req["cwd"],
                                env=req["env"], start_new_session=True, close_fds=True, preexec_fn=limit,
                                restore_signals=True)
    except OSError as exc:  # report like a shell would: 127 not found, 126 not executable
        os.write(fds[2], ("%s: %s\n" % (argv[0], exc.strerror)).encode())
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        return _exited(code)
    except subprocess.SubprocessError as exc:
        os.write(fds[2], ("sandbox set-up failed: %s\n" % exc).encode())
        return _exited(126)
    proc.returncode = 0  # we reap it ourselves with wait4 (and keep Popen from trying)
    return proc.pid


def _join_cgroup(files):
    """Move the calling process into the slot's cgroup(s): its memory, task and CPU bounds then
    cover everything it forks."""
    pid = str(os.getpid()).encode()
    for path in files or ():
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)


_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWNET = 0x40000000
_MS_BIND, _MS_REC, _MS_PRIVATE, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x1000, 0x4000, 0x40000, 0x2, 0x4, 0x8


def _mount(source, target, fstype, flags, data=None):
    if _LIBC.mount(source.encode() if source else None, target.encode(), fstype.encode() if fstype else None,
                   flags, data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "mount %s on %s: %s" % (fstype or source, target, os.strerror(err)))


def _private_filesystem(scratch, covered):
    """A mount namespace of our own (root helpers of the process/forkserver backends): every
    world-writable folder of the host (``covered``) shows the slot's ``scratch`` dir instead (on the
    slot's size-limited tmpfs, emptied after each run), and /proc hides other users' processes."""
    if _LIBC.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    for target in covered:
        if os.path.isdir(target) and not os.path.islink(target):
            _mount(scratch, target, None, _MS_BIND)
    for option in ("hidepid=invisible", "hidepid=2"):
        try:
            _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, option)
            break
        except OSError:
            continue


def _enter(argv):
    """``--enter UID GID CGROUP_FILE... -- COMMAND...``: join the cgroup(s) as root, drop to the
    uid, exec the command (how the host starts a warm bwrap inside the slot's cgroup)."""
    split = argv.index("--")
    uid, gid, files, command = int(argv[0]), int(argv[1]), argv[2:split], argv[split + 1:]
    _join_cgroup(files)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    os.execvp(command[0], command)


def _exited(code):
    """A child that exits at once with ``code``, so failures take the normal reporting path."""
    pid = os.fork()
    if pid == 0:
        os._exit(code)
    return pid


def _kill_uid(uid):
    """SIGKILL everything running as ``uid`` (setsid'd children escape a process-group kill).

    ``kill(-1)`` sent with real and effective uid ``uid`` reaches exactly that uid's processes,
    atomically with respect to fork. The helper borrows the uid for the one call (saved uid stays 0
    so it can switch back), which avoids forking a sweeper per run.
    """
    os.setresuid(uid, uid, 0)
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass  # nothing was left: the common case
    finally:
        os.setresuid(0, 0, 0)


def _reap_orphans():
    """Collect the run's orphans (reparented to us: we are a child subreaper) once they died.

    Without this they would linger as zombies under the host's init, and zombies still count
    against the slot uid's RLIMIT_NPROC (bwrap's pid-namespace init is one, every run).
    """
    deadline = time.monotonic() + 1.0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no children left: the common case, at once
        if pid == 0:
            if time.monotonic() > deadline:
                return  # something unkillable (D state): collect it after a later run
            time.sleep(0.001)


def _empty(path):
    """Delete everything in ``path`` (making chmod-000 directories writable again first)."""
    import shutil

    def fix(func, failed, _exc):
        try:
            os.chmod(os.path.dirname(failed), 0o700)
            if os.path.isdir(failed) and not os.path.islink(failed):
                os.chmod(failed, 0o700)
                shutil.rmtree(failed, ignore_errors=True)
            else:
                func(failed)
        except OSError:
            pass

    try:
        entries = os.listdir(path)
    except OSError:
        return
    for name in entries:
        full = os.path.join(path, name)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full, onerror=fix)
        else:
            try:
                os.unlink(full)
            except OSError:
                pass


def _remove_sysv_ipc(uid):
    """SysV shared memory, semaphores and message queues outlive processes: remove any left.
    ``ipcrm`` runs as the run's uid (their owner): a container's root lacks CAP_IPC_OWNER."""
    for kind in ("shm", "sem", "msg"):
        try:
            with open("/proc/sysvipc/" + kind) as fh:
                if len(fh.read().splitlines()) > 1:
                    ids = {} if uid is None else {"user": uid, "group": uid, "extra_groups": []}
                    subprocess.run(["ipcrm", "--all=" + kind], capture_output=True, **ids)
        except OSError:
            pass


def _recv_exact(sock, n):
    chunks = []
    while n > 0:
        chunk = sock.recv(n)
        if not chunk:
            raise EOFError("client went away")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def main():
    if sys.argv[1] == "--enter":
        _enter(sys.argv[2:])
    if sys.argv[1] == "--listen":
        # In a container: serve the one client that connects to this socket path (the host, through
        # a bind mount), then remove the path so nothing else can connect.
        path, flags = sys.argv[2], sys.argv[3:]
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        listener.bind(path)
        os.umask(old_umask)
        listener.listen(1)
        sock, _ = listener.accept()
        listener.close()
        os.unlink(path)
    else:
        sock = socket.socket(fileno=int(sys.argv[1]))
        flags = sys.argv[2:]
    if "--warm" in flags:
        for name in WARM_MODULES:
            __import__(name)
    if "--netns" in flags:
        # One empty network namespace for the helper and every run it forks: created once, so runs
        # pay nothing for it. (The socket to the client was connected before and keeps working.)
        if _LIBC.unshare(_CLONE_NEWNET | _CLONE_NEWIPC) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET | CLONE_NEWIPC) failed")
    if "--private-tmp" in flags:
        _private_filesystem(flags[flags.index("--private-tmp") + 1],
                            flags[flags.index("--cover") + 1].split(","))
    # --ipc-per-run (root helpers): a fresh IPC namespace before every run, so SysV objects and
    # POSIX message queues never outlive the run that made them (one unshare, no clean-up to do).
    ipc_per_run = "--ipc-per-run" in flags
    _LIBC.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # --same-uid: inside a long-lived bwrap, runs share our uid. Non-dumpable: they cannot ptrace us
    # or read our memory; the sweep after each run is a plain kill(-1), and --scratch dirs (the
    # private /tmp, /dev/shm) are emptied. SysV IPC objects, which outlive processes, are removed
    # after each run when the IPC namespace is the runs' own (per helper, bwrap's or the container's).
    same_uid = "--same-uid" in flags
    if same_uid:
        _LIBC.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    # Only in an IPC namespace of the runs' own (never the host's) may everything in it be removed.
    private_ipc = "--netns" in flags or "--private-ipc" in flags
    scratch_dirs = []
    if "--scratch" in flags:
        scratch_dirs = flags[flags.index("--scratch") + 1].split(",")
    sock.sendall(b"ready\n")
    while True:
        head, fds, _, _ = socket.recv_fds(sock, 16, 3)
        if not head:
            return
        head += _recv_exact(sock, 16 - len(head))
        req = json.loads(_recv_exact(sock, int(head)))
        if ipc_per_run and _LIBC.unshare(_CLONE_NEWIPC) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWIPC) failed")
        if req.get("python") is None:
            pid = _spawn(req, fds)  # exec: C-level fork/exec, only rlimits run as Python in the child
        else:
            pid = os.fork()
            if pid == 0:
                sock.close()
                _child(req, fds)
        for fd in fds:
            os.close(fd)
        sock.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        _, status, usage = os.wait4(pid, 0)
        if req["uid"] is not None:
            _kill_uid(req["uid"])  # children that called setsid outlive the process group
        elif same_uid:
            try:
                os.kill(-1, signal.SIGKILL)  # everything we may signal in our pid namespace but us
            except ProcessLookupError:
                pass
        _reap_orphans()
        for scratch in scratch_dirs:
            _empty(scratch)
        if private_ipc and not ipc_per_run:
            _remove_sysv_ipc(req["uid"])
        sock.sendall(json.dumps({"status": status, "cpu": usage.ru_utime + usage.ru_stime}).encode() + b"\n")


if __name__ == "__main__":
    main()
