import json

import pytest
from rewardkit.testing import shared_data_dir


@pytest.fixture(scope="session")
def shared_mbpp():
    return json.loads((shared_data_dir() / "mbpp" / "sanitized-mbpp.json").read_text())


@pytest.fixture(scope="session")
def gsm8k():
    with open(shared_data_dir() / "gsm8k" / "test.jsonl") as f:
        return [json.loads(line) for line in f]
