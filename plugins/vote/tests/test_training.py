"""Self-rewarding inside a real trl.GRPOTrainer: the majority vote over each GRPO group, and a judge that
is the policy's own newest checkpoint, re-read as training saves them."""

import json

from rewardkit import RewardKit, RewardSpec, ScoringEngine, hookimpl
from rewardkit.testing import shared_data_dir


class Recorder:
    """Keeps every batch the engine scores (a rewardkit observer plugin)."""

    def __init__(self):
        self.batches = []

    @hookimpl
    def rewardkit_after_score(self, reward_id, samples, scores, stats):
        self.batches.append((reward_id, list(samples), list(scores)))


def test_grpo_with_majority_vote_and_latest_checkpoint_judge(tiny_model, tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    with open(shared_data_dir() / "gsm8k" / "test.jsonl") as f:
        rows = [json.loads(next(f)) for _ in range(2)]
    ds = Dataset.from_list([
        {"prompt": [{"role": "user", "content": r["question"] + " Put the answer after ####."}]} for r in rows])
    out = tmp_path / "01-grpo"
    recorder = Recorder()
    kit = RewardKit(plugins=[recorder])
    engine = ScoringEngine([
        # the tiny model writes gibberish: vote on the whole (normalised) completion
        RewardSpec("vote.majority", id="ttrl", params={"extract": "text", "equivalence": "text"}),
        RewardSpec("vote.judge", id="self_judge", weight=0.5, params={
            "kind": "pointwise", "model": f"latest:{out}", "initial_model": str(tiny_model), "n": 2,
            "temperature": 1.0, "max_new_tokens": 4, "options": {"device": "cpu"}}),
    ], kit=kit)
    config = GRPOConfig(output_dir=str(out), use_cpu=True, bf16=False, max_steps=3,
                        per_device_train_batch_size=8, num_generations=4, max_completion_length=8, logging_steps=1, report_to="none",
                        save_strategy="steps", save_steps=1, reward_weights=engine.weights, seed=0)
    trainer = GRPOTrainer(model=str(tiny_model), reward_funcs=engine.trl_reward_funcs(), args=config,
                          train_dataset=ds)
    trainer.train()
    engine.close()

    logged = [e for e in trainer.state.log_history if "rewards/ttrl/mean" in e]
    assert len(logged) == 3
    votes = [(samples, scores) for rid, samples, scores in recorder.batches if rid == "ttrl"]
    assert len(votes) == 3
    assert any(s.value == 1.0 for _, scores in votes for s in scores)  # the vote did take place
    for samples, scores in votes:
        groups = {}
        for sample, score in zip(samples, scores):
            groups.setdefault(sample.group_key, []).append(score)
        # TRL's 2 prompts x 4 generations are the engine's 2 groups of 4
        assert sorted(len(g) for g in groups.values()) == [4, 4]
        for g in groups.values():
            values = [s.value for s in g]
            # a group with any answer has a majority, and every completion is scored against it
            assert values == [None] * 4 or (1.0 in values and set(values) <= {0.0, 1.0, None})
            assert len({s.details.get("majority") for s in g}) == 1

    # The judge is the policy: before the first save the starting model, then each newest checkpoint.
    judges = [{s.details.get("judge") for s in scores}
              for rid, _, scores in recorder.batches if rid == "self_judge"]
    assert judges == [{str(tiny_model)}, {str(out / "checkpoint-1")}, {str(out / "checkpoint-2")}]
