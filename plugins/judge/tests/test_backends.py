"""The backends' interface and options: local transformers generate (tiny model: plumbing), the cache,
the deadline, and the errors of the vllm and http backends (the http backend against a real server
is in test_http.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rewardkit.testing import make_sample
from rewardkit_judge import JudgeBackendError, clear_backends, get_backend, pointwise, render
from rewardkit_judge.backends.http import chat_url

CONV = [{"role": "user", "content": "Rate: The answer is 7."}]


def test_import_is_light() -> None:
    code = ("import sys, rewardkit_judge, rewardkit_judge.plugin, rewardkit_judge.backends.http, "
            "rewardkit_judge.backends.local, rewardkit_judge.backends.vllm\n"
            "heavy = [m for m in ('torch', 'transformers', 'vllm', 'httpx', 'httpx2', 'jinja2') if m in sys.modules]\n"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_transformers_batches_samples_and_caches(tiny_lm: str) -> None:
    backend = get_backend("transformers", tiny_lm, device="cpu", batch_size=2)
    assert get_backend("transformers", tiny_lm, device="cpu", batch_size=2) is backend  # loaded once
    assert get_backend("transformers", tiny_lm, device="cpu", batch_size=3) is not backend
    convs = [CONV, [{"role": "user", "content": "Another, longer question to pad the batch with."}], CONV]
    outs = backend.complete(convs, n=2, temperature=1.0, max_new_tokens=8)
    assert len(outs) == 3 and all(o.ok and len(o.texts) == 2 for o in outs)
    assert all(r in ("stop", "length") for o in outs for r in o.finish_reasons)
    greedy = backend.generate(convs, n=2, max_new_tokens=8)
    assert [len(t) for t in greedy] == [2, 2, 2] and greedy[0][0] == greedy[0][1]
    assert greedy[0] == greedy[2]  # the same conversation in another batch, padded differently
    single = get_backend("transformers", tiny_lm, device="cpu", batch_size=3).generate([CONV], max_new_tokens=8)
    assert single[0][0] == greedy[0][0]


def test_transformers_stops_at_the_deadline(tiny_lm: str) -> None:
    backend = get_backend("transformers", tiny_lm, device="cpu")
    [out] = backend.complete([CONV], max_new_tokens=5000, timeout=0.05)
    assert out.ok and out.finish_reasons == ["deadline"]
    [score] = pointwise([make_sample("The answer is 7.", "q")], backend="transformers", model=tiny_lm,
                        options={"device": "cpu"}, max_new_tokens=5000, timeout=0.05)
    assert score.value is None and "cut at timeout=0.05s" in score.error


def test_transformers_tiny_model_verdict_is_noise_and_says_so(tiny_lm: str) -> None:
    """A random model writes no verdict: the reward is None with the parse failure, never a made-up 0."""
    [score] = pointwise([make_sample("The answer is 7.", "What is 3 + 4?")], backend="transformers", model=tiny_lm,
                        options={"device": "cpu"}, max_new_tokens=16)
    assert score.value is None and score.reason == "unparseable verdict"
    assert score.details["judged"] == 1 and score.details["judge_tail"] is not None


def test_backend_errors_say_what_to_do(tiny_lm: str, tmp_path) -> None:
    with pytest.raises(JudgeBackendError, match="vLLM, which is not installed"):
        get_backend("vllm", tiny_lm)
    with pytest.raises(JudgeBackendError, match="takes no base_url"):
        get_backend("transformers", tiny_lm, base_url="http://127.0.0.1:1/v1")
    with pytest.raises(JudgeBackendError, match="cannot load the judge model"):
        get_backend("transformers", str(tmp_path / "missing"))
    with pytest.raises(JudgeBackendError, match="needs base_url"):
        get_backend("http", "m")
    with pytest.raises(JudgeBackendError, match="is not an http"):
        get_backend("http", "m", base_url="127.0.0.1:8000")
    with pytest.raises(JudgeBackendError, match=r"\$REWARDKIT_TEST_NO_SUCH_KEY, which is not set"):
        get_backend("http", "m", base_url="http://127.0.0.1:1/v1", api_key_env="REWARDKIT_TEST_NO_SUCH_KEY")
    with pytest.raises(JudgeBackendError, match="no judge backend named 'htp'.*did you mean 'http'"):
        get_backend("htp", "m")
    with pytest.raises(JudgeBackendError, match="needs a model"):
        get_backend("http", "", base_url="http://127.0.0.1:1/v1")


def test_http_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARDKIT_TEST_JUDGE_KEY", "sk-test")
    backend = get_backend("http", "m", base_url="http://127.0.0.1:1/v1", api_key_env="REWARDKIT_TEST_JUDGE_KEY")
    assert backend.client.headers["authorization"] == "Bearer sk-test"
    assert "sk-test" not in repr(backend)


@pytest.mark.parametrize("base, url", [
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/chat/completions"),
    ("http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/v1/chat/completions"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1/chat/completions"),
    ("https://api.example.com/openai/v1", "https://api.example.com/openai/v1/chat/completions"),
    ("http://h:1/v1/chat/completions", "http://h:1/v1/chat/completions"),
])
def test_chat_url(base: str, url: str) -> None:
    assert chat_url(base) == url


def test_generation_arguments_are_checked(tiny_lm: str) -> None:
    backend = get_backend("transformers", tiny_lm, device="cpu")
    with pytest.raises(ValueError, match="n must be at least 1"):
        backend.generate([CONV], n=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        backend.generate([CONV], max_new_tokens=0)


def test_clear_backends(tiny_lm: str) -> None:
    first = get_backend("transformers", tiny_lm, device="cpu", batch_size=5)
    clear_backends()
    assert get_backend("transformers", tiny_lm, device="cpu", batch_size=5) is not first


def test_render_output_is_what_backends_take(tiny_lm: str) -> None:
    messages = render("pointwise_fewshot", make_sample("12", "3 * 4?"))
    [[text]] = get_backend("transformers", tiny_lm, device="cpu").generate([messages], max_new_tokens=4)
    assert isinstance(text, str)
