"""The package's public surface: backend discovery, selection, limits validation, rewardkit plugin."""

from __future__ import annotations

import os
import signal
import time

import pytest

from rewardkit_sandbox import (Limits, RunRequest, Sandbox, SandboxError, available_backends, get_sandbox,
                               resolve_backend)


def test_available_backends_names_every_backend_with_a_reason_or_none():
    found = available_backends()
    assert set(found) == {"process", "forkserver", "bubblewrap", "docker", "remote"}
    assert found["process"] is None  # always usable
    for name, reason in found.items():
        assert reason is None or (isinstance(reason, str) and reason), name


def test_auto_picks_a_usable_backend():
    name = resolve_backend("auto")
    assert available_backends()[name] is None
    with pytest.raises(SandboxError, match="unknown sandbox backend 'nope'"):
        resolve_backend("nope")


def test_backends_are_registered_with_rewardkit_through_the_entry_point():
    from rewardkit import RewardKit

    kit = RewardKit()
    registry = kit.registry
    for name in ("process", "forkserver", "bubblewrap", "docker"):
        cls = registry.sandbox_backend(name)
        assert issubclass(cls, Sandbox) and cls.name == name
    assert registry.owner("sandbox_backend", "process").distribution == "rewardkit-sandbox"


def test_limits_reject_nonsense_with_a_hint():
    with pytest.raises(ValueError, match="wall_seconds must be a positive number"):
        Limits(wall_seconds=0)
    with pytest.raises(ValueError, match="open_files below 8"):
        Limits(open_files=3)
    assert Limits().with_(wall_seconds=2).wall_seconds == 2


def test_run_request_rejects_a_shell_string():
    with pytest.raises(ValueError, match=r"\['sh', '-c'"):
        RunRequest(command="python3 main.py")


def test_closed_sandbox_refuses_runs_and_frees_its_uids():
    sb = get_sandbox("process", workers=2)
    uids = [slot.uid for slot in sb._all_slots]
    assert len(set(uids)) == 2
    with get_sandbox("process", workers=2) as other:  # concurrent sandboxes never share a uid
        assert not set(uids) & {slot.uid for slot in other._all_slots}
    sb.close()
    sb.close()  # idempotent
    with pytest.raises(SandboxError, match="closed"):
        sb.run(["true"])


def test_a_dead_helper_is_restarted_transparently():
    with get_sandbox("process", workers=1) as sb:
        assert sb.run(["python3", "-c", "print(1)"]).stdout == "1\n"
        helper = sb._servers[0].proc  # the slot's root helper process
        helper.kill()
        helper.wait()
        res = sb.run(["python3", "-c", "print(2)"])
        assert res.ok and res.stdout == "2\n"
        assert sb._servers[0].proc.pid != helper.pid


@pytest.mark.parametrize("sandbox", ["docker", "docker-exec"], indirect=True)
def test_a_dead_container_is_replaced(sandbox):
    sb = sandbox
    slot = sb._all_slots[0]
    old_pid = sb._init_pids[slot.index]
    os.kill(old_pid, signal.SIGKILL)  # the container's init: the container stops
    deadline = time.monotonic() + 10
    while sb._containers[slot.index].reload() or sb._containers[slot.index].status == "running":
        assert time.monotonic() < deadline, "the container did not stop"
        time.sleep(0.05)
    results = sb.run_many([RunRequest(command=["python3", "-c", "print(3)"]) for _ in range(4)])
    assert all(r.ok and r.stdout == "3\n" for r in results), [r.error for r in results]
    assert sb._init_pids[slot.index] != old_pid


def test_auto_never_falls_back_to_an_unisolated_backend(monkeypatch):
    from rewardkit_sandbox.bubblewrap import BubblewrapSandbox
    from rewardkit_sandbox.docker_backend import DockerSandbox

    monkeypatch.setattr(BubblewrapSandbox, "unavailable_reason", classmethod(lambda cls: "bwrap is not installed"))
    monkeypatch.setattr(DockerSandbox, "unavailable_reason", classmethod(lambda cls: "no Docker engine"))
    monkeypatch.delenv("REWARDKIT_SANDBOX_ALLOW_PROCESS", raising=False)
    with pytest.raises(SandboxError, match=r"apt-get install -y bubblewrap.*backend 'process' or 'forkserver'"):
        resolve_backend("auto")
    assert resolve_backend("process") == "process"  # an explicit choice still works
    monkeypatch.setenv("REWARDKIT_SANDBOX_ALLOW_PROCESS", "1")
    with pytest.warns(RuntimeWarning, match="trusted code only"):
        assert resolve_backend("auto") == "process"
