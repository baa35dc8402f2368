"""`ravebox fit`: the table, the recommendation rule, and --write keeping the box file's comments."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from ravebox.engine.cost import GraphCost
from ravebox.engine.fit import FitRow, recommend
from ravebox.models.timing import CallTiming
from ravebox.service.cli import main
from ravebox.service.commands import fit

MODELS = Path(__file__).resolve().parents[1] / "models"
SR = 48000


def _row(multiple: int, tuned: bool, work_ms: float, graph: str = "g", tail_ms: float = 0.0) -> FitRow:
    """A measured row whose work (CPU p99) is ``work_ms``, its wall p99 ``tail_ms`` more."""
    block, work = 2048 * multiple, work_ms / 1e3
    timing = CallTiming(work * 0.8, work + tail_ms / 1e3, work + tail_ms / 1e3, 10, work * 0.8, work)
    return FitRow(graph, multiple, block, tuned, GraphCost(graph, block / SR, {"decoder:0": timing}), block)


def test_recommends_the_smallest_multiple_that_keeps_the_margin():
    # ratio 2048 at 48 kHz: blocks of 42.7, 85.3, 170.7 ms
    rows = [_row(1, False, 40), _row(2, False, 75), _row(4, False, 110),
            _row(1, True, 35), _row(2, True, 50), _row(4, True, 70)]
    rec = recommend(rows, margin=0.3)
    assert (rec.multiple, rec.tuned) == (2, True)        # 50 ms <= 0.7 * 85.3 ms; untuned 75 ms is not
    assert "block_multiple = 2, conv tuning on" in rec.text()


def test_a_wall_tail_of_another_thread_does_not_decide_the_block():
    rows = [_row(1, True, 35, tail_ms=60), _row(2, True, 50, tail_ms=60), _row(4, True, 70, tail_ms=60)]
    rec = recommend(rows, margin=0.3)
    assert rec.multiple == 2 and "50.0 ms of work per 85.3 ms block" in rec.text()


def test_graphs_of_one_worker_add_up():
    rows = [_row(1, False, 20, "a"), _row(1, False, 20, "b"), _row(2, False, 25, "a"), _row(2, False, 25, "b")]
    assert recommend(rows, margin=0.3).multiple == 2     # 40 ms of 42.7 ms does not keep 30 %


def test_nothing_fits_says_so_with_the_best_candidate():
    rec = recommend([_row(1, False, 60), _row(2, False, 100)], margin=0.3)
    assert rec.multiple is None and "no block multiple keeps 30% margin" in rec.text()


def _box(tmp_path: Path) -> Path:
    path = tmp_path / "box.toml"
    path.write_text(f"""# my box, tuned by hand
[models]
a = "{MODELS / 'rave_a.ts'}"   # the small test model

[graphs.main]
encoder = "a"

[output]
ceiling_db = -1.0    # keep this comment
block_multiple = 8   # will be replaced
""")
    return path


def test_fit_a_box_prints_the_table_and_writes_the_recommendation(tmp_path, capsys):
    box = _box(tmp_path)
    code = main(["fit", str(box), "--multiples", "1,2", "--calls", "5", "--write", "--margin", "0"])
    out = capsys.readouterr().out
    assert code == 0
    header, *rows = [line for line in out.splitlines() if line.startswith(("graph", "main"))]
    assert header.split() == ["graph", "tuning", "multiple", "block", "cpu", "ms/s", "RTF", "work", "ms", "p99", "ms",
                              "block", "ms", "latency", "ms"]
    assert [r.split()[1:4] for r in rows] == [["off", "1", "2048"], ["off", "2", "4096"],
                                              ["on", "1", "2048"], ["on", "2", "4096"]]
    for r in rows:
        cost, rtf, work, p99, block_ms, latency = (float(v) for v in r.split()[4:10])
        assert cost > 0 and rtf > 0 and 0 < work and p99 > 0 and latency > block_ms
    text = box.read_text()
    assert "recommended: block_multiple = " in out and "wrote [output] block_multiple" in out
    chosen = int(out.split("recommended: block_multiple = ")[1].split(",")[0])
    assert f"block_multiple = {chosen}" in text and "block_multiple = 8" not in text
    assert "# keep this comment" in text and "# my box, tuned by hand" in text and "# the small test model" in text


def test_fit_a_model_file_and_refuse_write_there(capsys):
    out = io.StringIO()
    args = argparse.Namespace(target=str(MODELS / "rave_a.ts"), multiples="1", margin=0.3, period=128, calls=5,
                              write=False)
    assert fit.run(args, out) in (0, 1)
    assert "rave_a" in out.getvalue() and "period of 128 frames" in out.getvalue()
    assert main(["fit", str(MODELS / "rave_a.ts"), "--write"]) == 2
    assert "--write needs a box config" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--multiples", "0,2"], ["--multiples", "x"], ["--margin", "1.5"]])
def test_bad_options_are_refused(argv, capsys):
    assert main(["fit", str(MODELS / "rave_a.ts"), *argv]) == 2
    assert "--multiples takes positive integers" in capsys.readouterr().err


def test_a_broken_box_is_an_error_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[graphs.main]\nencoder = 'nope'\n")
    assert main(["fit", str(bad)]) == 1
    assert "ravebox fit:" in capsys.readouterr().err
