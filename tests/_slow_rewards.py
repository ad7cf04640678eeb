"""A plain function used through the built-in `python` reward (no packaging needed)."""

import time


def slow_final_number(sample, *, delay: float = 0.01):
    """1.0 when the completion's last word equals the GSM8K answer after '####'."""
    time.sleep(delay)
    gold = str(sample.column("answer", default="")).split("####")[-1].strip().replace(",", "")
    words = sample.completion_text.replace(",", "").split()
    return float(bool(words) and words[-1].rstrip(".") == gold)
