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
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger("ravebox.demo")

DEV_MODEL = Path(__file__).resolve().parents[3] / "tests" / "models" / "rave_a.ts"

FALLBACK_BOX = """
# Written by `ravebox demo` because this install ships no default box.
[box]
name = "demo"
[models]
a = "{model}"
[graphs.main]
encoder = "a"
[output]
late_block = "dry"
[gates]
[[gates.pattern]]
name = "eighths"
rate = "1/8"
steps = "x.xx x.x. x.xx xx.x"
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)")
    parser.add_argument("--capture", type=Path, help="write ravebox's output to this WAV file")
    parser.add_argument("--config", "-c", type=Path, help="box config (default: the bundled default box)")
    parser.add_argument("--server", help="JACK server to use (default $JACK_DEFAULT_SERVER or 'default')")
    parser.add_argument("--clock", choices=("builtin", "jack_midi_clock"), default="builtin",
                        help="where MIDI clock comes from (default: the built-in performance)")
    parser.add_argument("--bpm", type=float, default=120.0, help="tempo of the performance (default 120)")


def default_box() -> Path:
    """The bundled default box (``ravebox.data``); failing that, a box on the committed test model."""
    from ravebox.data import default_box_path

    path = default_box_path()
    if path.is_file() and _models_exist(path):
        return path
    if not DEV_MODEL.is_file():
        raise FileNotFoundError(f"the bundled default box lacks its models and there is no {DEV_MODEL}")
    folder = Path(tempfile.mkdtemp(prefix="ravebox-demo-"))
    (folder / "box.toml").write_text(FALLBACK_BOX.format(model=DEV_MODEL))
    return folder / "box.toml"


def _models_exist(box: Path) -> bool:
    """Whether the box's model files are present (an installed wheel may ship the box without them)."""
    import tomllib

    models = tomllib.loads(box.read_text()).get("models", {})
    paths = [m if isinstance(m, str) else m.get("path", "") for m in models.values()]
    return all((box.parent / p).resolve().is_file() for p in paths)


def find_server(name: str | None):
    """``(server name, JackServer we started or None)``: the running server, or a new dummy one."""
    import jack

    from ravebox.host.dummyserver import JackServer

    wanted = name if name is not None else os.environ.get("JACK_DEFAULT_SERVER", "")
    try:
        probe = jack.Client("ravebox-demo-probe", no_start_server=True, servername=wanted or None)
        probe.close()
        return wanted, None
    except jack.JackError:
        pass
    server = JackServer(name=wanted or f"ravebox-demo-{os.getpid()}").start()
    print(f"no JACK server answered; started a dummy one: jackd -n {server.name} -d dummy")
    return server.name, server


def run(args: argparse.Namespace) -> int:
    from ravebox.service import logs

    logs.configure(os.environ.get(logs.ENV_LEVEL, "WARNING"))
    server_name, started = find_server(args.server)
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

    box = args.config or default_box()
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
    with Performer(build(rate, seconds + 5, args.bpm), server) as player, \
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


class _Ticker:
    """Prints one status line a second while the demo plays (main thread)."""

    def on_tick(self, daemon) -> None:
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
