"""What every backend must do for ordinary programs: I/O, files, exit codes, C++, batches."""

from __future__ import annotations

import pytest

from rewardkit_sandbox import Limits, RunRequest


def test_stdout_stdin_argv_and_exit_code(sandbox):
    res = sandbox.run(["python3", "main.py", "x", "y"],
                      files={"main.py": "import sys\nprint(sys.argv[1:], input()[::-1])\nsys.exit(3)\n"},
                      stdin="olleh\n")
    assert res.error is None
    assert res.stdout == "['x', 'y'] hello\n"
    assert res.exit_code == 3 and not res.ok
    assert not res.timed_out and not res.killed and not res.truncated
    assert res.backend == sandbox.name


def test_files_are_in_a_fresh_cwd(sandbox):
    main = "import os, helper\nprint(sorted(os.listdir('.')), helper.VALUE, open('data/in.txt').read())"
    files = {"main.py": main,
             "helper.py": "VALUE = 41 + 1\n", "data/in.txt": "payload"}
    res = sandbox.run(["python3", "main.py"], files=files)
    assert res.ok, res.stderr
    assert res.stdout.strip() == "['data', 'helper.py', 'main.py'] 42 payload"
    # The next run starts from an empty directory again.
    again = sandbox.run(["python3", "-c", "import os; print(os.listdir('.'))"])
    assert again.stdout.strip() == "[]"


def test_main_guard_and_exceptions(sandbox):
    res = sandbox.run(["python3", "-c", "if __name__ == '__main__':\n    raise ValueError('boom')"])
    assert res.exit_code == 1 and "ValueError: boom" in res.stderr


def test_file_names_must_stay_inside_the_work_dir(sandbox):
    res = sandbox.run(["python3", "-c", "pass"], files={"../escape.py": "x"})
    assert res.error is not None and "relative path" in res.error
    assert sandbox.run(["python3", "-c", "print(1)"]).stdout == "1\n"  # the slot still works


def test_cpp_compile_and_run(sandbox):
    src = "#include <iostream>\n#include <vector>\nint main(){int n; std::cin>>n; std::vector<int> v(n,2);" \
          " long s=0; for(int x: v) s+=x; std::cout<<s<<std::endl;}\n"
    res = sandbox.run(["sh", "-c", "g++ -O2 -o prog main.cpp && ./prog"], files={"main.cpp": src},
                      stdin="21\n",
                      limits=Limits(cpu_seconds=20, wall_seconds=60, memory_mb=1024))
    assert res.ok, res.stderr
    assert res.stdout == "42\n"


def test_missing_command_is_a_program_failure(sandbox):
    res = sandbox.run(["definitely-not-a-command-xyz"])
    assert not res.ok and res.exit_code not in (0, None)


def test_run_many_keeps_order_and_uses_both_workers(sandbox):
    code = "import sys, time\nprint(time.time())\ntime.sleep(1.0)\nprint(time.time())\nprint(sys.argv[1])"
    reqs = [RunRequest(command=["python3", "-c", code, str(i)]) for i in range(4)]
    results = sandbox.run_many(reqs)
    assert [r.stdout.split()[-1] for r in results] == ["0", "1", "2", "3"]
    spans = [tuple(map(float, r.stdout.split()[:2])) for r in results]
    # With two workers the first two runs overlap in time (each sleeps 1 s: ample for a slow start).
    assert max(spans[0][0], spans[1][0]) < min(spans[0][1], spans[1][1])


@pytest.mark.parametrize("backend", ["process"])
def test_get_sandbox_rejects_unknown_names(backend):
    from rewardkit_sandbox import SandboxError, get_sandbox

    with pytest.raises(SandboxError, match="unknown sandbox backend"):
        get_sandbox("nope")
