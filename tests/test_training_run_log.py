"""The run log: a resumed run keeps the CSV rows up to its checkpoint and drops the ones it runs again."""

import csv

from interestyle.training.run_log import CSV_FIELDS, RunLog


def rows(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_rows_after_the_resumed_step_are_dropped_and_values_formatted(tmp_path):
    log = RunLog(tmp_path)
    for step in (1, 2, 3):
        log.write({"step": float(step), "loss": 1 / 3, "val_full_mse": 0.5, "not_a_column": 1.0}, step)
    log.close()
    written = rows(tmp_path / "log.csv")
    assert [r["step"] for r in written] == ["1", "2", "3"]
    assert written[0]["loss"] == "0.333333" and written[0]["val_full_mse"] == "0.5" and written[0]["id"] == ""
    assert list(written[0]) == list(CSV_FIELDS)

    resumed = RunLog(tmp_path, resumed_step=2)
    resumed.write({"step": 3.0, "loss": 0.25}, 3)
    resumed.close()
    assert [(r["step"], r["loss"]) for r in rows(tmp_path / "log.csv")] == [
        ("1", "0.333333"),
        ("2", "0.333333"),
        ("3", "0.25"),
    ]


def test_a_new_run_starts_a_new_csv(tmp_path):
    (tmp_path / "log.csv").write_text("step,loss\n1,9\n")
    RunLog(tmp_path).close()
    assert rows(tmp_path / "log.csv") == []


def test_a_row_cut_short_by_a_killed_run_is_dropped(tmp_path):
    log = RunLog(tmp_path)
    for step in (1, 2):
        log.write({"step": float(step), "loss": 0.5}, step)
    log.close()
    with (tmp_path / "log.csv").open("a") as f:
        f.write("1")  # the start of step 12's row when the process died
    RunLog(tmp_path, resumed_step=10).close()
    assert [r["step"] for r in rows(tmp_path / "log.csv")] == ["1", "2"]  # not a second, empty row "1"
