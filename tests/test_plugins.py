import json
import warnings

import pytest

from rewardkit import PluginConflictError, RewardKit, UnknownNameError, hookimpl, reward
from rewardkit.recipe import load_recipe


def test_builtins_register_through_the_hook():
    kit = RewardKit(entry_points=False)
    assert {"exact_match", "regex_match", "python"} <= set(kit.registry.names())
    assert kit.registry.owner("reward", "exact_match").name == "builtin"
    assert kit.pm.get_plugin("builtin") is not None  # a pluggy plugin like any other


def test_pip_installed_plugin_is_usable_by_name(demo_plugin_installed, tmp_path, cli):
    kit = RewardKit()
    assert "demo.shouting" in kit.registry
    info = kit.registry.owner("reward", "demo.shouting")
    assert (info.name, info.distribution, info.version) == ("demo", "rewardkit-demo-plugin", "0.3.1")
    # a recipe names it, with no change to core
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: t\nrewards:\n  - name: demo.shouting\n    params: {min_share: 0.9}\n")
    loaded = load_recipe(recipe, kit=kit)
    assert loaded.rewards[0].params == {"min_share": 0.9}
    # and the command line lists it with its version
    out = cli("plugins", "--json")
    assert out.returncode == 0, out.stderr
    plugins = {p["name"]: p for p in json.loads(out.stdout)["plugins"]}
    assert plugins["demo"]["version"] == "0.3.1"
    assert [r["name"] for r in plugins["demo"]["rewards"]] == ["demo.shouting"]
    assert {"exact_match", "regex_match", "python"} <= {r["name"] for r in plugins["builtin"]["rewards"]}
    # scoring through the CLI with it
    data = tmp_path / "in.jsonl"
    data.write_text('{"prompt": "p", "completion": "HELLO"}\n{"prompt": "p", "completion": "hello"}\n')
    out = cli("score", "--reward", "demo.shouting", "--input", str(data), "--output", str(tmp_path / "o.jsonl"), "--quiet")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [r["rewards"]["demo.shouting"] for r in rows] == [1.0, 0.0]


class _Clash:
    __name__ = "clashing-plugin"

    @hookimpl
    def rewardkit_register(self, registry):
        @reward("exact_match")
        def other(sample):
            return 0.0

        registry.add_reward(other)


def test_name_clash_is_reported_with_both_plugins():
    with pytest.raises(PluginConflictError, match="'exact_match' is registered by both plugin 'builtin' and plugin 'clashing-plugin'"):
        RewardKit([_Clash()], entry_points=False)


class _Broken:
    __name__ = "broken-plugin"

    @hookimpl
    def rewardkit_register(self, registry):
        raise ImportError("needs libfoo")


def test_broken_plugin_warns_and_others_still_work():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kit = RewardKit([_Broken()], entry_points=False)
    assert any("broken-plugin" in str(w.message) and "needs libfoo" in str(w.message) for w in caught)
    assert "exact_match" in kit.registry
    assert kit.registry.describe()["plugins"][0]["name"] in {"broken-plugin", "builtin"}


def test_unknown_name_suggests_closest():
    kit = RewardKit(entry_points=False)
    with pytest.raises(UnknownNameError, match="did you mean 'exact_match'"):
        kit.registry.reward("exact_macth")


def test_other_registries_parsers_and_backends():
    class P:
        __name__ = "extras"

        @hookimpl
        def rewardkit_register(self, registry):
            registry.add_parser("p.upper", str.upper)
            registry.add_sandbox_backend("sb.fake", object)
            registry.add_judge_backend("j.fake", dict)

    kit = RewardKit([P()], entry_points=False)
    assert kit.registry.parser("p.upper")("a") == "A"
    assert kit.registry.sandbox_backend("sb.fake") is object
    entry = [p for p in kit.registry.describe()["plugins"] if p["name"] == "extras"][0]
    assert entry["parsers"] == ["p.upper"] and entry["judge_backends"] == ["j.fake"]
