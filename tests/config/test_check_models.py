"""`ravebox check` opens a box's model files: roles, rates, latent counts, mapping dims, discrete models."""

from __future__ import annotations

import io
from pathlib import Path

from ravebox.service.cli import main
from ravebox.service.commands.check import check_file, check_model_file

MODELS = Path(__file__).resolve().parents[1] / "models"
TABLE = (f'[models]\nt44 = "{MODELS / "tone_44k_512.ts"}"\nt48 = "{MODELS / "tone_48k_2048.ts"}"\n'
         f't44b = "{MODELS / "tone_44k_2048.ts"}"\ncodes = "{MODELS / "codes_44k_2048.ts"}"\n'
         f'a = "{MODELS / "rave_a.ts"}"\nb = "{MODELS / "rave_b.ts"}"\np = "{MODELS / "prior_a.ts"}"\n'
         f'nostream = "{MODELS / "rave_a_nostream.ts"}"\n')


def _check(tmp_path: Path, body: str, mapping: str | None = None) -> tuple[int, str, Path]:
    box = tmp_path / "box.toml"
    if mapping is not None:
        (tmp_path / "map.toml").write_text(mapping)
        body += '[mapping]\nfile = "map.toml"\n'
    box.write_text(TABLE + body)
    out = io.StringIO()
    return check_file(box, out=out), out.getvalue(), box


def test_mixed_rates_and_ratios_pass(tmp_path):
    status, text, box = _check(tmp_path, '[graphs.g]\nencoder = "t44"\ndecoder = "t48"\n'
                                         '[graphs.h]\nencoder = "a"\ndecoder = "b"\nmatch = "crop"\n'
                                         '[graphs.k]\nencoder = "t48"\ndecoders = ["t48", "t44b"]\n')
    assert status == 0, text
    assert text.startswith(f"{box}: ok (box config: graphs g, h, k; mapping "), text


def test_roles_alternatives_streaming_and_maps_are_reported_with_lines(tmp_path):
    body = ('[graphs.g]\nencoder = "t48"\ndecoders = ["t48", "t44b"]\n'   # lines 10-12
            '[graphs.h]\nencoder = "p"\n'                                 # 13, 14
            '[graphs.i]\nencoder = "nostream"\n'                          # 15, 16
            '[graphs.j]\nencoder = "b"\ndecoder = "a"\nmatch = "map"\nmap = [0, 1, 2]\n')  # 17-21
    status, text, box = _check(tmp_path, body)
    assert status == 1
    assert "graphs.g.decoders" not in text       # alternatives of other rates and ratios each play in their own
    assert f"{box}:14: graphs.h.encoder: model 'p' is a prior, not a RAVE model (no encode/decode)" in text
    assert f"{box}:9: models.nostream.path: not a streaming export (no cache buffers)" in text
    assert f"{box}:21: graphs.j.map: map has 3 entries, the target has 8 latent dims" in text


def test_latent_ops_on_codes_and_missing_dims_are_refused(tmp_path):
    mapping = ('[[map]]\ncc = 1\ntarget = "latent.bias"\ngraph = "d"\n'
               '[[map]]\ncc = 2\ntarget = "latent.scale"\ngraph = "g"\ndim = 5\n'
               '[[map]]\ncc = 3\ntarget = "loop.dissolve"\ngraph = "d"\n')
    status, text, _ = _check(tmp_path, '[graphs.d]\nencoder = "t44"\ndecoder = "codes"\nmatch = "pad_noise"\n'
                                       '[graphs.g]\nencoder = "t44"\n', mapping)
    file = tmp_path / "map.toml"
    assert status == 1
    assert (f"{file}:1: map[0].target: latent.bias shifts or scales a continuous latent space; on graph 'd' "
            "the decoder 'codes' is discrete") in text
    assert f"{file}:5: map[1].dim: latent dim 5 does not exist on graph 'g' (2 latent dims)" in text
    assert "map[2]" not in text                                                 # loop ops are fine on codes
    assert "graphs.d.match: pad_noise" not in text                               # nothing to pad: 2 -> 2 dims


def test_no_models_skips_opening_them(tmp_path):
    box = tmp_path / "box.toml"
    box.write_text(TABLE + '[graphs.h]\nencoder = "p"\n')
    assert main(["check", "--no-models", str(box)]) == 0
    assert main(["check", str(box)]) == 1


def test_models_flag_checks_model_files(tmp_path, capsys):
    out = io.StringIO()
    assert check_model_file(MODELS / "codes_44k_2048.ts", out=out) == 0
    assert out.getvalue().endswith("ok (rave, 44100 Hz, ratio 2048, 2 latents, discrete, codebook of 16)\n")
    bad = tmp_path / "bad.ts"
    bad.write_bytes(b"not a zip")
    assert main(["check", "--models", str(MODELS / "rave_a.ts"), str(bad), str(MODELS / "rave_a_nostream.ts")]) == 1
    text = capsys.readouterr().out
    assert f"{bad}: cannot open the model:" in text and "rave_a_nostream.ts: not a streaming export" in text


def test_what_the_box_will_not_use_is_a_warning_not_an_error(tmp_path):
    mapping = ('[[map]]\ncc = 1\ntarget = "mix.wet"\ngraph = "voice"\n'           # a graph this box lacks
               '[[map]]\ncc = 2\ntarget = "latent.bias"\ndim = 12\n'              # beyond every graph (8)
               '[[map]]\ncc = 3\ntarget = "latent.bias"\ngraph = "g"\ndim = 7\n')  # fine
    status, text, box = _check(tmp_path, '[graphs.g]\nencoder = "a"\n', mapping)
    assert status == 0, text
    warnings = [line for line in text.splitlines() if line.startswith("warning: ")]
    assert f"warning: {box}: models.b: declared but no graph uses it (it is not loaded)" in warnings
    assert f"warning: {box}: models.p: declared but no graph uses it (it is not loaded)" in warnings
    file = tmp_path / "map.toml"
    assert (f"warning: mapping {file}: map[0] (line 1): graph 'voice' is not in this box "
            "(its events are dropped)") in warnings
    assert (f"warning: mapping {file}: map[1] (line 5): latent dim 12 is not in this box "
            "(the widest graph has 8) (its events are dropped)") in warnings
    assert not any("map[2]" in w or "models.a" in w for w in warnings)
    out = io.StringIO()
    assert check_file(box, quiet=True, out=out, models=False) == 0      # no models opened: no dims judged
    assert "graph 'voice'" in out.getvalue() and "latent dim 12" not in out.getvalue()
