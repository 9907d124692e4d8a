import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from conftest import tiny_model
from hubserver import HubServer
from interestyle import (
    Direction,
    DirectionSet,
    UnknownDirectionError,
    WeightsError,
    fit_direction,
    principal_directions,
)
from interestyle.directions import DIRECTIONS_METADATA, DIRECTIONS_WEIGHTS, as_direction


def test_a_vector_is_normalised_to_unit_length():
    d = Direction(torch.tensor([3.0, 4.0]))
    torch.testing.assert_close(d.vector, torch.tensor([0.6, 0.8]))
    assert Direction(np.array([[3.0, 4.0]])).shape == (2,)  # InterFaceGAN's (1, D) boundary files


def test_a_per_layer_direction_has_its_longest_row_of_unit_length():
    d = Direction(torch.tensor([[0.0, 2.0], [1.0, 0.0], [0.0, 0.0]]))
    assert d.per_layer and d.shape == (3, 2)
    torch.testing.assert_close(d.vector.norm(dim=1), torch.tensor([1.0, 0.5, 0.0]))


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        (torch.zeros(8), "all zeros"),
        (torch.tensor([1.0, float("nan")]), "NaN"),
        (torch.ones(2, 3, 4), "shape"),
        (torch.ones(0), "shape"),
    ],
)
def test_invalid_vectors_are_refused(vector, message):
    with pytest.raises(ValueError, match=message):
        Direction(vector)


def test_a_direction_of_the_wrong_size_names_what_fits():
    d = Direction(torch.ones(16), name="smile")
    assert d.for_model(4, 16).shape == (4, 16)
    with pytest.raises(ValueError, match=r"'smile' has shape \(16,\).*\(32,\).*\(8, 32\)"):
        d.for_model(8, 32)
    with pytest.raises(ValueError, match="does not fit"):
        Direction(torch.ones(4, 32)).for_model(8, 32)


@pytest.mark.parametrize("suffix", [".npy", ".safetensors"])
def test_a_direction_file_round_trips(tmp_path, suffix):
    d = Direction(torch.randn(32), name="age")
    path = d.save(tmp_path / f"age{suffix}")
    loaded = Direction.load(path)
    assert loaded.name == "age"
    torch.testing.assert_close(loaded.vector, d.vector)
    torch.testing.assert_close(as_direction(str(path)).vector, d.vector)


def test_pickles_and_unknown_files_are_refused(tmp_path):
    (tmp_path / "smile.pt").write_bytes(b"\x80\x02")
    with pytest.raises(WeightsError, match="pickle"):
        Direction.load(tmp_path / "smile.pt")
    (tmp_path / "smile.txt").write_text("1 2 3")
    with pytest.raises(ValueError, match=r"\.npy, \.safetensors"):
        Direction.load(tmp_path / "smile.txt")
    with pytest.raises(FileNotFoundError, match="DirectionSet"):
        as_direction("smile")


def test_a_folder_of_named_directions_round_trips(tmp_path):
    directions = DirectionSet(
        [Direction(torch.randn(32), name="smile", description="more smile"), Direction(torch.randn(8, 32), name="age")]
    )
    directions.save_pretrained(tmp_path)
    assert (tmp_path / DIRECTIONS_WEIGHTS).is_file() and (tmp_path / DIRECTIONS_METADATA).is_file()
    loaded = DirectionSet.from_pretrained(tmp_path)
    assert list(loaded) == ["smile", "age"]
    assert loaded["smile"].description == "more smile"
    torch.testing.assert_close(loaded["age"].vector, directions["age"].vector)
    # the copy of the metadata in the safetensors header is enough (a Hub snapshot brings *.safetensors only)
    (tmp_path / DIRECTIONS_METADATA).unlink()
    assert DirectionSet.from_pretrained(tmp_path)["smile"].description == "more smile"


def test_a_recommended_strength_round_trips_and_survives_renaming_and_negation(tmp_path):
    smile = Direction(torch.randn(32), name="smile", strength=2.5)
    directions = DirectionSet({"smile": smile, "grin": smile, "age": Direction(torch.randn(32), name="age")})
    assert directions["grin"].strength == 2.5 and (-smile).strength == 2.5
    directions.save_pretrained(tmp_path)
    meta = json.loads((tmp_path / DIRECTIONS_METADATA).read_text())
    assert meta["directions"]["smile"]["strength"] == 2.5 and "strength" not in meta["directions"]["age"]
    for loaded in (DirectionSet.from_pretrained(tmp_path), DirectionSet.load(tmp_path / DIRECTIONS_WEIGHTS)):
        assert loaded["smile"].strength == 2.5 and loaded["age"].strength is None


@pytest.mark.parametrize("strength", [0, -1.0, float("nan"), float("inf"), True, "2"])
def test_a_bad_recommended_strength_is_refused(strength):
    with pytest.raises(ValueError, match=r"strength=.* is invalid: expected a (finite )?number > 0"):
        Direction(torch.randn(8), name="smile", strength=strength)


def test_metadata_that_disagrees_with_the_weights_is_an_error(tmp_path):
    DirectionSet({"smile": torch.randn(4)}).save_pretrained(tmp_path)
    meta = json.loads((tmp_path / DIRECTIONS_METADATA).read_text())
    meta["directions"]["pose"] = meta["directions"].pop("smile")
    (tmp_path / DIRECTIONS_METADATA).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"describes directions \['pose'\] but the weights hold \['smile'\]"):
        DirectionSet.from_pretrained(tmp_path)


def test_a_folder_without_directions_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=DIRECTIONS_WEIGHTS):
        DirectionSet.from_pretrained(tmp_path)


def test_an_unknown_name_lists_the_known_ones():
    directions = DirectionSet({"smile": torch.ones(4), "age": torch.ones(4)})
    with pytest.raises(UnknownDirectionError, match="unknown direction 'smiel'; known directions: smile, age"):
        directions["smiel"]
    assert "smiel" not in directions and directions.get("smiel") is None  # still a Mapping (KeyError)


def test_invalid_names_are_refused():
    with pytest.raises(ValueError, match="name"):
        Direction(torch.ones(4), name="a/b")


def planted(n: int, dim: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Anisotropic, off-centre latents labelled by the side of a hyperplane with a known normal."""
    gen = torch.Generator().manual_seed(seed)
    normal = torch.randn(dim, generator=gen)
    normal = normal / normal.norm()
    latents = torch.randn(n, dim, generator=gen) * 1.5 + 0.7
    labels = (latents - 0.7) @ normal + 0.1 * torch.randn(n, generator=gen) > 0
    return latents, labels, normal


def test_fit_direction_recovers_a_planted_direction():
    latents, labels, normal = planted(1000, 32)
    direction = fit_direction(latents, labels, name="planted")
    assert direction.name == "planted" and direction.shape == (32,)
    assert float(direction.vector @ normal) > 0.95  # and it points toward the positive label
    assert "accuracy" in direction.description


def test_fit_direction_takes_numpy_and_per_layer_latents():
    latents, labels, normal = planted(600, 16)
    direction = fit_direction(latents.numpy(), labels.numpy().astype(np.int64))
    assert float(direction.vector @ normal) > 0.95
    w_plus = latents[:, None].repeat(1, 3, 1)
    per_layer = fit_direction(w_plus, labels)
    assert per_layer.shape == (3, 16)
    assert float(per_layer.vector[0] @ normal) / float(per_layer.vector[0].norm()) > 0.95


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (torch.ones(10), "one class"),
        (torch.arange(10.0), "binary"),
        (torch.tensor([0, 1] * 4), "8 labels for 10 latents"),
    ],
)
def test_fit_direction_refuses_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        fit_direction(torch.randn(10, 4), labels)


def test_principal_directions_match_the_pca_of_sampled_w():
    model = tiny_model()
    directions = principal_directions(model, 3, samples=4000, seed=1, batch_size=4000)
    assert list(directions) == ["pc0", "pc1", "pc2"]
    basis = torch.stack([directions[k].vector for k in directions]).double()
    torch.testing.assert_close(basis @ basis.T, torch.eye(3, dtype=torch.float64), atol=1e-5, rtol=0)

    z = torch.randn(4000, model.style_dim, generator=torch.Generator().manual_seed(1))
    w = model.generator.mapping(z).double().detach()
    _, _, vh = torch.linalg.svd(w - w.mean(0), full_matrices=False)
    for k in range(3):
        assert abs(float(basis[k] @ vh[k])) > 0.99
    variances = ((w - w.mean(0)) @ basis.T).var(0)
    assert bool((variances[:-1] >= variances[1:]).all())
    again = principal_directions(model, 3, samples=4000, seed=1, batch_size=1000)
    torch.testing.assert_close(again["pc0"].vector, directions["pc0"].vector, atol=1e-4, rtol=0)


@pytest.mark.parametrize(("n", "samples"), [(0, 100), (33, 1000), (4, 4)])
def test_principal_directions_refuse_bad_counts(n, samples):
    with pytest.raises(ValueError):
        principal_directions(tiny_model(), n, samples=samples)


HUB_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from interestyle import DirectionSet
    directions = DirectionSet.from_pretrained(sys.argv[1])
    print(json.dumps({k: [d.description, d.vector.tolist()] for k, d in directions.items()}))
    """
)


def test_directions_from_a_hub_repo(tmp_path):
    repo = tmp_path / "hub" / "interestyle-tests" / "directions"
    DirectionSet([Direction(torch.randn(4), name="smile", description="more smile")]).save_pretrained(repo)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    with HubServer(tmp_path / "hub") as server:
        env.update(HF_ENDPOINT=server.url, HF_HOME=str(tmp_path / "hf-home"))
        proc = subprocess.run(
            [sys.executable, "-c", HUB_SCRIPT, "interestyle-tests/directions"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded["smile"][0] == "more smile"
    assert any("directions.safetensors" in r for r in server.requests)


def test_shipped_directions_are_none_for_a_model_without_them(tmp_path):
    from interestyle.directions import shipped_directions

    tiny_model().save_pretrained(tmp_path)
    assert shipped_directions(tmp_path) is None
    DirectionSet({"up": torch.ones(tiny_model().style_dim)}).save(tmp_path / "directions.safetensors")
    assert list(shipped_directions(tmp_path)) == ["up"]
    assert "grey_hair" in shipped_directions("demo")
    with pytest.raises(FileNotFoundError):
        shipped_directions(tmp_path / "missing")


def test_a_directions_folder_a_save_was_interrupted_in_refuses_to_load(tmp_path):
    from interestyle.serialization import INCOMPLETE_MARKER

    DirectionSet({"smile": torch.ones(8)}).save_pretrained(tmp_path / "d")
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [DIRECTIONS_METADATA, DIRECTIONS_WEIGHTS]
    (tmp_path / "d" / INCOMPLETE_MARKER).write_text("")
    with pytest.raises(WeightsError, match="is incomplete"):
        DirectionSet.from_pretrained(tmp_path / "d")
