"""`ravebox render`: byte-identical output, an SMF performance through mapping and clock, summaries."""

import hashlib
import json

import mido
import numpy as np
import pytest
import soundfile as sf
from adapters import MODELS

from ravebox.render import RenderError, RenderJob, render
from ravebox.render.performance import load_performance
from ravebox.service.cli import main

SR = 48000
BOX = f"""
[models]
a = "{MODELS / 'rave_a.ts'}"
p = "{MODELS / 'prior_a.ts'}"

[graphs.voice]
encoder = "a"

[graphs.dream]
kind = "prior"
prior = "p"
decoder = "a"

[mapping]
file = "default"
"""
FRAMES_PER_BEAT = 12            # 12 latent frames of 2048 = 512000 us per beat (117.1875 BPM)
TEMPO = 512000


@pytest.fixture
def box(tmp_path):
    path = tmp_path / "box.toml"
    path.write_text(BOX)
    return path


@pytest.fixture
def wav(tmp_path):
    t = np.arange(SR * 3) / SR
    x = 0.3 * np.sin(2 * np.pi * (110 + 200 * t) * t) + 0.02 * np.random.default_rng(1).standard_normal(len(t))
    path = tmp_path / "in.wav"
    sf.write(path, x.astype(np.float32), SR, subtype="FLOAT")
    return path


def _smf(path, messages, tempo=None, tpb=480):
    """messages: (beat, mido.Message) pairs on one track."""
    mid = mido.MidiFile(ticks_per_beat=tpb)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    if tempo:
        track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    last = 0
    for beat, msg in sorted(messages, key=lambda m: m[0]):
        tick = int(round(beat * tpb))
        track.append(msg.copy(time=tick - last))
        last = tick
    mid.save(path)
    return path


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_and_inputs_give_byte_identical_output(tmp_path, box, wav):
    outs = [tmp_path / f"out{i}.wav" for i in range(3)]
    for out, seed in zip(outs, (11, 11, 12)):
        render(RenderJob(box, out, wav, seed=seed))
    assert _digest(outs[0]) == _digest(outs[1])
    assert _digest(outs[0]) != _digest(outs[2])  # the prior samples with the seed


def test_flac_output_is_byte_identical_too(tmp_path, box, wav):
    a, b = tmp_path / "a.flac", tmp_path / "b.flac"
    render(RenderJob(box, a, wav, seed=1))
    render(RenderJob(box, b, wav, seed=1))
    assert _digest(a) == _digest(b)
    assert sf.info(a).subtype == "PCM_24"


def test_smf_cc_moves_a_latent_dim_from_its_frame_on(tmp_path, box, wav):
    midi = _smf(tmp_path / "perf.mid", [(2.0, mido.Message("control_change", control=70, value=127))])
    plain, played = tmp_path / "plain.wav", tmp_path / "played.wav"
    summary = render(RenderJob(box, played, wav, midi=midi, seed=1))
    render(RenderJob(box, plain, wav, seed=1))
    a, _ = sf.read(plain, always_2d=True)
    b, _ = sf.read(played, always_2d=True)
    event = SR  # beat 2 at the SMF default 120 BPM = 1 s
    before = slice(0, (event // 2048) * 2048)
    assert np.array_equal(a[before], b[before])
    assert np.sqrt(np.mean((a[event + 4096:, 0] - b[event + 4096:, 0]) ** 2)) > 1e-4
    assert summary["midi_events"] == 1


def test_summary_fields_and_file_shape(tmp_path, box, wav):
    out = tmp_path / "out.wav"
    summary = render(RenderJob(box, out, wav, seed=2))
    data, rate = sf.read(out, always_2d=True)
    assert rate == SR and data.shape == (SR * 3, 2)  # one channel per graph, in config order
    assert summary["frames"] == SR * 3 and summary["duration_s"] == 3.0
    assert summary["blocks"] == -(-SR * 3 // 2048)
    for key in ("nonfinite_samples", "limited_samples", "clamped_samples", "model_ms_per_block", "late_blocks"):
        assert key in summary
    assert summary["nonfinite_samples"] == 0
    assert np.isfinite(data).all() and np.abs(data).max() <= 10 ** (-1 / 20)


def test_prior_only_render_without_input(tmp_path):
    path = tmp_path / "prior.toml"
    path.write_text(f'[models]\np = "{MODELS / "prior_a.ts"}"\na = "{MODELS / "rave_a.ts"}"\n'
                    '[graphs.dream]\nprior = "p"\ndecoder = "a"\n')
    out = tmp_path / "dream.wav"
    summary = render(RenderJob(path, out, duration=1.5, seed=4))
    data, _ = sf.read(out, always_2d=True)
    assert data.shape == (int(1.5 * SR), 1) and np.sqrt(np.mean(data ** 2)) > 1e-5
    assert summary["blocks"] == -(-int(1.5 * SR) // 2048)
    with pytest.raises(RenderError, match="nothing sets the length"):
        render(RenderJob(path, tmp_path / "x.wav"))


def test_tempo_map_drives_the_clock_and_the_loop_repeats_sample_exactly(tmp_path, box, wav):
    """An SMF with only a tempo map: the loop (sostenuto pedal, 4 beats) locks to it."""
    t = np.arange(SR * 12) / SR
    long_in = tmp_path / "long.wav"
    sf.write(long_in, (0.3 * np.sin(2 * np.pi * (110 + 40 * t) * t)).astype(np.float32), SR, subtype="FLOAT")
    midi = _smf(tmp_path / "loop.mid", [(0.0, mido.Message("control_change", control=66, value=127)),
                                        (24.0, mido.Message("control_change", control=66, value=127))],
                tempo=TEMPO)
    out = tmp_path / "loop.wav"
    render(RenderJob(box, out, long_in, midi=midi, seed=1))
    data, _ = sf.read(out, always_2d=True)
    cycle = 4 * FRAMES_PER_BEAT * 2048
    cycles = [data[i * cycle:(i + 1) * cycle, 0] for i in range(5)]
    assert np.sqrt(np.mean(cycles[2] ** 2)) > 1e-5
    assert np.array_equal(cycles[2], cycles[3]) and np.array_equal(cycles[3], cycles[4])
    assert not np.array_equal(cycles[0], cycles[1])  # recording: the live (changing) input


def test_load_performance_adds_clock_from_tempo_map(tmp_path):
    midi = _smf(tmp_path / "t.mid", [(1.0, mido.Message("note_on", note=60, velocity=90))], tempo=TEMPO)
    events = load_performance(midi, SR)
    ticks = [e.frame for e in events if e.message.type == "clock"]
    assert events[0].message.type == "start"
    assert np.all(np.diff(ticks) == 1024)  # 512000 us / 24 = 21333 us = 1024 frames
    assert any(e.message.type == "note_on" and e.frame == 24576 for e in events)


def test_an_input_at_another_rate_is_converted_to_the_box_rate(tmp_path, box):
    path = tmp_path / "44k.wav"
    sf.write(path, 0.3 * np.sin(2 * np.pi * 1000.0 * np.arange(44100) / 44100), 44100)
    summary = render(RenderJob(box, tmp_path / "o.wav", path))
    data, rate = sf.read(tmp_path / "o.wav")
    assert rate == SR and summary["frames"] == len(data) == 48000


def test_cli_json_summary(tmp_path, box, wav, capsys):
    out = tmp_path / "cli.wav"
    assert main(["render", str(box), str(wav), "-o", str(out), "--seed", "5", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seed"] == 5 and summary["output"] == str(out) and out.exists()
    assert list(summary["channels"]) == ["voice", "dream"]     # the box's order, as in the file
    assert main(["render", str(box), str(tmp_path / "missing.wav"), "-o", str(out)]) == 1


def test_gate_hook_gates_the_output_in_time_with_the_clock(tmp_path, wav):
    """[gates] pattern "x.x.x.x." at 1/8, gate.depth to 1 by CC 80: every second eighth is silent."""
    path = tmp_path / "gated.toml"
    path.write_text(f'[models]\na = "{MODELS / "rave_a.ts"}"\n[graphs.g]\nencoder = "a"\n'
                    '[mapping]\nfile = "default"\n[clock]\ninternal_bpm = 120.0\n'
                    '[gates]\n[[gates.pattern]]\nname = "eighths"\nrate = "1/8"\nsteps = "x.x.x.x."\n')
    midi = _smf(tmp_path / "depth.mid", [(0.0, mido.Message("control_change", control=80, value=127))])
    gated, free = tmp_path / "gated.wav", tmp_path / "free.wav"
    render(RenderJob(path, gated, wav, midi=midi, seed=1))
    render(RenderJob(path, free, wav, seed=1))
    g, _ = sf.read(gated)
    f, _ = sf.read(free)
    step = SR // 4  # an eighth at 120 BPM
    margin = SR // 100
    closed = [g[i * step + margin:(i + 1) * step - margin] for i in range(1, 10, 2)]
    opened = [g[i * step + margin:(i + 1) * step - margin] for i in range(2, 10, 2)]
    assert max(np.abs(c).max() for c in closed) < 1e-4
    assert min(np.sqrt(np.mean(o ** 2)) for o in opened) > 1e-4
    assert np.sqrt(np.mean(f[step:3 * step] ** 2)) > 1e-4


def test_gate_patterns_are_heard_without_touching_gate_depth(tmp_path, wav):
    """[gates] depth (default 1) is where gate.depth starts: a pattern gates from the first beat."""
    text = (f'[models]\na = "{MODELS / "rave_a.ts"}"\n[graphs.g]\nencoder = "a"\n[clock]\ninternal_bpm = 120.0\n'
            '[gates]\n{depth}\n[[gates.pattern]]\nname = "eighths"\nrate = "1/8"\nsteps = "x.x.x.x."\n')
    step, margin = SR // 4, SR // 100
    levels = {}
    for depth in ("", "depth = 0.0"):
        box = tmp_path / f"gates{len(depth)}.toml"
        box.write_text(text.replace("{depth}", depth))
        render(RenderJob(box, tmp_path / "out.wav", wav, seed=1))
        out, _ = sf.read(tmp_path / "out.wav")
        levels[depth] = max(np.abs(out[i * step + margin:(i + 1) * step - margin]).max() for i in range(1, 10, 2))
    assert levels[""] < 1e-4 and levels["depth = 0.0"] > 1e-3


def test_a_port_filtered_mapping_hears_the_file_unless_told_another_port(tmp_path, wav, capsys):
    """Every bundled controller mapping filters by port; a file's events match any filter by default."""
    box = tmp_path / "nano.toml"
    box.write_text(f'[models]\na = "{MODELS / "rave_a.ts"}"\n[graphs.g]\nencoder = "a"\n'
                   '[mapping]\nfile = "nanokontrol2"\n')
    sweep = [(i / 10, mido.Message("control_change", control=0, value=v)) for i, v in enumerate((60, 70, 127))]
    midi = _smf(tmp_path / "faders.mid", sweep)             # pickup: the fader crosses the value, then takes it
    plain = render(RenderJob(box, tmp_path / "plain.wav", wav, seed=1))
    heard = render(RenderJob(box, tmp_path / "heard.wav", wav, midi=midi, seed=1))
    other = render(RenderJob(box, tmp_path / "other.wav", wav, midi=midi, seed=1, port="MIDImix"))
    assert heard["warnings"] == [] and plain["warnings"] == []
    assert _digest(tmp_path / "heard.wav") != _digest(tmp_path / "plain.wav")        # the faders moved the latents
    assert _digest(tmp_path / "other.wav") == _digest(tmp_path / "plain.wav")
    assert other["warnings"] == ["3 controller message(s) from port 'MIDImix' arrived and no mapping entry took "
                                 "any: check the mapping's port and channel filters (or --port)"]
    assert main(["render", str(box), str(wav), "-o", str(tmp_path / "cli.wav"), "--midi", str(midi),
                 "--port", "MIDImix"]) == 0
    assert "ravebox render: warning: 3 controller message(s) from port 'MIDImix'" in capsys.readouterr().err


def test_stereo_input_is_downmixed_for_a_mono_encoder(tmp_path, box, wav):
    mono, _ = sf.read(wav, dtype="float32")
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([mono, mono], axis=1), SR, subtype="FLOAT")
    a, b = tmp_path / "m.wav", tmp_path / "s.wav"
    render(RenderJob(box, a, wav, seed=1))
    render(RenderJob(box, b, stereo, seed=1))
    assert _digest(a) == _digest(b)


def test_a_transfer_graph_without_input_and_an_unused_model_are_warned(tmp_path, wav):
    path = tmp_path / "box.toml"
    path.write_text(BOX.replace("[graphs.voice]", f'b = "{MODELS / "rave_b.ts"}"\n\n[graphs.voice]'))
    silent = render(RenderJob(path, tmp_path / "silent.wav", duration=0.5, seed=1))["warnings"]
    assert silent == [
        "graph 'voice' transforms its audio input, and no input file was given: it heard silence (give an input file)",
        f"{path}: models.b: declared but no graph uses it (it is not loaded)"]
    heard = render(RenderJob(path, tmp_path / "heard.wav", input=wav, duration=0.5, seed=1))["warnings"]
    assert heard == [f"{path}: models.b: declared but no graph uses it (it is not loaded)"]
