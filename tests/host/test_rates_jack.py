"""Any model on any JACK rate, on a real dummy jackd: the bundled default box at 44.1 and 48 kHz,
and a 44.1 kHz ratio-512 encoder into a 48 kHz ratio-2048 decoder playing at the right pitch."""

from __future__ import annotations

import jack
import numpy as np
import pytest

from ravebox.data import default_box_path
from ravebox.host.dummyserver import JackServer
from tests.host.daemonkit import MODELS, running_daemon, wait_for, write_box
from tests.host.jackclients import Sink, Source, rms
from tests.jackserver import needs_jackd
from tests.signals import pitch

pytestmark = [needs_jackd, pytest.mark.jack, pytest.mark.slow]


def _record(server: str, daemon, port: str, seconds: float) -> tuple[np.ndarray, int]:
    """Connect ``port`` to a fresh sink and record ``seconds`` once the worker has run a few blocks."""
    sink = Sink(server, channels=1, seconds=seconds + 5.0)
    check = jack.Client("checker", servername=server, no_start_server=True)
    try:
        try:
            check.connect(port, "sink:in_1")
        except jack.JackErrorCode as exc:     # auto-connect may have made it first (checking before races it)
            if "already exists" not in str(exc):
                raise
        rate = sink.client.samplerate
        assert wait_for(lambda: daemon.host.worker.progress > 4)
        start = sink.filled
        assert wait_for(lambda: sink.filled > start + int(seconds * rate), timeout=seconds * 6 + 10)
        data = sink.recorded(0)[start:].copy()
        return data, rate
    finally:
        check.close()                          # never left open past its server
        sink.close()


@pytest.mark.parametrize("rate", [44100, 48000])
def test_the_bundled_default_box_plays_at_44k_and_48k(rate, tmp_path):
    with JackServer(rate=rate) as server, running_daemon(default_box_path(), server.name) as daemon:
        status = daemon.status()
        assert status["state"] == "running" and status["jack"]["sample_rate"] == rate
        graph = status["graphs"][0]
        conversion = graph["rates"]["models"]["a"]["conversion"]
        assert conversion == ("native" if rate == 48000 else "converted")
        client = status["jack"]["client"]
        y, sr = _record(server.name, daemon, f"{client}:{graph['name']}_out_1", 1.0)
        assert sr == rate and rms(y) > 1e-4 and np.all(np.isfinite(y))
        # the latency reported to JACK holds the conversion (rave_a is a 48 kHz model)
        assert status["latency"]["frames"] >= daemon.engine.latency_frames
        assert (daemon.engine.latency_frames > 0) == (rate == 44100)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_a_44k_512_encoder_into_a_48k_2048_decoder_plays_at_the_right_pitch(rate, tmp_path):
    graphs = ('[graphs.main]\nencoder = "enc"\ndecoder = "dec"\n')
    box = write_box(tmp_path, graphs=graphs, model="tone_44k_512.ts")
    box.write_text(box.read_text().replace('[models]\n', f'[models]\nenc = "{MODELS / "tone_44k_512.ts"}"\n'
                                                          f'dec = "{MODELS / "tone_48k_2048.ts"}"\n'))
    with JackServer(rate=rate) as server, running_daemon(box, server.name) as daemon:
        daemon.host.follow_worker = False  # a headroom re-size mid-recording shifts the output: no pitch to read
        source = Source(server.name)  # an exact 1 kHz (jackclients.Tone rounds its period to whole samples)
        try:
            source.signal = (0.3 * np.sin(2 * np.pi * 1000.0 * np.arange(30 * rate) / rate)).astype(np.float32)
            source.at = source.client.frame_time + 4 * 1024
            y, sr = _record(server.name, daemon, "rbx:main_out_1", 2.0)
        finally:
            source.client.deactivate()
            source.client.close()
        assert abs(pitch(y, sr, settle=0.25) - 1000.0) <= 1.0     # not 1088 Hz (44.1 kHz heard at 48)
        models = daemon.status()["graphs"][0]["rates"]["models"]
        assert models["enc"]["rate"] == 44100 and models["dec"]["rate"] == 48000


def _tone_pitch(server: str, daemon, rate: int) -> float:
    """Play an exact 1 kHz into rbx:main_in_1 and measure the pitch of rbx:main_out_1."""
    source = Source(server)
    try:
        source.signal = (0.3 * np.sin(2 * np.pi * 1000.0 * np.arange(30 * rate) / rate)).astype(np.float32)
        source.at = source.client.frame_time + 4 * 1024
        y, sr = _record(server, daemon, "rbx:main_out_1", 2.0)
    finally:
        source.client.deactivate()
        source.client.close()
    assert sr == rate
    return pitch(y, sr, settle=0.25)


def test_a_jack_restart_at_another_rate_rebuilds_the_rate_domains(tmp_path):
    """jackd comes back at 44.1 kHz after 48 kHz: the daemon reconnects, rebuilds every model's rate
    domain around the loaded models, and plays at the right pitch again right after the restart."""
    graphs = '[graphs.main]\nencoder = "enc"\ndecoder = "dec"\n'
    box = write_box(tmp_path, graphs=graphs, model="tone_44k_512.ts")
    box.write_text(box.read_text().replace('[models]\n', f'[models]\nenc = "{MODELS / "tone_44k_512.ts"}"\n'
                                                          f'dec = "{MODELS / "tone_48k_2048.ts"}"\n'))
    with JackServer(rate=48000) as server, running_daemon(box, server.name) as daemon:
        daemon.host.follow_worker = False  # a headroom re-size mid-recording shifts the output: no pitch to read
        assert abs(_tone_pitch(server.name, daemon, 48000) - 1000.0) <= 1.0
        latency_48k = daemon.engine.latency_frames
        server.kill()
        assert wait_for(lambda: daemon.host.session is None)
        server.rate = 44100
        server.start()
        assert wait_for(lambda: daemon.host.reconnects == 1, timeout=60)
        assert daemon.engine.sample_rate == 44100 and daemon.host.path.sample_rate == 44100
        assert daemon.store.sample_rate == 44100 and daemon.follower.sample_rate == 44100
        assert abs(_tone_pitch(server.name, daemon, 44100) - 1000.0) <= 1.0   # not 1088 Hz: rebuilt
        status = daemon.status()
        assert status["jack"]["sample_rate"] == 44100
        assert daemon.report.parts.follower is daemon.follower            # status reads the new clock follower
        models = status["graphs"][0]["rates"]["models"]
        assert models["enc"]["conversion"] == "native" and models["dec"]["conversion"] == "converted"
        assert daemon.engine.latency_frames != latency_48k or daemon.engine.block_size != 2048
