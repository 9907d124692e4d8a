"""benchmarks/refine.py end to end in quick mode on tiny models; its cost mode; docs/refine.md's figure."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import interestyle as its
from conftest import tiny_config, tiny_model

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "refine.py"


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_mode_end_to_end_and_resumes_from_its_cache(tmp_path):
    tiny_model(seed=0).save_pretrained(tmp_path / "a")
    out, cache = tmp_path / "figures.json", tmp_path / "rows.jsonl"
    args = [sys.executable, str(SCRIPT), "--model", f"tiny={tmp_path / 'a'}", "--quick", "-n", "2"]
    args += ["--json", str(out), "--cache", str(cache), "--domain", "v1"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    for condition in ("encoder", "plain PTI", "masked PTI"):
        assert f"| tiny | {condition} |" in proc.stdout
    figures = json.loads(out.read_text())
    summary = figures["summary"]["tiny"]
    assert figures["n"] == 2 and figures["steps"] == 5 and len(figures["faces"]["tiny"]) == 2
    assert summary["encoder"]["edit_response"] == pytest.approx(1.0)
    for condition in ("plain PTI", "masked PTI"):
        row = summary[condition]
        assert row["n"] == 2 and row["cpu_s"] > 0 and row["interest_mse"] >= 0 and -1 <= row["interest_ssim"] <= 1
        assert row["leak_mse"] >= 0 and abs(row["edit_response"]) < 10
    lines = cache.read_text().splitlines()
    assert len(lines) == 2
    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert cache.read_text().splitlines() == lines  # nothing measured twice
    assert json.loads(out.read_text())["summary"] == figures["summary"]
    other = subprocess.run([*args[:-1], "v2"], capture_output=True, text=True, timeout=600)
    assert other.returncode == 0, other.stderr
    rows = [json.loads(line) for line in cache.read_text().splitlines()]
    assert [r.get("domain") for r in rows] == ["v1", "v1", "v2", "v2"]  # another domain's faces: measured anew
    assert json.loads(out.read_text())["domain"] == "v2"


def test_a_model_spec_without_a_name_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--model", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "NAME=DIR_OR_REPO" in proc.stderr


def test_cost_mode_times_steps_and_counts_their_flops(monkeypatch, capsys):
    bench = load(SCRIPT, "refine_benchmark")
    monkeypatch.setattr(bench, "_shape", lambda resolution: tiny_config(resolution=resolution, input_size=32))
    before = torch.get_num_threads()
    try:
        assert bench.main(["--cost", "--cost-resolutions", "32", "--cost-steps", "4"]) == 0
    finally:
        torch.set_num_threads(before)
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| 32 px"))
    gflop, per_step = (float(cell) for cell in row.split("|")[2:4])
    expected = bench.PASSES_PER_STEP * bench.generator_flops(tiny_config(resolution=32).generator) / 1e9
    assert gflop == pytest.approx(expected, abs=0.05) and per_step > 0


def test_the_figure_script_draws_a_row_per_face_and_the_page_shows_it():
    figures = load(ROOT / "docs" / "figures" / "refine.py", "refine_figures")
    model = tiny_model(resolution=64, input_size=64)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        direction = its.Direction(torch.randn(model.style_dim), name="d", strength=0.5)
        sheet = figures.before_after(model, direction, steps=2, faces=2)
    finally:
        torch.set_num_threads(before)
    cell = figures.CELL + figures.PAD
    assert sheet.size == (figures.LABEL_W + figures.PAD + 7 * cell, 2 * figures.LABEL_H + figures.PAD + 2 * cell)
    page = (ROOT / "docs" / "refine.md").read_text()
    assert re.search(r"\(img/refine-before-after\.png\)", page)
    assert (ROOT / "docs" / "img" / "refine-before-after.png").stat().st_size < 400_000


def test_on_v2_faces_the_read_out_measures_each_condition_s_edits(tmp_path):
    model = tiny_model(seed=0, resolution=64, input_size=64)
    model.save_pretrained(tmp_path / "a")
    torch.manual_seed(1)
    smile = its.Direction(torch.randn(model.n_latent, model.style_dim), name="smile", strength=0.7)
    its.DirectionSet([smile]).save_pretrained(tmp_path / "directions")
    out = tmp_path / "figures.json"
    args = [sys.executable, str(SCRIPT), "--model", f"tiny={tmp_path / 'a'}", "--quick", "-n", "2", "--domain", "v2"]
    proc = subprocess.run(
        [*args, "--json", str(out), "--attribute-directions", str(tmp_path / "directions")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "attribute move" in proc.stdout and "the edits of" in proc.stdout
    summary = json.loads(out.read_text())["summary"]["tiny"]
    for condition in ("encoder", "plain PTI", "masked PTI"):
        row = summary[condition]
        assert row["n_attribute"] == 2 and -1 <= row["attribute_move"] <= 1
    off = subprocess.run([*args, "--json", str(out), "--attribute-directions", "none"], capture_output=True, text=True)
    assert off.returncode == 0, off.stderr
    summary = json.loads(out.read_text())["summary"]["tiny"]
    assert summary["encoder"]["n_attribute"] == 0 and "not measured" in off.stdout


def test_attribute_edits_need_a_named_edit_and_a_model_they_fit():
    bench = load(SCRIPT, "refine_benchmark_attributes")
    readout = bench.load_readout()
    with pytest.raises(ValueError, match="none of the directions"):
        bench.AttributeEdits(readout, its.DirectionSet([its.Direction(torch.randn(32), name="tilt")]))
    edits = bench.AttributeEdits(readout, its.DirectionSet([its.Direction(torch.randn(32), name="yaw")]))
    assert edits.fits(tiny_model(resolution=64, input_size=64))
    assert not edits.fits(tiny_model(resolution=32))  # the read-out reads 64 px faces
    other = bench.AttributeEdits(readout, its.DirectionSet([its.Direction(torch.randn(16), name="yaw")]))
    assert not other.fits(tiny_model(resolution=64, input_size=64))  # style_dim 32
    assert bench.attribute_edits("demo", "v1") is None and bench.attribute_edits("none", "v2") is None
