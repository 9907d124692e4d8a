"""The field's editing-direction files, built here in their projects' formats with tiny shapes, converted to
DirectionSet folders, and edited with: each edit is checked against the formula of the project that wrote
the file (e4e ``editings/latent_editor.py`` and ``editings/ganspace.py``, GANSpace ``interactive.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import tiny_model
from interestyle import Direction, DirectionSet, edit
from interestyle.cli import main
from interestyle.convert import convert_checkpoint
from interestyle.errors import WeightsError

N_LATENT, DIM = 8, 32  # the tiny model's W+


@pytest.fixture(scope="module")
def model():
    return tiny_model(seed=4)


@pytest.fixture(scope="module")
def latents(model):
    gen = torch.Generator().manual_seed(5)
    return model.latent_avg[None] + torch.randn(2, N_LATENT, DIM, generator=gen)


def unit_rows(n: int, seed: int) -> torch.Tensor:
    comp = torch.randn(n, 1, DIM, generator=torch.Generator().manual_seed(seed))
    return comp / comp.norm(dim=-1, keepdim=True)


def e4e_pca(seed: int = 0) -> dict[str, torch.Tensor]:
    """``ffhq_pca.pt`` as e4e ships it: comp (N, 1, D) unit rows, mean (1, D), std (N,), float32."""
    gen = torch.Generator().manual_seed(seed)
    return {
        "comp": unit_rows(6, seed),
        "mean": torch.randn(1, DIM, generator=gen),
        "std": torch.rand(6, generator=gen) + 0.5,
    }


# -- InterFaceGAN: latent + factor * direction ----------------------------------------------------------------
def test_e4e_interfacegan_files_merge_into_one_folder_and_edit_as_e4e_does(tmp_path, model, latents):
    gen = torch.Generator().manual_seed(1)
    files = {
        "age": torch.randn(1, DIM, generator=gen) * 0.4,  # not unit length: the length is part of the edit
        "smile": torch.randn(1, DIM, generator=gen),
        "pose": torch.randn(1, N_LATENT, DIM, generator=gen),  # per style vector, as e4e's pose.pt
    }
    paths = []
    for name, tensor in files.items():
        paths.append(tmp_path / f"{name}.pt")
        torch.save(tensor, paths[-1])
    result = convert_checkpoint(paths, tmp_path / "directions")
    assert result.kind == "interfacegan" and result.n_directions == 3
    assert "wrote 3 directions" in result.summary()
    directions = DirectionSet.from_pretrained(tmp_path / "directions")
    assert list(directions) == ["age", "smile", "pose"]
    for name, raw in files.items():
        for factor in (-3.0, 2.0):
            expected = latents + factor * raw  # e4e: LatentEditor.apply_interfacegan
            got = edit(model, latents, directions[name], factor).latents
            torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    card = (tmp_path / "directions" / "README.md").read_text()
    assert all(f"`{name}.pt`" in card for name in files) and "directions.safetensors" in card


def test_an_interfacegan_npy_boundary_converts_and_a_z_space_one_is_flagged(tmp_path, model, latents):
    boundary = np.random.default_rng(0).normal(size=(1, DIM))
    boundary /= np.linalg.norm(boundary)  # genforce's boundaries are unit float64
    np.save(tmp_path / "stylegan_ffhq_smile_w_boundary.npy", boundary)
    np.save(tmp_path / "stylegan_ffhq_smile_boundary.npy", boundary)
    w = convert_checkpoint(tmp_path / "stylegan_ffhq_smile_w_boundary.npy", tmp_path / "w")
    z = convert_checkpoint(tmp_path / "stylegan_ffhq_smile_boundary.npy", tmp_path / "z")
    assert not any("Z-space" in n for n in w.notes) and any("Z-space" in n for n in z.notes)
    direction = DirectionSet.from_pretrained(tmp_path / "w")["stylegan_ffhq_smile_w_boundary"]
    expected = latents + 1.5 * torch.from_numpy(boundary).float()
    torch.testing.assert_close(edit(model, latents, direction, 1.5).latents, expected, rtol=0, atol=1e-5)


# -- GANSpace as e4e uses it: set the coordinate on a layer range ---------------------------------------------
def e4e_ganspace_edit(latent: torch.Tensor, pca: dict, idx: int, start: int, end: int, strength: float) -> torch.Tensor:
    """e4e's ``editings/ganspace.py`` (``edit`` with ``get_delta``), for one W+ latent (n_latent, D)."""
    w_centered = latent - pca["mean"]
    w_coord = torch.sum(w_centered[0].reshape(-1) * pca["comp"][idx].reshape(-1)) / pca["std"][idx]
    delta = (strength - w_coord) * pca["comp"][idx] * pca["std"][idx]
    padded = torch.zeros(latent.shape)
    padded[start:end] += delta.repeat(end - start, 1)
    return latent + padded


def test_e4e_ganspace_pca_sets_the_coordinate_on_the_layer_range(tmp_path, model, latents):
    pca = e4e_pca()
    torch.save(pca, tmp_path / "ffhq_pca.pt")
    result = convert_checkpoint(tmp_path / "ffhq_pca.pt", tmp_path / "ganspace")
    assert result.kind == "ganspace" and result.n_directions == 6
    directions = DirectionSet.from_pretrained(tmp_path / "ganspace")
    assert list(directions) == [f"pc{k}" for k in range(6)]
    for idx, start, end, strength in [(3, 2, 5, 1.5), (0, 0, 8, -2.0), (5, 6, 7, 4.0)]:
        got = edit(model, latents, directions[f"pc{idx}"], strength, layers=f"{start}:{end}").latents
        expected = torch.stack([e4e_ganspace_edit(w, pca, idx, start, end, strength) for w in latents])
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    # after an edit that includes style vector 0 its coordinate is the strength, in standard deviations
    d = directions["pc2"]
    edited = edit(model, latents, d, 2.5, layers="0:4").latents
    coordinate = ((edited[:, 0] - pca["mean"][0]) * pca["comp"][2, 0]).sum(-1) / pca["std"][2]
    torch.testing.assert_close(coordinate, torch.full((2,), 2.5), rtol=0, atol=1e-4)


def test_e4e_ganspace_needs_unit_components(tmp_path):
    pca = e4e_pca()
    pca["comp"][4] = pca["comp"][4] * 2
    torch.save(pca, tmp_path / "bad_pca.pt")
    with pytest.raises(WeightsError, match=r"component 4 has length 2; e4e's coordinate edits need unit"):
        convert_checkpoint(tmp_path / "bad_pca.pt", tmp_path / "out")


# -- GANSpace's own .npz: an offset in standard deviations ----------------------------------------------------
def ganspace_npz_edit(latent: torch.Tensor, data, idx: int, start: int, end: int, sigma: float) -> torch.Tensor:
    """GANSpace ``interactive.py``: ``z[l] = z[l] + Z_comp[c] * Z_stdev[c] * coord`` for l in the range."""
    out = latent.clone()
    delta = torch.from_numpy(data["lat_comp"][idx] * data["lat_stdev"][idx] * sigma).reshape(-1)
    for layer in range(start, end):
        out[layer] = out[layer] + delta
    return out


def test_ganspace_npz_moves_by_standard_deviations_on_the_layer_range(tmp_path, model, latents):
    rng = np.random.default_rng(2)
    comp = rng.normal(size=(5, 1, DIM)).astype(np.float32)
    comp /= np.linalg.norm(comp, axis=-1, keepdims=True)
    arrays = {
        "act_comp": rng.normal(size=(5, 3, 4, 4)).astype(np.float32),
        "act_mean": np.zeros((3, 4, 4), np.float32),
        "act_stdev": np.ones(5, np.float32),
        "lat_comp": comp,
        "lat_mean": rng.normal(size=(1, DIM)).astype(np.float32),
        "lat_stdev": (rng.random(5) + 0.5).astype(np.float32),
        "var_ratio": np.full(5, 0.1, np.float32),
        "random_stdevs": np.ones(5, np.float32),
    }
    np.savez_compressed(tmp_path / "stylegan2-ffhq_style_ipca_c80_n1000000_w.npz", **arrays)
    result = convert_checkpoint(tmp_path / "stylegan2-ffhq_style_ipca_c80_n1000000_w.npz", tmp_path / "ganspace")
    assert {line.split(":")[0] for line in result.dropped} == {
        "act_comp",
        "act_mean",
        "act_stdev",
        "var_ratio",
        "random_stdevs",
    }
    directions = DirectionSet.from_pretrained(tmp_path / "ganspace")
    for idx, start, end, sigma in [(1, 0, 3, 2.0), (4, 3, 8, -1.5)]:
        got = edit(model, latents, directions[f"pc{idx}"], sigma, layers=range(start, end)).latents
        expected = torch.stack([ganspace_npz_edit(w, arrays, idx, start, end, sigma) for w in latents])
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_an_npz_with_an_object_array_is_refused(tmp_path):
    np.savez(
        tmp_path / "named_edit.npz", lat_comp=np.ones((1, DIM)), decomposition=np.array([{"name": "pca"}], dtype=object)
    )
    with pytest.raises(WeightsError, match="object arrays are refused"):
        convert_checkpoint(tmp_path / "named_edit.npz", tmp_path / "out")


def test_a_pickled_direction_is_read_with_weights_only(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    torch.save({"comp": Payload()}, tmp_path / "evil_pca.pt")
    with pytest.raises(WeightsError, match=r"contains pickled object\(s\) of type builtins.print"):
        convert_checkpoint(tmp_path / "evil_pca.pt", tmp_path / "out")


def test_only_direction_files_merge_and_names_must_differ(tmp_path):
    torch.save(torch.randn(1, DIM), tmp_path / "age.pt")
    torch.save(e4e_pca(), tmp_path / "ffhq_pca.pt")
    (tmp_path / "again").mkdir()
    torch.save(torch.randn(1, DIM), tmp_path / "again" / "age.pt")
    with pytest.raises(ValueError, match="two sources hold a direction named 'age'"):
        convert_checkpoint([tmp_path / "age.pt", tmp_path / "again" / "age.pt"], tmp_path / "out")
    mixed = convert_checkpoint([tmp_path / "age.pt", tmp_path / "ffhq_pca.pt"], tmp_path / "mixed")
    assert mixed.n_directions == 7
    generator = tiny_model().decoder
    torch.save({"g_ema": generator.state_dict(), "latent_avg": torch.zeros(DIM)}, tmp_path / "stylegan2.pt")
    with pytest.raises(ValueError, match=r"stylegan2\.pt is a stylegan2 checkpoint: only direction files merge"):
        convert_checkpoint([tmp_path / "age.pt", tmp_path / "stylegan2.pt"], tmp_path / "no")


# -- from the command line -------------------------------------------------------------------------------------
def test_cli_converts_and_edits_with_each_semantics(tmp_path, model, latents, capsys):
    model.save_pretrained(tmp_path / "model")
    pca = e4e_pca(3)
    torch.save(pca, tmp_path / "ffhq_pca.pt")
    smile = torch.randn(1, DIM, generator=torch.Generator().manual_seed(9)) * 0.7
    torch.save(smile, tmp_path / "smile.pt")
    assert main(["convert", str(tmp_path / "ffhq_pca.pt"), "--out", str(tmp_path / "ganspace")]) == 0
    assert main(["convert", str(tmp_path / "smile.pt"), "--out", str(tmp_path / "interfacegan")]) == 0
    assert "kind: ganspace" in capsys.readouterr().out
    save_file({"latents": latents[0].contiguous()}, str(tmp_path / "photo.safetensors"))

    def cli_edit(directions: str, name: str, *extra: str) -> torch.Tensor:
        out = tmp_path / f"edited-{name}"
        argv = ["edit", str(tmp_path / "photo.safetensors"), "--model", str(tmp_path / "model"), "--directions"]
        argv += [str(tmp_path / directions), "--direction", name, "--strength", "1.5", "--out", str(out), *extra]
        assert main(argv) == 0
        return load_file(str(out / f"photo_{name}.safetensors"))["latents"][0]

    expected = e4e_ganspace_edit(latents[0], pca, 4, 3, 6, 1.5)
    torch.testing.assert_close(cli_edit("ganspace", "pc4", "--layers", "3:6"), expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(cli_edit("interfacegan", "smile"), latents[0] + 1.5 * smile, rtol=0, atol=1e-5)


# -- what a DirectionSet keeps ---------------------------------------------------------------------------------
def test_unit_origin_and_layers_survive_the_folder_and_the_header(tmp_path):
    d = Direction(torch.randn(DIM), name="pc0", unit=2.5, origin=torch.randn(DIM), layers=(2, 5), description="x")
    DirectionSet([d, Direction(torch.randn(DIM), name="plain")]).save_pretrained(tmp_path)
    for loaded in (DirectionSet.from_pretrained(tmp_path), DirectionSet.load(tmp_path / "directions.safetensors")):
        got = loaded["pc0"]
        assert (got.unit, got.layers, got.description) == (2.5, (2, 5), "x")
        torch.testing.assert_close(got.origin, d.origin)
        assert loaded["plain"].unit == 1.0 and loaded["plain"].origin is None and loaded["plain"].layers is None
    assert set(load_file(str(tmp_path / "directions.safetensors"))) == {"pc0", "pc0/origin", "plain"}
    negated = -d
    assert (negated.unit, negated.layers) == (2.5, (2, 5)) and torch.equal(negated.vector, -d.vector)
    with pytest.raises(ValueError, match=r"a \.npy cannot hold"):
        d.save(tmp_path / "pc0.npy")


def test_a_directions_own_layer_range_applies_unless_layers_are_given(model, latents):
    d = Direction(torch.randn(DIM), name="d", layers=(1, 3))
    moved = edit(model, latents, d, 1.0).latents - latents
    assert moved[:, [0, 3, 4, 5, 6, 7]].abs().max() == 0 and moved[:, 1:3].abs().min() > 0
    moved = edit(model, latents, d, 1.0, layers="fine").latents - latents
    assert moved[:, :3].abs().max() == 0
    with pytest.raises(ValueError, match="edits style vectors 1:30, but this model has 8"):
        edit(model, latents, Direction(torch.randn(DIM), layers=(1, 30)), 1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"unit": 0}, r"unit=0 is invalid: expected a number > 0 \(the W distance"),
        ({"unit": float("inf")}, "unit=inf is invalid"),
        ({"layers": (3, 3)}, r"layers\[1\]=3 is invalid: expected an integer >= 4"),
        ({"layers": (-1, 3)}, r"layers\[0\]=-1 is invalid"),
        ({"layers": 3}, r"layers=3 is invalid: expected \(start, stop\)"),
        ({"origin": torch.zeros(DIM + 1)}, r"an origin of shape \(33,\)"),
    ],
)
def test_bad_semantics_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Direction(torch.randn(DIM), **kwargs)


def test_an_origin_needs_a_shared_direction():
    with pytest.raises(ValueError, match=r"needs a direction of the same \(style_dim,\) shape"):
        Direction(torch.randn(N_LATENT, DIM), origin=torch.zeros(DIM))


def test_the_coordinate_is_read_on_the_first_style_vector_as_e4e_does(model, latents):
    """A check of the formula itself: editing only style vector 3 still reads the coordinate on vector 0."""
    pca = e4e_pca(7)
    d = Direction(pca["comp"][1], unit=float(pca["std"][1]), origin=pca["mean"][0])
    edited = edit(model, latents, d, 0.0, layers=[3]).latents
    expected = torch.stack([e4e_ganspace_edit(w, pca, 1, 3, 4, 0.0) for w in latents])
    torch.testing.assert_close(edited, expected, rtol=0, atol=1e-5)
    assert not torch.allclose(edited[:, 3], latents[:, 3])
