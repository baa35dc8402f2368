"""The daemon with the real engine and a committed RAVE model (tests/models/rave_a.ts).

- audio from a separate client passes through (mix.wet = 0: the delayed dry) with
  exactly the latency the daemon reports to JACK;
- a separate controller process moves out.gain_db, and the model's measured output
  level follows the mapping.
"""

from __future__ import annotations

import jack
import numpy as np
import pytest

from ravebox.host.latency import CAPTURE, get_range
from ravebox.params.table import ParamKey
from tests.host.daemonkit import PASS_CONNECT, Controller, MODELS, TWO_GRAPHS_CONNECT, deliver, running_daemon, wait_for, write_box
from tests.host.jackclients import Sink, Source, Tone, rms, voiced_level_db
from tests.host.test_host_passthrough import impulse_delays, impulses
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack, pytest.mark.slow,
              pytest.mark.skipif(not (MODELS / "rave_a.ts").exists(), reason="test model missing")]


def test_real_engine_dry_path_has_the_reported_latency(jack_server, tmp_path):
    box = write_box(tmp_path, connect=PASS_CONNECT)
    with running_daemon(box, jack_server.name) as daemon:
        store, host = daemon.store, daemon.host
        host.follow_worker = False   # the latency must hold still while impulses are measured
        host.control.call(lambda: store.set(ParamKey("mix.wet", "main"), 0.0, host.now(), 0.0))
        source, sink = Source(jack_server.name), Sink(jack_server.name, channels=2)
        check = jack.Client("checker", servername=jack_server.name, no_start_server=True)
        try:
            check.connect("src:out", "sink:in_2")
            assert wait_for(lambda: sink.first is not None and host.worker.progress > 4)
            rate = sink.client.samplerate
            source.signal = 0.5 * impulses(rate)
            source.at = source.client.frame_time + 4 * host.path.period
            status = daemon.status()["latency"]
            latency, headroom = status["frames"], status["headroom"]
            # no [jack] headroom_periods in the box: the headroom was measured at start-up
            assert headroom["source"] == "measured" and headroom["periods"] == host.headroom.periods >= 1
            assert headroom["measured_p99_ms"] > 0
            graph = daemon.status()["graphs"][0]
            assert graph["inference_ms"]["p99"] >= graph["inference_ms"]["p50"] > 0
            assert graph["headroom_ms"] == headroom["budget_ms"] and graph["margin"] < 1
            # block, headroom, the model's own latency and the period each output waits to be played (host/staging.py)
            assert latency == (host.path.block + (headroom["periods"] + 1) * host.path.period
                               + daemon.engine.latency_frames)
            end = source.at + len(source.signal) + latency + 8 * host.path.period
            assert wait_for(lambda: sink.first + sink.filled > end)
            delays = impulse_delays(2 * sink.recorded(0), 2 * sink.recorded(1), sink.frames_at)
            assert len(delays) >= 3, delays  # an xrun on this VM can swallow an impulse
            assert max(set(delays), key=delays.count) == latency, delays
            low, high = get_range(check.get_port_by_name("rbx:main_out_1"), CAPTURE)
            base, _ = get_range(check.get_port_by_name("rbx:main_in_1"), CAPTURE)
            assert (low - base, high - base) == (latency, latency)
        finally:
            check.close()                      # never left open past its server
            source.close()
            sink.close()


def level_after(sink: Sink, seconds: float = 1.0) -> float:
    """The voiced level of the next ``seconds`` of output (a dropped cycle's zeros left out)."""
    mark = sink.filled
    level: list[float | None] = [None]

    def measured() -> bool:
        got = sink.filled - mark
        if got < seconds * sink.client.samplerate:
            return False
        level[0] = voiced_level_db(sink.recorded(0)[-got:])
        return level[0] is not None

    assert wait_for(measured, timeout=30)
    return level[0]


def test_real_engine_output_follows_cc(jack_server, tmp_path):
    box = write_box(tmp_path)
    with running_daemon(box, jack_server.name) as daemon:
        tone, sink = Tone(jack_server.name, hz=220.0), Sink(jack_server.name, seconds=60)
        try:
            with Controller(jack_server.env()) as ctl:
                assert ctl.wait_connected(daemon)
                assert wait_for(lambda: daemon.host.worker.progress > 10)
                deliver(ctl, daemon, "cc 1 7 127", until=lambda: daemon.store.target(ParamKey("out.gain_db", "main")) == 0.0)
                loud = level_after(sink)
                assert loud > -60                                  # the model makes sound from the tone
                deliver(ctl, daemon, "cc 1 7 0",                    # -> -40 dB
                        until=lambda: daemon.store.target(ParamKey("out.gain_db", "main")) == -40.0)
                quiet = level_after(sink)
                assert abs((loud - quiet) - 40.0) < 4.0, (loud, quiet)
            assert not np.isnan(sink.recorded(0)).any()
            assert daemon.status()["graphs"][0]["muted"] is False
        finally:
            tone.close()
            sink.close()


class Exploding:
    """A real loaded model whose ``decode`` raises once ``armed`` (a model failing mid-show)."""

    armed: set[str] = set()

    def __init__(self, model, graph: str) -> None:
        self._model, self._graph = model, graph

    def __getattr__(self, name):
        return getattr(self._model, name)

    def decode(self, z):
        if self._graph in Exploding.armed:
            raise RuntimeError(f"decoder of {self._graph} blew up")
        return self._model.decode(z)


def exploding_engine(box, sample_rate, seed):
    from ravebox.engine.engine import Engine, default_loader

    def loader(spec, rate):
        return Exploding(default_loader(spec, rate), graph="main" if spec.name == "a" else "other")
    return Engine(box, sample_rate, seed, loader=loader)


def test_real_engine_model_raising_mutes_its_graph_clicklessly(jack_server, tmp_path, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="ravebox")
    graphs = '[models.b]\npath = "%s"\n[graphs.main]\nencoder = "a"\n[graphs.other]\nencoder = "b"\n' % (
        MODELS / "rave_a.ts")
    box = write_box(tmp_path, graphs=graphs, connect=TWO_GRAPHS_CONNECT)
    Exploding.armed = set()
    with running_daemon(box, jack_server.name, exploding_engine) as daemon:
        daemon.host.follow_worker = False   # the mute is judged here; a re-size's fade has its own test
        tone, sink = Tone(jack_server.name, hz=220.0), Sink(jack_server.name, seconds=60, channels=2)
        try:
            assert wait_for(lambda: daemon.host.worker.progress > 10)
            mark = sink.filled
            Exploding.armed = {"main"}
            assert wait_for(lambda: [g["muted"] for g in daemon.status()["graphs"]] == [True, False])
            rate = sink.client.samplerate
            assert wait_for(lambda: sink.filled - mark > 2 * rate)
            main, other = sink.recorded(0)[mark:], sink.recorded(1)[mark:]
            assert np.max(np.abs(main[-rate // 2:])) < 1e-6                 # main is silent ...
            assert rms(other[-rate // 2:]) > 1e-4                          # ... the other graph plays on
            # and the cut did not click: judged from 0.1 s before main's last sound to its silence
            # (an xrun elsewhere in the recording -- a cycle of zeros -- is a step of its own)
            sounding = np.nonzero(np.abs(main) > 1e-6)[0]
            assert len(sounding), "main never sounded before the cut"
            cut = int(sounding[-1])
            assert np.max(np.abs(np.diff(main[max(0, cut - rate // 10):cut + rate // 10]))) < 0.2
            assert wait_for(lambda: "graph main muted" in caplog.text, timeout=5)
            daemon.host.worker.paused = True                               # every block now late: dry fallback
            late, mark = daemon.host.path.late_blocks, sink.filled
            assert wait_for(lambda: daemon.host.path.late_blocks > late + 4 and sink.filled - mark > rate // 2)
            assert np.max(np.abs(sink.recorded(0)[mark:])) < 1e-6          # ... which a muted graph never leaks
            daemon.host.worker.paused = False
            Exploding.armed = set()
            assert daemon.commands.panic()["ok"]                                    # panic: reset, and main plays again
            assert wait_for(lambda: [g["muted"] for g in daemon.status()["graphs"]] == [False, False])
        finally:
            tone.close()
            sink.close()
