"""Plain functions for `rewardkit score` tests, used through the built-in `python` reward."""

import os
import signal
import time


def answer_is_gold(sample, *, delay: float = 0.0):
    """1.0 when the completion equals the reference; records each call's row_id (for resume tests)."""
    calls = os.environ.get("RK_CALLS_FILE")
    if calls:
        with open(calls, "a") as fh:  # one short O_APPEND write per call: lines never interleave
            fh.write(f"{sample.column('row_id')}\n")
    time.sleep(delay)
    return float(sample.completion_text.strip() == str(sample.reference).strip())


def dies_on_request(sample):
    """Kill or exit the process it runs in when the completion asks for it, else 1.0."""
    text = sample.completion_text
    if text == "os._exit":
        os._exit(3)
    if text == "SIGKILL":
        os.kill(os.getpid(), signal.SIGKILL)
    if text == "SystemExit":
        raise SystemExit(4)
    return 1.0


def always_fails(sample):
    raise RuntimeError("the verifier is broken")
