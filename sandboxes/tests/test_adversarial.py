"""Runs that attack the sandbox itself, on every backend: aggregate resource bounds, state left for
a later run, sabotage of the sandbox's helper, peeking at the host's processes and sockets.

Each asserts on the host that the attack failed: the total stayed under the limit, the next run
found nothing, the batch finished with every other run intact and the attacker's result marked as
its own failure (never an infrastructure error).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from rewardkit_sandbox import Limits, RunRequest
from rewardkit_sandbox.slots import CGROUP_HEADROOM_MB

TEST_LIMITS = Limits(cpu_seconds=5, wall_seconds=10, memory_mb=512, file_size_mb=16, open_files=64,
                     processes=32, output_bytes=200_000)

#: docker adds its own headroom to the container's memory cgroup (see docker_backend).
DOCKER_HEADROOM_MB = 256


def _headroom(sandbox) -> int:
    return DOCKER_HEADROOM_MB if sandbox.name == "docker" else CGROUP_HEADROOM_MB


def test_memory_is_bounded_in_total_not_only_per_process(sandbox):
    # 8 children x 120 MB each: every one is under RLIMIT_AS (512 MB), together they are not.
    code = """
import os, time
done = []
for i in range(8):
    pid = os.fork()
    if pid == 0:
        try:
            b = bytearray(120 * 1024 * 1024)
            for j in range(0, len(b), 4096):
                b[j] = 1
            time.sleep(1.5)
            os._exit(0)
        except MemoryError:
            os._exit(3)
    done.append(pid)
print(sum(os.waitpid(p, 0)[1] == 0 for p in done))
"""
    res = sandbox.run(["python3", "-c", code], limits=TEST_LIMITS.with_(memory_mb=400, wall_seconds=20))
    held = int(res.stdout.strip() or 0)
    assert 0 < held * 120 <= 400 + _headroom(sandbox), (held, res.stderr[-300:])


def test_disk_is_bounded_in_total_not_only_per_file(sandbox):
    # each file under file_size_mb, many of them in every writable place
    code = """
import os
written = 0
for place in (".", "/tmp", "/dev/shm", "/var/tmp"):
    for i in range(40):
        try:
            with open(os.path.join(place, "fill%d" % i), "wb") as f:
                f.write(b"x" * (8 << 20))
            written += 8
        except OSError:
            break
print(written)
"""
    res = sandbox.run(["python3", "-c", code], limits=TEST_LIMITS.with_(disk_mb=48, file_size_mb=16,
                                                                          wall_seconds=30))
    written = int(res.stdout.strip() or 0)
    # docker: /work is one tmpfs of disk_mb, /tmp and /dev/shm two of disk_mb / 2
    assert 0 < written <= 2 * 48, (written, res.stderr[-300:])


def test_cpu_cores_are_bounded_in_total(sandbox):
    # 4 busy processes for 3 s of wall time on a 2-core machine: at most `cpus` cores' worth of CPU
    code = """
import os, time
pids = []
for i in range(4):
    pid = os.fork()
    if pid == 0:
        end = time.monotonic() + 3
        while time.monotonic() < end:
            pass
        os._exit(0)
    pids.append(pid)
for p in pids:
    os.waitpid(p, 0)
t = os.times()
print(t.children_user + t.children_system)
"""
    res = sandbox.run(["python3", "-c", code], limits=TEST_LIMITS.with_(cpus=1.0, cpu_seconds=30, wall_seconds=30))
    used = float(res.stdout.strip())
    assert 0.5 < used <= 1.0 * 3 * 1.5, (used, res.stderr[-300:])


LEAVE = """
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
assert libc.mq_open(b"/rk-{tag}", os.O_CREAT | os.O_RDWR, 0o600, None) >= 0
assert libc.shmget(0x5EED, 4096, 0o1600) >= 0
for place in ("./", "/tmp/", "/dev/shm/", "/var/tmp/", "/dev/mqueue/x-"):
    try:
        open(place + "rk-{tag}", "w").write("answers")
    except OSError:
        pass
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        s = socket.socket(socket.AF_UNIX)
        s.bind("\\0rk-{tag}")
        s.listen(1)
        while True:
            s.accept()[0].sendall(b"answers")
    os._exit(0)
print("left")
"""
FIND = """
import ctypes, os, socket, glob
libc = ctypes.CDLL(None, use_errno=True)
found = []
if libc.mq_open(b"/rk-{tag}", os.O_RDWR, 0, None) >= 0:
    found.append("mqueue")
if libc.shmget(0x5EED, 4096, 0o600) >= 0:
    found.append("sysv-shm")
for place in ("/tmp/", "/dev/shm/", "/var/tmp/", "/dev/mqueue/x-"):
    if os.path.exists(place + "rk-{tag}"):
        found.append(place)
if glob.glob("../*/rk-{tag}") + glob.glob("/sandbox/*/rk-{tag}"):
    found.append("old work dir")
try:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(1)
    s.connect("\\0rk-{tag}")
    found.append("daemon")
except OSError:
    pass
print(found)
"""


def test_nothing_a_run_leaves_reaches_the_next_run(fresh_sandbox):
    tag = uuid.uuid4().hex[:12]
    left = fresh_sandbox.run(["python3", "-c", LEAVE.replace("{tag}", tag)])
    assert left.stdout.strip() == "left", left.stderr[-500:]
    found = fresh_sandbox.run(["python3", "-c", FIND.replace("{tag}", tag)])
    assert found.stdout.strip() == "[]", (found.stdout, found.stderr[-300:])


SABOTAGE = {
    "stop_all": "import os, signal\nfor p in os.listdir('/proc'):\n    if p.isdigit() and int(p) != os.getpid():\n"
                "        try:\n            os.kill(int(p), signal.SIGSTOP)\n        except OSError:\n            pass\n",
    "kill_all": "import os, signal\nos.kill(-1, signal.SIGKILL)\n",
    "stop_parent": "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n",
    "close_pipes_and_linger": "import os, time\nfor fd in (0, 1, 2):\n    os.close(fd)\ntime.sleep(3)\n",
}


@pytest.mark.parametrize("attack", sorted(SABOTAGE))
def test_sabotage_in_a_batch_of_64_costs_only_its_own_run(sandbox, attack):
    requests = [RunRequest(["python3", "-c", f"print({i})"]) for i in range(64)]
    requests[5] = RunRequest(["python3", "-c", SABOTAGE[attack]], limits=TEST_LIMITS.with_(wall_seconds=5))
    started = time.monotonic()
    results = sandbox.run_many(requests)
    assert time.monotonic() - started < 60
    assert [r.stdout for i, r in enumerate(results) if i != 5] == [f"{i}\n" for i in range(64) if i != 5], \
        [r.error or r.violation for r in results]
    saboteur = results[5]
    assert saboteur.error is None, saboteur  # its own doing: a violation or a plain failure, not infrastructure
    if saboteur.violation is not None:
        assert "helper" in saboteur.violation and saboteur.exit_code is None


def test_host_processes_are_hidden(sandbox):
    secret = f"rk-host-secret-{uuid.uuid4().hex}"
    host = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "--input", secret])
    try:  # (the needle is spelled in hex so that the run's own command line does not hold it)
        code = (f"import os\nneedle = bytes.fromhex('{secret.encode().hex()}')\nfound = 0\n"
                "for p in os.listdir('/proc'):\n    try:\n"
                "        found += needle in open('/proc/%s/cmdline' % p, 'rb').read()\n"
                "    except OSError:\n        pass\nprint(found)")
        res = sandbox.run(["python3", "-c", code])
        assert res.stdout.strip() == "0", res
    finally:
        host.kill()
        host.wait()


def test_host_unix_sockets_in_temp_dirs_are_unreachable(sandbox):
    path = f"/tmp/rk-host-{uuid.uuid4().hex[:8]}.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    os.chmod(path, 0o777)
    server.listen(1)
    server.setblocking(False)
    try:
        code = (f"import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect('{path}')\n"
                f"    s.sendall(b'hi')\n    print('connected')\nexcept OSError as e:\n    print('blocked')")
        res = sandbox.run(["python3", "-c", code])
        assert res.stdout.strip() == "blocked", res
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()
        os.unlink(path)


def test_each_backend_reports_aggregate_limits(sandbox):
    assert sandbox.aggregate_limits  # root, cgroups and tmpfs are there on the machines we test on
