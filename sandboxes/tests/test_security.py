"""The security checks the issue asks for, on every backend.

Each test tries a real escape or abuse from inside the sandbox and checks on the host that it failed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid

import pytest

from rewardkit_sandbox import Limits, RunRequest


def _uid_processes(uid: int, needle: str) -> list[int]:
    """Live host pids of ``uid`` whose command line contains ``needle`` (from /proc, which also sees
    non-dumpable processes). Zombies (state Z) are dead already, waiting for their parent to reap them.
    (The warm bubblewrap keeps its own bwrap + helper running as the slot uid: hence the needle.)
    """
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z")
                and needle in cmdline):
            found.append(int(name))
    return found


def test_no_network_outside(sandbox):
    code = ("import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=3)\n    print('CONNECTED')\n"
            "except OSError as e:\n    print('blocked', e)\n")
    res = sandbox.run(["python3", "-c", code])
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith("blocked")


def test_no_network_to_host_loopback(sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
            f"    print('CONNECTED')\nexcept OSError as e:\n    print('blocked', e)\n")
    try:
        res = sandbox.run(["python3", "-c", code])
        assert res.stdout.startswith("blocked"), res.stdout + res.stderr
        with pytest.raises(BlockingIOError):  # nothing reached the host's listener (not even queued)
            server.accept()
    finally:
        server.close()


def test_no_host_secrets_in_environment(sandbox, monkeypatch, secret_env):
    monkeypatch.setenv("REWARDKIT_TEST_LATE_SECRET", "late-secret-value")
    res = sandbox.run(["sh", "-c", "env; cat /proc/self/environ"])
    assert res.exit_code == 0
    assert os.environ[secret_env[0]] == secret_env[1]
    for secret in (secret_env[1], "late-secret-value", os.environ.get("HOME", "/root") + "\n"):
        assert secret not in res.stdout
    assert "PATH=" in res.stdout


def test_cannot_read_host_files(sandbox, tmp_path, secret_env):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    secret.chmod(0o644)  # readable by anyone who can reach it: only isolation stops the read
    code = ("import sys\nfor p in sys.argv[1:]:\n    try:\n        print(p, open(p).read()[:40])\n"
            "    except OSError as e:\n        print(p, 'denied', type(e).__name__)\n")
    host_environ = f"/proc/{os.getpid()}/environ"  # this test process holds the secret variable
    res = sandbox.run(["python3", "-c", code, str(secret), "/etc/shadow", "/root/.bashrc", host_environ])
    assert res.exit_code == 0, res.stderr
    assert "TOP-SECRET-42" not in res.stdout and secret_env[1] not in res.stdout
    assert "root:" not in res.stdout  # /etc/shadow
    assert res.stdout.count("denied") == 4, res.stdout


def test_cannot_write_outside_the_work_dir(sandbox, tmp_path):
    targets = [tmp_path / "owned.txt", "/etc/rewardkit-owned", "/usr/rewardkit-owned",
               "/root/rewardkit-owned"]
    code = ("import sys\nfor p in sys.argv[1:]:\n    try:\n        open(p, 'w').write('x')\n        print(p, 'WROTE')\n"
            "    except OSError as e:\n        print(p, 'denied')\n")
    res = sandbox.run(["python3", "-c", code, *map(str, targets)])
    assert res.exit_code == 0, res.stderr
    assert "WROTE" not in res.stdout
    for target in targets:
        assert not os.path.exists(target)


def test_temp_files_do_not_outlive_the_run(sandbox):
    tag = uuid.uuid4().hex
    paths = [f"/tmp/rk-leak-{tag}", f"/dev/shm/rk-leak-{tag}"]
    code = "import sys\nfor p in sys.argv[1:]:\n    open(p, 'w').write('x')\n    print(open(p).read())\n"
    res = sandbox.run(["python3", "-c", code, *paths])
    assert res.exit_code == 0 and res.stdout == "x\nx\n", res.stderr
    for path in paths:
        assert not os.path.exists(path)
    # ...and the next run in the sandbox does not see them either.
    check = "import os, sys; print([os.path.exists(p) for p in sys.argv[1:]])"
    again = sandbox.run(["python3", "-c", check, *paths])
    assert again.stdout.strip() == "[False, False]"


def test_world_writable_host_dirs_are_not_visible(isolated_sandbox, tmp_path):
    shared = tmp_path / "ww"
    shared.mkdir()
    os.chmod(tmp_path, 0o755)
    shared.chmod(0o1777)
    code = f"open('{shared}/dropped', 'w').write('x')"
    res = isolated_sandbox.run(["python3", "-c", code])
    assert res.exit_code != 0
    assert not (shared / "dropped").exists()


def test_fork_bomb_is_bounded(sandbox):
    code = "import os\nwhile True:\n    os.fork()\n"
    res = sandbox.run(["python3", "-c", code], limits=Limits(processes=16, wall_seconds=20, cpu_seconds=10))
    assert "Resource temporarily unavailable" in res.stderr or "BlockingIOError" in res.stderr, res
    assert not res.timed_out  # the process limit stopped it, not the clock
    probe = sandbox.run(["python3", "-c", "print('alive')"])
    assert probe.stdout == "alive\n"


def test_memory_bomb_is_bounded(sandbox):
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 1024 * 1024))\n"
    res = sandbox.run(["python3", "-c", code], limits=Limits(memory_mb=256, wall_seconds=20))
    assert not res.ok
    assert "MemoryError" in res.stderr or res.signal == 9, res


def test_infinite_loop_is_killed_on_cpu_time(sandbox):
    res = sandbox.run(["python3", "-c", "while True:\n    pass"],
                      limits=Limits(cpu_seconds=1, wall_seconds=20))
    assert res.timed_out and res.killed and res.exit_code is None
    assert res.duration < 15


def test_sleeper_is_killed_on_wall_time(sandbox):
    res = sandbox.run(["python3", "-c", "import time\ntime.sleep(60)"], limits=Limits(wall_seconds=1))
    assert res.timed_out and res.exit_code is None


def test_output_flood_is_truncated(sandbox):
    res = sandbox.run(["python3", "-c", "while True:\n    print('y' * 1000)"],
                      limits=Limits(output_bytes=50_000, wall_seconds=20))
    assert res.truncated
    assert len(res.stdout) == 50_000
    assert not res.timed_out  # stopped by the cap, not by the clock


def test_file_size_is_bounded(sandbox):
    code = "f = open('big', 'wb')\nfor _ in range(64):\n    f.write(b'x' * 1024 * 1024)\nf.close()\nprint('WROTE')"
    res = sandbox.run(["python3", "-c", code], limits=Limits(file_size_mb=4))
    assert not res.ok and "WROTE" not in res.stdout


def test_no_process_survives_a_run(sandbox):
    # A detached grandchild in its own session (escapes a process-group kill) and a plain child.
    code = ("import os, subprocess, sys\n"
            "subprocess.Popen(['sleep', '301'], start_new_session=True)\n"
            "subprocess.Popen(['sleep', '301'])\n"
            "if os.fork() == 0:\n    os.setsid()\n    os.execvp('sleep', ['sleep', '301'])\n"
            "print(os.getuid())\n")
    res = sandbox.run(["python3", "-c", code])
    assert res.exit_code == 0, res.stderr
    assert not res.timed_out  # the leftovers holding stdout open did not keep the run waiting
    uid = int(res.stdout.split()[0])
    assert uid != 0
    # SIGKILLed processes take a moment to be torn down; none may still be alive after that.
    deadline = time.monotonic() + 2
    while _uid_processes(uid, "sleep 301") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _uid_processes(uid, "sleep 301") == []


def test_cannot_kill_host_processes(sandbox):
    code = f"import os, signal\ntry:\n    os.kill({os.getpid()}, signal.SIGKILL)\nexcept OSError as e:\n    print('denied')"
    res = sandbox.run(["python3", "-c", code])
    assert res.stdout.strip() == "denied"  # and this test process is evidently still alive


def test_runs_as_unprivileged_user_without_new_privileges(sandbox):
    code = ("import os\nprint(os.getuid(), os.geteuid(), os.getgid())\n"
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith(('NoNewPrivs', 'CapEff'))])")
    res = sandbox.run(["python3", "-c", code])
    ids, flags = res.stdout.splitlines()
    uid, euid, gid = map(int, ids.split())
    assert uid != 0 and euid != 0 and gid != 0
    # setuid binaries cannot raise privileges, and no capability is effective
    assert flags == "['0000000000000000', '1']", flags


def _host_shm_ids() -> set[str]:
    out = subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout
    return {line.split()[1] for line in out.splitlines() if line.startswith("0x")}


def test_sysv_ipc_objects_do_not_outlive_the_run(sandbox):
    host_before = _host_shm_ids()
    made = sandbox.run(["sh", "-c", "ipcmk -M 4096 && ipcs -m | grep -c 0x"])
    assert made.exit_code == 0, made
    assert made.stdout.startswith("Shared memory id:") and made.stdout.split()[-1] == "1", made.stdout
    after = sandbox.run(["sh", "-c", "ipcs -m | grep -c 0x; true"])
    assert after.stdout.strip() == "0", after.stdout  # removed before the next run
    assert _host_shm_ids() == host_before  # and never in the host's IPC namespace


def test_killing_everything_it_can_does_not_break_the_sandbox(sandbox):
    # kill(-1) as the run's uid: in the warm bubblewrap that includes the slot's helper, in docker's
    # exec mode the wrapping shell (either way only this run fails); elsewhere the helper is root.
    res = sandbox.run(["sh", "-c", "kill -9 -1; echo still-here"])
    assert res.backend == sandbox.name and not res.timed_out
    after = sandbox.run_many([RunRequest(command=["python3", "-c", "print('fine')"]) for _ in range(4)])
    assert [r.stdout for r in after] == ["fine\n"] * 4, [r.error for r in after]
