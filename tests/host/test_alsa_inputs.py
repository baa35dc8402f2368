"""Direct-ALSA fallback inputs: config validation, the AlsaInputs component, the frame stamp, a real daemon.

The ALSA sequencer cannot exist on this machine (no /dev/snd), so the
component is driven through an injected fake ``MidiIn`` factory: a
:class:`FakeAlsa` "sequencer" whose ports come and go, and whose messages are
delivered on a separate thread, as rtmidi's own callback thread would.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from ravebox.assembly.router import EventRouter
from ravebox.config.box import load_box
from ravebox.config.diagnostics import Diagnostics
from ravebox.config.jack import AlsaInputSpec, JackSettings, parse
from ravebox.errors import ConfigError
from ravebox.host.alsa_inputs import AlsaInputs, FrameStamp
from ravebox.host.control import ControlLoop
from ravebox.host.rings import ByteRing, MidiRing
from ravebox.host.timeline import Timeline
from ravebox.mapping import MappingRuntime, load_mapping
from ravebox.midi.alsa import address, read_subscriptions, subscriptions
from ravebox.midi.parser import PortParser
from ravebox.params.store import ParamStore
from ravebox.params.table import PARAMS, ParamKey
from tests.host.daemonkit import mapping_toml, rule, running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

NANO_20 = "nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0"
NANO_24 = "nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0"
THROUGH = "Midi Through:Midi Through Port-0 14:0"
LABEL = "knobs <- nanoKONTROL2:nanoKONTROL2 MIDI 1"

MAPPING = mapping_toml(rule(cc=7, port="nanoKONTROL2", target="out.gain_db", range=[-40, 0]),
                       rule(cc=7, port="Midi Through", target="mix.wet"),
                       rule(cc=64, port="nanoKONTROL2", button="momentary", target="latent.freeze"),
                       rule(note=36, button="momentary", target="loop.enabled"),
                       rule(pitchbend=True, target="latent.bias", dim=0, range=[-2, 2]), name="direct alsa")


class FakeAlsa:
    """A stand-in ALSA sequencer: a port list, and the fake MidiIns subscribed to each port."""

    def __init__(self, ports: list[str]) -> None:
        self.ports = list(ports)
        self.made: list[FakeMidiIn] = []
        self.refuse: set[str] = set()

    def factory(self) -> "FakeMidiIn":
        midi_in = FakeMidiIn(self)
        self.made.append(midi_in)
        return midi_in

    def open_on(self, raw: str) -> list["FakeMidiIn"]:
        return [m for m in self.made if m.port == raw and not m.closed]

    def replug(self, raw: str) -> None:
        """Unplugged and back under the same name and numbers: the kernel dropped every subscription to it."""
        for midi_in in self.open_on(raw):
            midi_in.subscribed = False

    def clients(self) -> str:
        """``/proc/asound/seq/clients`` as the kernel writes it, for the MidiIns open here."""
        text = ['Client info', '  cur  clients : 4', '', 'Client   0 : "System" [Kernel]',
                '  Port   0 : "Timer" (Rwe-)', '  Port   1 : "Announce" (R-e-)',
                '    Connecting To: 15:0', 'Client  14 : "Midi Through" [Kernel]',
                '  Port   0 : "Midi Through Port-0" (RWe-)']
        for number, midi_in in enumerate(self.open_on_any(), start=128):
            text += [f'Client {number:3d} : "ravebox" [User Legacy]', f'  Port   0 : "{midi_in.name}" (-We-)']
            if midi_in.subscribed:
                text.append(f"    Connected From: {midi_in.port.rsplit(' ', 1)[1]}[real:0], 14:0")
        return "\n".join(text) + "\n"

    def open_on_any(self) -> list["FakeMidiIn"]:
        return [m for m in self.made if m.port is not None and not m.closed]

    def send(self, raw: str, data: list[int]) -> int:
        """Deliver one message to every MidiIn open on ``raw``, each from its own thread (like rtmidi)."""
        receivers = self.open_on(raw)
        for midi_in in receivers:
            thread = threading.Thread(target=midi_in.callback, args=((list(data), 0.0), None))
            thread.start()
            thread.join()
        return len(receivers)


class FakeMidiIn:
    """The part of python-rtmidi's ``MidiIn`` that AlsaInputs uses."""

    def __init__(self, alsa: FakeAlsa) -> None:
        self.alsa = alsa
        self.port: str | None = None
        self.callback = None
        self.ignored: dict = {}
        self.closed = False
        self.deleted = False

    def get_ports(self) -> list[str]:
        return list(self.alsa.ports)

    def ignore_types(self, **kinds) -> None:
        self.ignored = kinds

    def set_callback(self, callback) -> None:
        self.callback = callback

    def cancel_callback(self) -> None:
        self.callback = None

    def open_port(self, index: int, name: str) -> None:
        raw = self.alsa.ports[index]
        if raw in self.alsa.refuse:
            raise OSError(f"MidiInAlsa::openPort: ALSA error making port connection ({raw})")
        self.port = raw
        self.name = name
        self.subscribed = True

    def close_port(self) -> None:
        self.closed = True

    def delete(self) -> None:
        self.deleted = True


class FakeClient:
    """JACK's two frame counters, as FrameStamp reads them."""

    def __init__(self, last_frame_time: int, frame_time: int) -> None:
        self.last_frame_time = last_frame_time
        self.frame_time = frame_time


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def settings(*entries: dict) -> tuple[JackSettings, list[str]]:
    diags = Diagnostics("box.toml")
    parsed = parse({"alsa_inputs": list(entries)}, diags)
    return parsed, [str(d) for d in diags.items]


KNOBS = (AlsaInputSpec("knobs", "nanokontrol"),)


def rig(tmp_path: Path, ports: list[str], specs=KNOBS):
    """A FakeAlsa, an AlsaInputs on it, and a real ControlLoop/ParamStore/mapping fed by it."""
    (tmp_path / "map.toml").write_text(MAPPING)
    store = ParamStore({"main": 8}, 48000)
    loop = ControlLoop(MidiRing(), ByteRing(), ["midi_in"], PortParser,
                       EventRouter(None, MappingRuntime(load_mapping(tmp_path / "map.toml"), store)),
                       lambda: 0, lambda view: None)
    timeline = Timeline(48000)
    timeline.on_cycle(1000, 256)                                  # the latest JACK cycle started at frame 1000
    stamp = FrameStamp(timeline)
    stamp.attach(FakeClient(last_frame_time=1000, frame_time=1100))
    alsa, clock = FakeAlsa(ports), Clock()
    inputs = AlsaInputs(specs, stamp, lambda sources: setattr(loop, "alsa_sources", sources), PortParser,
                        midi_in_factory=alsa.factory, clock=clock,
                        retire=lambda source: loop.post(lambda: loop.retire_source(*source)),
                        subscribed=lambda: subscriptions(alsa.clients(), "ravebox"))
    return alsa, inputs, loop, store, clock


GAIN, WET = ParamKey("out.gain_db", "main"), ParamKey("mix.wet", "main")
FREEZE, LOOP, BEND = ParamKey("latent.freeze", "main"), ParamKey("loop.enabled", "main"), \
    ParamKey("latent.bias", "main", 0)
HOLD = ([0xB0, 64, 127], [0x90, 36, 100], [0xE0, 0x7F, 0x7F])     # sustain/freeze, a note on, the wheel at max


def held(store: ParamStore) -> tuple[float, float, float]:
    return store.target(FREEZE), store.target(LOOP), round(store.target(BEND), 3)


# -- config ---------------------------------------------------------------------------------

def test_alsa_inputs_default_to_none_and_parse():
    assert JackSettings().alsa_inputs == ()
    parsed, errors = settings({"input": "knobs", "device": "nanoKONTROL2"}, {"input": "pads", "device": "^MPD"})
    assert errors == []
    assert parsed.alsa_inputs == (AlsaInputSpec("knobs", "nanoKONTROL2"), AlsaInputSpec("pads", "^MPD"))
    spec = parsed.alsa_inputs[0]
    assert spec.matches("nanokontrol2:NANOKONTROL2 MIDI 1") and not spec.matches("Midi Through:Port-0")


def test_alsa_inputs_errors_with_did_you_mean():
    _, errors = settings({"input": "knobs", "devise": "nano"}, {"input": "a:b", "device": "(unclosed"},
                         {"device": ""}, "nano", {"input": "knobs", "device": "x"}, {"input": "knobs", "device": "x"})
    assert errors == [
        "box.toml: jack.alsa_inputs[0].devise: unknown key (did you mean 'device'?)",
        "box.toml: jack.alsa_inputs[0].device: required: a regex (case-insensitive) on the ALSA port name",
        "box.toml: jack.alsa_inputs[1].input: must be a name of 1..64 letters, digits and _ . + -, "
        "starting with a letter or digit",
        "box.toml: jack.alsa_inputs[1].device: invalid regular expression '(unclosed': "
        "missing ), unterminated subpattern at position 0",
        'box.toml: jack.alsa_inputs[2].input: required: the label prefix of this device\'s events (e.g. "knobs")',
        "box.toml: jack.alsa_inputs[2].device: must be a non-empty regular expression on the ALSA port name",
        'box.toml: jack.alsa_inputs[3]: must be a table { input = "...", device = "..." }',
        "box.toml: jack.alsa_inputs[5]: duplicate entry (input 'knobs', device 'x')",
    ]
    _, errors = settings()
    assert errors == []
    diags = Diagnostics("box.toml")
    parse({"alsa_inputs": {"input": "knobs"}}, diags)
    assert [str(d) for d in diags.items] == [
        'box.toml: jack.alsa_inputs: must be a list of tables, e.g. [{ input = "knobs", device = "nanoKONTROL2" }]']


def test_alsa_inputs_error_names_file_and_line(tmp_path):
    box = write_box(tmp_path, extra='alsa_inputs = [{ input = "knobs", dev = "nano" }]')
    with pytest.raises(ConfigError) as caught:
        load_box(box)
    line = next(i for i, t in enumerate(box.read_text().splitlines(), 1) if t.startswith("alsa_inputs"))
    assert f"box.toml:{line}: jack.alsa_inputs[0].dev: unknown key (did you mean 'device'?)" in str(caught.value)


# -- frame stamp ------------------------------------------------------------------------------

def test_frame_stamp_adds_jacks_frame_clock_offset_to_the_timeline():
    timeline = Timeline(48000)
    timeline.on_cycle(5000, 256)
    timeline.on_cycle(5256 + 256, 256)            # JACK skipped a cycle: the timeline follows it
    stamp = FrameStamp(timeline)
    stamp.attach(FakeClient(last_frame_time=5512, frame_time=5600))
    assert timeline.frame == 5512 and stamp() == 5600
    wrapped = Timeline(48000)
    wrapped.on_cycle(0xFFFFFF00, 256)
    wrapped.on_cycle(0x00000000, 256)             # JACK's 32-bit counter wrapped; the timeline did not
    stamp = FrameStamp(wrapped)
    stamp.attach(FakeClient(last_frame_time=0, frame_time=40))
    assert stamp() == 0xFFFFFF00 + 256 + 40
    stamp.detach()                                # reconnecting: wall-clock estimate, never the old client
    assert stamp() >= 0xFFFFFF00 + 256


# -- the component with a fake ALSA sequencer -------------------------------------------------

def test_messages_reach_a_parameter_through_the_control_loop(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ravebox.host.alsa")
    alsa, inputs, loop, store, _ = rig(tmp_path, [THROUGH, NANO_20])
    inputs.scan()
    assert [m.port for m in alsa.made if m.port] == [NANO_20]      # Midi Through does not match "nanokontrol"
    opened = alsa.open_on(NANO_20)[0]
    assert opened.ignored == {"sysex": True, "timing": True, "active_sense": True}
    assert inputs.status() == {"open": [LABEL], "reason": None, "dropped": 0, "callback_errors": 0}
    (ring, _, label), = loop.alsa_sources
    assert label == LABEL
    assert alsa.send(NANO_20, [0xB0, 7, 0]) == 1
    assert len(ring) == 1 and loop.ring.head == 0                  # its own ring; the JACK MIDI ring untouched
    assert ring.frames[0] == 1100                                  # stamped from JACK's frame clock
    loop.step()
    assert store.target(GAIN) == pytest.approx(-40.0)
    alsa.send(NANO_20, [0xB0, 7, 127])
    loop.step()
    assert store.target(GAIN) == pytest.approx(0.0) and loop.events == 2
    assert store.target(WET) == pytest.approx(PARAMS["mix.wet"].default)   # the Through rule never fired
    assert [r.getMessage() for r in caplog.records] == \
        [f"ALSA MIDI input opened: {LABEL} (ALSA port {NANO_20})"]


def test_reopens_after_the_device_disappears_and_comes_back(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ravebox.host.alsa")
    alsa, inputs, loop, store, clock = rig(tmp_path, [NANO_20])
    inputs.poll()
    first = alsa.open_on(NANO_20)[0]
    alsa.ports = [THROUGH]                                         # unplugged
    clock.t = 1.0
    inputs.poll()                                                  # before the 2 s re-scan: nothing changes
    assert not first.closed
    clock.t = 2.0
    inputs.poll()
    assert first.closed and first.deleted and first.callback is None
    assert loop.alsa_sources == () and inputs.status()["open"] == []
    alsa.ports = [THROUGH, NANO_24]                                # replugged: ALSA gave a new client number
    clock.t = 4.0
    inputs.poll()
    second, = alsa.open_on(NANO_24)
    assert second is not first and [s[2] for s in loop.alsa_sources] == [LABEL]   # same label: numbers stripped
    alsa.send(NANO_24, [0xB0, 7, 127])
    loop.step()
    assert store.target(GAIN) == pytest.approx(0.0)
    assert (inputs.opens, inputs.closes) == (2, 1)
    assert [r.getMessage() for r in caplog.records] == [
        f"ALSA MIDI input opened: {LABEL} (ALSA port {NANO_20})",
        f"ALSA MIDI input closed: {LABEL} ({NANO_20} gone)",
        f"ALSA MIDI input opened: {LABEL} (ALSA port {NANO_24})",
    ]
    inputs.close()
    assert second.closed and second.deleted and loop.alsa_sources == ()
    assert all(m.deleted for m in alsa.made)                       # the scanner too


def test_a_port_that_cannot_be_opened_is_logged_once_and_retried_after_it_vanishes(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ravebox.host.alsa")
    alsa, inputs, loop, _, clock = rig(tmp_path, [NANO_20])
    alsa.refuse.add(NANO_20)
    for t in (0.0, 2.0, 4.0):
        clock.t = t
        inputs.poll()
    assert loop.alsa_sources == ()
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert failures == [f"ALSA MIDI input 'knobs': cannot open {NANO_20}: "
                        f"MidiInAlsa::openPort: ALSA error making port connection ({NANO_20})"]
    scanner, refused = alsa.made                                    # one listing client, one failed open
    assert refused.closed and refused.deleted and refused.callback is None and not scanner.closed
    alsa.refuse.clear()
    alsa.ports = []
    clock.t = 6.0
    inputs.poll()
    alsa.ports = [NANO_20]
    clock.t = 8.0
    inputs.poll()
    assert [s[2] for s in loop.alsa_sources] == [LABEL]


def test_no_sequencer_gives_a_reason_once_and_opens_nothing(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ravebox.host.alsa")
    attempts = []

    def broken():
        attempts.append(1)
        raise OSError("MidiInAlsa::initialize: error creating ALSA sequencer client object.")

    loop_sources = []
    inputs = AlsaInputs((AlsaInputSpec("knobs", "nano"),), lambda: 0, loop_sources.append, PortParser,
                        midi_in_factory=broken, clock=Clock())
    inputs.scan()
    inputs.scan()
    reason = "rtmidi cannot open the ALSA sequencer: MidiInAlsa::initialize: error creating ALSA sequencer " \
             "client object."
    assert inputs.status() == {"open": [], "reason": reason, "dropped": 0, "callback_errors": 0}
    assert len(attempts) == 2 and loop_sources == []               # retried each scan, nothing published
    assert [r.getMessage() for r in caplog.records] == \
        [f"direct ALSA MIDI inputs unavailable: {reason}; retrying every 2 s"]


def test_without_a_fake_factory_this_machine_reports_the_missing_sequencer(tmp_path):
    if Path("/dev/snd/seq").exists():
        pytest.skip("this machine has an ALSA sequencer")
    inputs = AlsaInputs((AlsaInputSpec("knobs", "nano"),), lambda: 0, lambda s: None, PortParser)
    inputs.scan()
    assert inputs.reason == "no ALSA sequencer (/dev/snd/seq does not exist; is the snd-seq module loaded?)"
    inputs.close()


def test_callback_failures_are_counted_never_raised(tmp_path):
    alsa, inputs, loop, _, _ = rig(tmp_path, [NANO_20])
    inputs.scan()
    alsa.send(NANO_20, [])                                         # an empty message: the ring refuses it
    alsa.open_on(NANO_20)[0].callback(None, None)                  # garbage from rtmidi: counted
    status = inputs.status()
    assert status["dropped"] == 1 and status["callback_errors"] == 1


# -- a real daemon on a dummy jackd -------------------------------------------------------------

@needs_jackd
@pytest.mark.jack
def test_daemon_with_alsa_inputs_starts_logs_the_reason_and_keeps_running(jack_server, tmp_path, caplog):
    if Path("/dev/snd/seq").exists():
        pytest.skip("this machine has an ALSA sequencer")
    caplog.set_level(logging.INFO, logger="ravebox")
    box = write_box(tmp_path, extra='alsa_inputs = [{ input = "knobs", device = "nanoKONTROL2" }]')
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        host = daemon.host
        assert host.alsa is not None
        assert host.alsa.reason == "no ALSA sequencer (/dev/snd/seq does not exist; is the snd-seq module loaded?)"
        assert "direct ALSA MIDI inputs unavailable: no ALSA sequencer" in caplog.text
        assert host.control.alsa_sources == ()
        cycles = host.path.cycles
        assert wait_for(lambda: host.path.cycles > cycles + 10)    # the process callback keeps running
        status = daemon.status()
        assert status["state"] == "running" and host.connected
        assert status["alsa_inputs"]["open"] == [] and status["alsa_inputs"]["reason"] == host.alsa.reason
    assert caplog.text.count("direct ALSA MIDI inputs unavailable") == 1


@needs_jackd
@pytest.mark.jack
def test_daemon_without_alsa_inputs_creates_nothing(jack_server, tmp_path):
    with running_daemon(write_box(tmp_path), jack_server.name, PassEngine.factory()) as daemon:
        assert daemon.host.alsa is None and daemon.host.control.alsa_sources == ()
        assert daemon.status()["alsa_inputs"] is None


# -- `ravebox ports` ------------------------------------------------------------------------------

def test_ports_section_lists_devices_and_the_entry_that_opens_each():
    from ravebox.midi.alsa import AlsaListing, listing_from_names
    from ravebox.service.commands.ports import alsa_lines

    configured, _ = settings({"input": "knobs", "device": "nanokontrol"})
    assert alsa_lines(configured, listing_from_names([THROUGH, NANO_20])) == [
        "", "ALSA MIDI inputs (direct):",
        "  Midi Through:Midi Through Port-0         -",
        "  nanoKONTROL2:nanoKONTROL2 MIDI 1         -> alsa_inputs 'knobs' (device 'nanokontrol')",
    ]
    assert alsa_lines(JackSettings(), listing_from_names([NANO_24]))[-1] == \
        "  ([jack] alsa_inputs is empty: ravebox opens none of these directly)"
    assert alsa_lines(JackSettings(), AlsaListing([], "no ALSA sequencer (x)"))[-1] == \
        "  none listed: no ALSA sequencer (x)"


@needs_jackd
@pytest.mark.jack
def test_ports_command_prints_the_alsa_section_with_its_reason(jack_server, tmp_path):
    import subprocess
    import sys

    if Path("/dev/snd/seq").exists():
        pytest.skip("this machine has an ALSA sequencer")
    box = write_box(tmp_path, extra='alsa_inputs = [{ input = "knobs", device = "nanoKONTROL2" }]')
    done = subprocess.run([sys.executable, "-m", "ravebox.service.cli", "ports", "--config", str(box), "--no-models",
                           "--server", jack_server.name], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = lines.index("ALSA MIDI inputs (direct):")
    assert lines[at + 1:] == [
        "  none listed: no ALSA sequencer (/dev/snd/seq does not exist; is the snd-seq module loaded?)"]
    assert "ALSA lib" not in done.stderr                           # checked before alsa-lib could complain


def test_the_port_is_opened_by_name_even_when_indices_moved_since_the_scan(tmp_path):
    alsa, inputs, loop, _, _ = rig(tmp_path, [NANO_20])
    real_factory = alsa.factory

    def factory():
        midi_in = real_factory()
        if len(alsa.made) == 2:                                    # after the scan, before the open:
            alsa.ports.insert(0, THROUGH)                          # a new port shifts the indices
        return midi_in

    inputs._factory = factory
    inputs.scan()
    assert [m.port for m in alsa.made] == [None, NANO_20]
    assert [s[2] for s in loop.alsa_sources] == [LABEL]


def test_a_closing_source_is_muted_before_its_port_closes(tmp_path):
    """A message rtmidi delivers while the port is being closed is dropped, not pushed after close."""
    alsa, inputs, loop, _, _ = rig(tmp_path, [NANO_20])
    inputs.scan()
    midi_in = alsa.open_on(NANO_20)[0]
    callback, (ring, _, _) = midi_in.callback, loop.alsa_sources[0]
    inputs.close()
    assert midi_in.closed and midi_in.callback is None
    callback(([0xB0, 7, 1], 0.0), None)                            # in flight: rtmidi had picked it up
    assert len(ring) == 0


# -- a vanished source lets go of what it held -------------------------------------------------

def test_an_unplugged_device_releases_sustain_the_note_and_the_bend(tmp_path):
    alsa, inputs, loop, store, clock = rig(tmp_path, [NANO_20])
    inputs.poll()
    for message in HOLD:
        alsa.send(NANO_20, message)
    loop.step()
    assert held(store) == (1.0, 1.0, 2.0)
    alsa.send(NANO_20, [0xB0, 7, 0])            # the last fader move, still in the ring at the unplug
    alsa.ports = []
    clock.t = 2.0
    inputs.poll()
    assert loop.alsa_sources == ()              # unpublished: only the retirement reads its ring now
    loop.step()
    assert store.target(GAIN) == pytest.approx(-40.0)   # delivered before the release
    assert held(store) == (0.0, 0.0, 0.0) and loop.released == 3


def test_a_second_identical_device_keeps_what_is_held_under_the_shared_label(tmp_path):
    alsa, inputs, loop, store, clock = rig(tmp_path, [NANO_20, NANO_24])
    inputs.poll()
    assert [s[2] for s in loop.alsa_sources] == [LABEL, LABEL]
    alsa.send(NANO_20, HOLD[0])
    loop.step()
    alsa.ports = [NANO_20]                      # the other one is unplugged: same label, nothing released
    clock.t = 2.0
    inputs.poll()
    loop.step()
    assert store.target(FREEZE) == 1.0 and loop.released == 0
    inputs.close()                              # shutdown closes, it does not release
    loop.step()
    assert store.target(FREEZE) == 1.0 and loop.released == 0


@needs_jackd
@pytest.mark.jack
def test_daemon_releases_what_an_unplugged_alsa_device_held(jack_server, tmp_path):
    """The real wiring: the daemon's main thread re-scans, the control thread releases (fake sequencer injected)."""
    box = write_box(tmp_path, mapping=MAPPING, extra='alsa_inputs = [{ input = "knobs", device = "nanoKONTROL2" }]')
    alsa = FakeAlsa([NANO_20])
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        host, store = daemon.host, daemon.store
        host.alsa._factory, host.alsa._seq_path = alsa.factory, None    # this machine has no ALSA sequencer
        assert wait_for(lambda: [s[2] for s in host.control.alsa_sources] == [LABEL])
        for message in HOLD:
            alsa.send(NANO_20, message)
        assert wait_for(lambda: held(store) == (1.0, 1.0, 2.0))
        alsa.ports = []                                                 # unplugged
        assert wait_for(lambda: held(store) == (0.0, 0.0, 0.0))
        assert host.control.alsa_sources == () and daemon.status()["counters"]["midi_released"] == 3


def test_the_kernel_subscription_list_is_read_as_pairs_of_our_port_and_its_source():
    text = """Client info
  cur  clients : 3
  peak clients : 3
  max  clients : 192

Client   0 : "System" [Kernel]
  Port   0 : "Timer" (Rwe-)
  Port   1 : "Announce" (R-e-)
    Connecting To: 15:0, 128:0
Client  20 : "nanoKONTROL2" [Kernel]
  Port   0 : "nanoKONTROL2 MIDI 1" (RWeX)
    Connecting To: 128:0[real:0]
Client 128 : "ravebox" [User Legacy]
  Port   0 : "ravebox_knobs" (-We-)
    Connected From: 20:0[real:0], 0:1
Client 129 : "ravebox" [User Legacy]
  Port   0 : "ravebox_pads" (-We-)
Client 130 : "other" [User Legacy]
  Port   0 : "ravebox_knobs" (-We-)
    Connected From: 24:0
"""
    assert subscriptions(text, "ravebox") == {("ravebox_knobs", ""), ("ravebox_knobs", "20:0"),
                                              ("ravebox_knobs", "0:1"), ("ravebox_pads", "")}
    assert address(NANO_20) == "20:0" and address("no numbers") is None
    assert read_subscriptions("ravebox", Path("/nonexistent/clients")) is None


def test_a_replug_faster_than_a_rescan_under_the_same_name_releases_and_reopens(tmp_path, caplog):
    """Same name, same client:port numbers: only the dropped subscription tells; before, the dead handle stayed
    open, the held controls latched and the device's new messages never arrived."""
    caplog.set_level(logging.INFO, logger="ravebox.host.alsa")
    alsa, inputs, loop, store, clock = rig(tmp_path, [NANO_20])
    inputs.poll()
    first, = alsa.open_on(NANO_20)
    for message in HOLD:
        alsa.send(NANO_20, message)
    loop.step()
    assert held(store) == (1.0, 1.0, 2.0)
    alsa.replug(NANO_20)                          # out and back within one re-scan; the port list never changed
    clock.t = 2.0
    inputs.poll()
    loop.step()
    assert first.closed and held(store) == (0.0, 0.0, 0.0) and loop.released == 3
    second, = alsa.open_on(NANO_20)               # reopened in the same scan, same label
    assert second is not first and [s[2] for s in loop.alsa_sources] == [LABEL]
    alsa.send(NANO_20, [0xB0, 7, 127])
    loop.step()
    assert store.target(GAIN) == pytest.approx(0.0)
    clock.t = 4.0
    inputs.poll()                                 # subscribed again: left alone
    assert alsa.open_on(NANO_20) == [second] and (inputs.opens, inputs.closes) == (2, 1)
    assert f"ALSA MIDI input closed: {LABEL} ({NANO_20} replugged: its subscription was dropped)" in caplog.text
