import ast
from pathlib import Path

import numpy as np
import pytest
import torch

import interestyle as its
from conftest import tiny_model
from interestyle.errors import ConfigError
from interestyle.validation import (
    check_flag,
    check_int,
    check_non_negative_int,
    check_non_negative_number,
    check_number,
    check_positive_int,
    check_positive_number,
    check_unit_interval,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "interestyle"


def test_integers_come_back_as_plain_ints():
    assert check_positive_int(3, "n") == 3
    value = check_int(np.int64(7), "n", minimum=0, maximum=7)
    assert value == 7 and type(value) is int
    assert check_non_negative_int(0, "seed") == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_positive_int(True, "batch_size"), "batch_size=True is invalid: expected an integer >= 1"),
        (lambda: check_positive_int(0, "batch_size"), "batch_size=0 is invalid: expected an integer >= 1"),
        (lambda: check_positive_int(2.0, "steps"), "steps=2.0 is invalid: expected an integer >= 1"),
        (lambda: check_positive_int("4", "count"), "count='4' is invalid: expected an integer >= 1"),
        (lambda: check_non_negative_int(-1, "seed"), "seed=-1 is invalid: expected an integer >= 0"),
        (lambda: check_int(9, "n", minimum=1, maximum=8), "n=9 is invalid: expected an integer from 1 to 8"),
        (lambda: check_int(False, "seed"), "seed=False is invalid: expected an integer$"),
        (lambda: check_int(40, "size", maximum=32, note="pixels"), r"expected an integer <= 32 \(pixels\)"),
    ],
)
def test_bad_integers_name_the_argument_the_value_and_what_is_accepted(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_numbers_come_back_as_plain_floats():
    assert check_number(np.float32(0.5), "x") == 0.5 and type(check_number(np.float32(0.5), "x")) is float
    assert check_number(2, "x") == 2.0 and type(check_number(2, "x")) is float
    assert check_unit_interval(0, "p") == 0.0 and check_unit_interval(1, "p") == 1.0
    assert check_non_negative_number(0, "w") == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_non_negative_number(True, "l2"), "l2=True is invalid: expected a number >= 0$"),
        (lambda: check_non_negative_number(-0.1, "l2"), "l2=-0.1 is invalid"),
        (lambda: check_number(float("nan"), "x"), "x=nan is invalid: expected a finite number"),
        (lambda: check_number(float("inf"), "x", minimum=0), "x=inf is invalid: expected a finite number >= 0"),
        (lambda: check_positive_number(0, "lr"), "lr=0 is invalid: expected a number > 0"),
        (lambda: check_positive_number("0.1", "lr"), "lr='0.1' is invalid"),
        (lambda: check_unit_interval(1.5, "p"), r"p=1.5 is invalid: expected a number in \[0, 1\]"),
        (lambda: check_unit_interval(True, "p"), r"p=True is invalid"),
        (
            lambda: check_number(1, "beta", minimum=0, maximum=1, open_maximum=True),
            r"beta=1 is invalid: expected a number in \[0, 1\)",
        ),
        (lambda: check_number(0.6, "f", minimum=0, maximum=0.5, note="a fraction"), r"\[0, 0.5\] \(a fraction\)"),
        (lambda: check_number(0, "x", maximum=0, open_maximum=True), "x=0 is invalid: expected a number < 0"),
    ],
)
def test_bad_numbers_name_the_argument_the_value_and_what_is_accepted(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_flags_are_bools_only():
    assert check_flag(False, "flip") is False
    for value in (1, 0, "yes", None):
        with pytest.raises(ValueError, match=f"flip={value!r} is invalid: expected true or false"):
            check_flag(value, "flip")


def test_the_caller_chooses_the_error_class():
    with pytest.raises(ConfigError, match=r"GeneratorConfig\.n_mlp=0"):
        check_positive_int(0, "GeneratorConfig.n_mlp", error=ConfigError)
    with pytest.raises(TypeError, match=r"seed=1\.5"):
        check_int(1.5, "seed", error=TypeError)


# -- the three that slipped through: a bool passed for a number -------------------------------------------
def test_fit_direction_refuses_a_bool_l2():
    latents, labels = torch.randn(10, 4), torch.tensor([0, 1] * 5)
    with pytest.raises(ValueError, match="l2=True"):
        its.fit_direction(latents, labels, l2=True)


def test_random_styles_refuses_a_bool_truncation():
    with pytest.raises(ValueError, match="truncation=True"):
        its.random_styles(tiny_model(), 2, truncation=True)


def test_generator_config_refuses_a_bool_lr_mlp():
    with pytest.raises(ConfigError, match=r"GeneratorConfig\.lr_mlp=True"):
        its.GeneratorConfig(lr_mlp=True)


# -- no new hand-written checks -----------------------------------------------------------------------------
# isinstance(x, bool) kept on purpose: parsers of sequences and mixed types, not checks of one scalar.
ALLOWED_BOOL_CHECKS = {
    "directions/finding.py": 1,  # fit_direction's labels may be bools (True = has the attribute)
    "editing.py": 4,  # resolve_layers and resolve_strengths: ints / numbers inside sequences, TypeError
    "locate.py": 1,  # HubOptions.token is a str or a bool (True: the saved login)
    "masks/face_parsing.py": 1,  # an interest class is an int label or a str name
    "pipelines.py": 1,  # refine= is True / False or a number of steps
}


def bool_checks(tree: ast.AST) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" and len(node.args) == 2:
            kinds = node.args[1]
            names = [e.id for e in kinds.elts if isinstance(e, ast.Name)] if isinstance(kinds, ast.Tuple) else []
            if getattr(kinds, "id", None) == "bool" or "bool" in names:
                count += 1
    return count


def test_scalar_checks_go_through_the_validators():
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name == "validation.py":
            continue
        count = bool_checks(ast.parse(path.read_text()))
        if count:
            found[name] = count
    assert found == ALLOWED_BOOL_CHECKS, (
        "isinstance(..., bool) outside interestyle/validation.py: use check_int / check_number / check_flag"
    )
