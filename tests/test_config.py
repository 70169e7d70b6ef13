"""Profiles and parameters: resolution order and one-line errors that name the fix."""

import pytest

from lmcourse.chapters import CHAPTERS, get_chapter
from lmcourse.config import resolve, resolve_profile
from lmcourse.params import PROFILES, ConfigError, Param


def test_explicit_value_beats_profile_value():
    cfg = resolve("02", profile="smoke", epochs=7)
    assert cfg.epochs == 7 and cfg.sources["epochs"] == "given"
    smoke_lr = CHAPTERS["02"].profiles["smoke"]["learning_rate"]
    assert cfg.learning_rate == smoke_lr and cfg.sources["learning_rate"] == "profile smoke"


def test_none_means_profile_value_and_seed_has_default():
    cfg = resolve("02", profile="standard", epochs=None, seed=None)
    assert cfg.epochs == CHAPTERS["02"].profiles["standard"]["epochs"]
    assert cfg.seed == 42 and cfg.sources["seed"] == "default"


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("LMCOURSE_PROFILE", "full")
    assert resolve("02").profile == "full"
    monkeypatch.delenv("LMCOURSE_PROFILE")
    assert resolve("02").profile == "standard"


def test_unknown_profile_names_the_choices():
    with pytest.raises(
        ConfigError, match=r"unknown profile 'nonsense': choose one of smoke, standard, full"
    ):
        resolve("01", profile="nonsense")


def test_bad_profile_in_environment_says_where_it_came_from(monkeypatch):
    monkeypatch.setenv("LMCOURSE_PROFILE", "fast")
    with pytest.raises(ConfigError, match=r"'fast' \(from \$LMCOURSE_PROFILE\)"):
        resolve_profile(None)


@pytest.mark.parametrize(
    "given, message",
    [
        ({"epochs": -3}, r"epochs=-3 is out of range: epochs must be an int >= 1"),
        ({"epochs": 2.5}, r"epochs=2.5 has the wrong type: epochs must be an int"),
        ({"epochs": True}, r"epochs=True has the wrong type"),
        (
            {"learning_rate": 0},
            r"learning_rate=0.0 is out of range: learning_rate must be a number > 0",
        ),
        ({"learning_rate": float("nan")}, r"learning_rate=nan has the wrong type"),
        ({"seed": -1}, r"seed=-1 is out of range: seed must be an int >= 0"),
        (
            {"epoch": 3},
            r"chapter 02 has no parameter 'epoch': its parameters are profile, seed, epochs",
        ),
    ],
)
def test_bad_values_fail_with_one_clear_line(given, message):
    with pytest.raises(ConfigError, match=message) as err:
        resolve("02", profile="smoke", **given)
    assert "\n" not in str(err.value)


def test_float_param_accepts_int_and_widens():
    assert resolve("02", profile="smoke", learning_rate=2).learning_rate == 2.0
    assert isinstance(resolve("02", profile="smoke", learning_rate=2).learning_rate, float)


def test_param_choices_and_bounds():
    p = Param(str, "a choice", choices=("a", "b"), profile_driven=False)
    assert p.check("x", "a") == "a"
    with pytest.raises(ConfigError, match="x='c' is not allowed: x must be one of a, b"):
        p.check("x", "c")
    q = Param(float, "a fraction", min=0.0, max=1.0, min_exclusive=True)
    assert q.describe() == "a number > 0 and <= 1"
    with pytest.raises(ConfigError):
        q.check("f", 0.0)
    assert q.check("f", 1) == 1.0


def test_config_attribute_error_lists_parameters():
    cfg = resolve("02", profile="smoke")
    with pytest.raises(AttributeError, match="its parameters are profile, seed, epochs"):
        cfg.epoch  # noqa: B018
    assert "epochs" in cfg.table() and "profile smoke" in cfg.table()


@pytest.mark.parametrize("chapter", list(CHAPTERS.values()), ids=list(CHAPTERS))
def test_every_profile_gives_every_profile_driven_parameter_a_valid_value(chapter):
    for profile in PROFILES:
        cfg = resolve(chapter, profile=profile)
        for name, spec in chapter.params.items():
            assert spec.check(name, cfg.values[name]) == cfg.values[name]


def test_get_chapter_accepts_id_number_slug_and_file():
    assert get_chapter("1").id == get_chapter("01").id == "01"
    assert get_chapter("01_language_models.ipynb").id == "01"
    with pytest.raises(ConfigError, match="unknown chapter '99': choose one of 00, 01"):
        get_chapter("99")
