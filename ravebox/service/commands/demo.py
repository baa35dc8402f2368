"""`ravebox demo`: hear (or capture) the bundled default box move, with no hardware at all.

What it does, in order (main thread):

1. uses the running JACK server, or starts a dummy one (``jackd -d dummy``) when none answers;
2. runs the daemon on the bundled default box and mapping (or ``--config``);
3. plays a built-in performance into it from a second JACK client: a two-bar
   input loop, MIDI clock with a Start, and CC sweeps on the default mapping's
   latent controls, or, with ``--clock jack_midi_clock``, takes the clock from a
   real ``jack_midi_clock`` process and JACK transport;
4. with ``--capture out.wav`` records ravebox's output to a WAV file;
5. stops after ``--seconds`` (or on Ctrl-C): fades out, disconnects, stops the
   dummy server it started, prints a summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from ravebox.service.observers import Observer

log = logging.getLogger("ravebox.demo")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)")
    parser.add_argument("--capture", type=Path, help="write ravebox's output to this WAV file")
    parser.add_argument("--config", "-c", type=Path, help="box config (default: the bundled default box)")
    parser.add_argument("--server", help="JACK server to use (default $JACK_DEFAULT_SERVER or 'default')")
    parser.add_argument("--clock", choices=("builtin", "jack_midi_clock"), default="builtin",
                        help="where MIDI clock comes from (default: the built-in performance)")
    parser.add_argument("--bpm", type=float, default=120.0, help="tempo of the performance (default 120)")


def find_server(name: str | None, capture: Path | None = None):
    """``(server name, JackServer we started or None)``: the running server, or a new dummy one.

    libjack's own probe messages are silenced (:mod:`ravebox.host.jackmessages`); this prints one line.
    """
    import jack

    from ravebox.host import jackmessages
    from ravebox.host.dummyserver import JackServer

    jackmessages.silence()
    wanted = name if name is not None else os.environ.get("JACK_DEFAULT_SERVER", "")
    try:
        probe = jack.Client("ravebox-demo-probe", no_start_server=True, servername=wanted or None)
        probe.close()
        print(f"using the running JACK server '{wanted or 'default'}'")
        return wanted, None
    except jack.JackError:
        pass
    server = JackServer(name=wanted or f"ravebox-demo-{os.getpid()}").start()
    hint = f"capturing to {capture}" if capture else "add --capture FILE to hear it"
    print(f"no JACK server answered; started a dummy server (no sound card): {hint}"
          f" [jackd -n {server.name} -d dummy{_card_hint()}]")
    return server.name, server


def _card_hint() -> str:
    """How to play through a sound card, when this machine has one (``/proc/asound/cards``)."""
    try:
        cards = [line for line in Path("/proc/asound/cards").read_text().splitlines() if line[:3].strip().isdigit()]
    except OSError:
        return ""
    return "; to hear it live, start jackd -d alsa first" if cards else ""


def run(args: argparse.Namespace) -> int:
    from ravebox.service import logs

    logs.configure(os.environ.get(logs.ENV_LEVEL, "WARNING"))
    server_name, started = find_server(args.server, args.capture)
    try:
        return _play(args, server_name)
    finally:
        if started is not None:
            started.close()


def _play(args: argparse.Namespace, server: str) -> int:
    from ravebox.errors import RaveboxError
    from ravebox.host.democlients import Performer, Recorder
    from ravebox.host.performance import build
    from ravebox.service.daemon import Daemon

    from ravebox.data import default_box_path

    box = args.config or default_box_path()
    daemon = Daemon(box, server=server, observers=[_Ticker()])
    print(f"loading {box} ...")
    try:
        daemon.start()
    except RaveboxError as exc:
        print(f"ravebox demo: cannot start: {exc}", file=sys.stderr)
        return 3
    rate = daemon.host.path.sample_rate
    seconds = args.seconds if args.seconds else 600.0
    clock_proc = None
    performance = build(rate, seconds + 5, args.bpm)
    if args.clock != "builtin":  # one clock source only: two on clock_in would read as twice the tempo
        performance = dataclasses.replace(performance, clock=(performance.clock[0][:0], []))
    with Performer(performance, server) as player, \
            Recorder(seconds + 5, 2, server) as recorder:
        _patch(daemon, player, recorder, builtin_clock=args.clock == "builtin")
        if args.clock == "jack_midi_clock":
            clock_proc = _start_jack_midi_clock(daemon, server, args.bpm)
        recorder.recording = True
        player.go()
        if args.seconds:
            timer = threading.Timer(args.seconds, daemon.request_stop)
            timer.daemon = True
            timer.start()
        print(f"playing{f' for {args.seconds:g} s' if args.seconds else ' (Ctrl-C stops)'} ...")
        code = daemon.run()
        if clock_proc is not None:
            clock_proc.terminate()
            clock_proc.wait(5)
        audio = recorder.audio()
    _summary(daemon, audio, rate, args.capture)
    return code


def _patch(daemon, player, recorder, builtin_clock: bool) -> None:
    """Main thread: performer -> ravebox inputs; ravebox outputs -> recorder (mono graphs feed both sides)."""
    me = daemon.host.session.name
    client = player.client
    for g in daemon.graphs:
        if g.inputs:
            client.connect(player.audio.name, f"{me}:{g.name}_in_1")
        for c in range(2):
            client.connect(f"{me}:{g.name}_out_{c % g.outputs + 1}", recorder.ports[c].name)
    client.connect(player.midi.name, f"{me}:midi_in")
    if builtin_clock:
        client.connect(player.clock.name, f"{me}:clock_in")


def _start_jack_midi_clock(daemon, server: str, bpm: float):
    if shutil.which("jack_midi_clock") is None:
        print("jack_midi_clock is not installed; using no clock", file=sys.stderr)
        return None
    import jack

    env = dict(os.environ, JACK_DEFAULT_SERVER=server)
    proc = subprocess.Popen(["jack_midi_clock", "-b", f"{bpm:g}", "-B"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = daemon.host.session.client
    for _ in range(100):
        try:
            client.connect("jack_midi_clock:mclk_out", f"{daemon.host.session.name}:clock_in")
            break
        except jack.JackError:
            time.sleep(0.05)
    client.transport_start()
    return proc


LEGEND = ("  (late: engine blocks the model finished after their deadline, played as [output] late_block says; "
          "xruns: JACK periods the machine missed. A few of each on a busy machine are normal.)")


class _Ticker(Observer):
    """Prints one status line a second while the demo plays (main thread); the first with a legend."""

    def __init__(self) -> None:
        self._explained = False

    def on_tick(self, daemon) -> None:
        if not self._explained:
            print(LEGEND, flush=True)
            self._explained = True
        status = daemon.status()
        clock = status.get("clock") or {}
        print(f"  {clock.get('tempo_bpm', 0):6.1f} BPM {clock.get('lock', '?'):<8} beat {clock.get('beat', 0):7.2f}"
              f"  late {status.get('late_blocks')}  xruns {status.get('xruns')}", flush=True)


def _summary(daemon, audio, rate: int, capture: Path | None) -> None:
    import numpy as np

    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0
    status = daemon.status()
    print(f"done: {audio.shape[0] / rate:.1f} s, peak {peak:.3f}, rms {rms:.4f}, "
          f"late blocks {status.get('late_blocks')}, xruns {status.get('xruns')}")
    if capture is not None:
        import soundfile

        soundfile.write(str(capture), audio, rate, subtype="FLOAT")
        print(f"wrote {capture}")
