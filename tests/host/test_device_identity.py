"""Device identity for MIDI sources: named MIDI inputs, device labels, alias-based auto-connect.

Against real dummy jackd servers. The controller stand-ins are JACK-Client
clients in the test process (no rtmidi here): they imitate jackd's ``-X seq``
bridge (a generic ``midi_capture_N`` port name, the device name only in the
port's aliases) and a2jmidid (``a2j:<device> [NN] (capture): <port>``, where
``NN`` is an ALSA client number that changes on every replug).
"""

from __future__ import annotations

import collections
import subprocess
import sys

import jack
import pytest

from ravebox.config.box import load_box
from ravebox.config.diagnostics import Diagnostics
from ravebox.config.jack import ConnectRule, JackSettings, parse
from ravebox.errors import ConfigError
from ravebox.host.autoconnect import device_label, strip_client_number
from ravebox.assembly.router import EventRouter
from ravebox.host.control import ControlLoop
from ravebox.host.democlients import OwnClient
from ravebox.host.rings import ByteRing, MidiRing
from ravebox.mapping import MappingRuntime, load_mapping
from ravebox.midi.parser import PortParser
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey
from tests.host.daemonkit import connect, deliver, mapping_toml, rule, running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

NANO = ("alsa_pcm:nanoKONTROL2/midi_capture_1", "nanoKONTROL2:midi/capture_1")   # what JACK2's alsa_seqmidi sets
PAD = ("alsa_pcm:padKONTROL/midi_capture_1", "padKONTROL:midi/capture_1")
THROUGH = ("alsa_pcm:Midi-Through/midi_capture_1", "Midi-Through:midi/capture_1")
A2J_NANO = "nanoKONTROL2 [{}] (capture): nanoKONTROL2 MIDI 1"

TWO_DEVICES_MAPPING = mapping_toml(rule(cc=7, port="nanoKONTROL2", target="out.gain_db", range=[-40, 0]),
                                   rule(cc=7, port="padKONTROL", target="mix.wet"), name="two devices, one CC number")
INPUT_NAME_MAPPING = mapping_toml(rule(cc=7, port="knobs", target="mix.wet"),
                                  rule(cc=7, port="keys", target="out.gain_db", range=[-40, 0]), name="by input name")


class FakeMidiSource(OwnClient):
    """A MIDI source client whose ports carry aliases, as ``jackd -X seq`` would set them.

    Runs in the test process; its process callback (JACK thread) writes queued
    3-byte messages at frame 0. Ports are registered and aliased before
    activation, so auto-connect normally sees the alias at once (a 2 s rescan
    catches it otherwise).
    """

    def __init__(self, server: str, name: str, ports: dict[str, tuple[str, ...]]) -> None:
        self.client = jack.Client(name, servername=server, no_start_server=True)
        self.ports: dict[str, jack.OwnMidiPort] = {}
        self.pending: collections.deque = collections.deque()
        for short, aliases in ports.items():
            self.add(short, aliases)
        self._set_process(self._process)
        self.client.activate()

    def add(self, short: str, aliases: tuple[str, ...] = ()) -> str:
        port = self.client.midi_outports.register(short)
        for alias in aliases:
            port.set_alias(alias)
        self.ports[short] = port
        return port.name

    def remove(self, short: str) -> None:
        self.ports.pop(short).unregister()

    def cc(self, short: str, channel: int, number: int, value: int) -> None:
        self.pending.append((short, bytes([0xB0 | (channel - 1), number, value])))

    def send(self, line: tuple[str, int, int, int]) -> None:
        """``daemonkit.deliver``'s controller interface: one CC, ``(port, channel, number, value)``."""
        self.cc(*line)

    def _process(self, frames: int) -> None:
        ports = self.ports
        for port in list(ports.values()):
            port.clear_buffer()
        while self.pending:
            short, data = self.pending.popleft()
            if short in ports:
                ports[short].write_midi_event(0, data)


def box_with(tmp_path, inputs: str, rules: str, mapping: str):
    return write_box(tmp_path, mapping=mapping, extra=f"midi_inputs = {inputs}", connect=rules)


def labels(daemon) -> list[str]:
    return list(daemon.host.control.labels)


def params(daemon) -> dict:
    return daemon.status()["params"]


# -- pure: labels and rules ----------------------------------------------------------------

def test_label_prefers_a_descriptive_name_over_a_generic_capture_port():
    assert device_label("system:midi_capture_3", NANO) == "alsa_pcm:nanoKONTROL2/midi_capture_1"
    assert device_label("system:midi_capture_3", ()) == "system:midi_capture_3"
    assert device_label("fakectl:out", ("alias:ignored",)) == "fakectl:out"


def test_label_never_contains_the_alsa_client_number():
    for number in (20, 24, 128):
        assert device_label("a2j:" + A2J_NANO.format(number)) == "a2j:nanoKONTROL2 (capture): nanoKONTROL2 MIDI 1"
    assert strip_client_number("a2j:Midi Through [14] (playback): Midi Through Port-0") == \
        "a2j:Midi Through (playback): Midi Through Port-0"
    assert strip_client_number("x:Synth [2] bank") == "x:Synth [2] bank"   # only a2j's own bracket is touched


def test_rules_match_the_name_or_any_alias_and_deny_wins_on_either():
    rule = ConnectRule("^knobs$", ("nanoKONTROL2",), ("(?i)through",))
    assert rule.match(("system:midi_capture_3", *NANO)) == ("nanoKONTROL2", NANO[0])
    assert not rule.admits("system:midi_capture_3")
    generic = ConnectRule("^midi_in$", ("^system:midi_capture_",), ("(?i)through",))
    assert generic.admits(("system:midi_capture_2", *NANO))
    assert not generic.admits(("system:midi_capture_1", *THROUGH))
    assert generic.denied_by(("system:midi_capture_1", *THROUGH)) == "(?i)through"


def test_control_loop_labels_events_per_input_and_knows_the_clock_input(tmp_path):
    """The ring's port index selects the label; thru copies every input but the clock input."""
    (tmp_path / "map.toml").write_text(TWO_DEVICES_MAPPING)
    store = ParamStore({"main": 8}, 48000)
    ring, out = MidiRing(), ByteRing()
    loop = ControlLoop(ring, out, ["keys", "knobs", "sync"], PortParser,
                       EventRouter(None, MappingRuntime(load_mapping(tmp_path / "map.toml"), store)),
                       lambda: 0, lambda view: None,
                       clock_from="sync", thru=True)
    assert loop.clock_index == 2 and loop.labels == ["keys", "knobs", "sync"]
    loop.labels = [PAD[0], "nanoKONTROL2:midi/capture_1", "sync"]       # as the main thread sets them
    ring.push(10, 1, bytes([0xB0, 7, 0]))                                  # knobs: the nanoKONTROL2
    ring.push(11, 0, bytes([0xB0, 7, 32]))                                 # keys: the padKONTROL
    ring.push(12, 2, bytes([0xB0, 7, 64]))                                 # sync: no device label matches
    ring.push(13, 2, bytes([0xF8]))
    loop.step()
    assert store.target(ParamKey("out.gain_db", "main")) == pytest.approx(-40.0)
    assert store.target(ParamKey("mix.wet", "main")) == pytest.approx(32 / 127)   # not 64/127: sync is no device
    thru = []
    while (view := out.peek_view()) is not None:
        thru.append(bytes(view))
        out.advance()
    assert thru == [bytes([0xB0, 7, 0]), bytes([0xB0, 7, 32])]
    lone = ControlLoop(ring, out, ["keys"], PortParser, EventRouter(None, None), lambda: 0, lambda v: None)
    assert lone.clock_index == -1


# -- config validation ----------------------------------------------------------------------

def test_midi_inputs_default_and_custom():
    assert JackSettings().midi_inputs == ("midi_in", "clock_in")
    diags = Diagnostics("box.toml")
    settings = parse({"midi_inputs": ["keys", "knobs", "clock_in"], "clock_from": "knobs"}, diags)
    assert not diags
    assert settings.midi_inputs == ("keys", "knobs", "clock_in") and settings.clock_from == "knobs"


def test_midi_inputs_errors_name_file_line_and_element(tmp_path):
    box = write_box(tmp_path, extra='midi_inputs = ["keys", "keys", "a:b", "midi_out", "main_in_1", "", 3]\n'
                                   'clock_from = "clok_in"')
    with pytest.raises(ConfigError) as caught:
        load_box(box)
    text = str(caught.value)
    line = next(i for i, t in enumerate(box.read_text().splitlines(), 1) if t.startswith("midi_inputs"))
    assert f"box.toml:{line}: jack.midi_inputs[1]: duplicate port name 'keys'" in text
    assert "jack.midi_inputs[2]: invalid JACK port name 'a:b'" in text and "':' separates client and port" in text
    assert "jack.midi_inputs[3]: 'midi_out' is ravebox's MIDI output port" in text
    assert "jack.midi_inputs[4]: 'main_in_1' looks like an audio port name" in text
    assert "jack.midi_inputs[5]: must be 1..64 characters long" in text
    assert "jack.midi_inputs[6]: must be a port name (a string), not int" in text
    assert f"box.toml:{line + 1}: jack.clock_from: must be one of midi_in, clock_in, any " \
           "(did you mean 'clock_in'?)" in text


def test_clock_from_is_checked_against_the_declared_inputs():
    diags = Diagnostics("box.toml")
    parse({"midi_inputs": ["keys", "clock"], "clock_from": "clock_in"}, diags)
    assert [str(d) for d in diags.items] == \
        ["box.toml: jack.clock_from: must be one of keys, clock, any (did you mean 'clock'?)"]
    diags = Diagnostics("box.toml")
    parse({"midi_inputs": "keys"}, diags)
    assert "jack.midi_inputs: must be a list of port names" in str(diags.items[0])


# -- against a real dummy jackd ---------------------------------------------------------------

SEQ_RULES = (connect("^keys$", "padKONTROL", deny=["(?i)through"])
             + connect("^knobs$", "nanoKONTROL2", deny=["(?i)through"]))


@needs_jackd
@pytest.mark.jack
def test_two_controllers_same_cc_routed_by_device_alias(jack_server, tmp_path):
    box = box_with(tmp_path, '["keys", "knobs", "clock_in"]', SEQ_RULES, TWO_DEVICES_MAPPING)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        with FakeMidiSource(jack_server.name, "fakeseq", {"midi_capture_3": NANO, "midi_capture_4": PAD,
                                                          "midi_capture_5": THROUGH}) as seq:
            client = daemon.host.session.client
            assert wait_for(lambda: [p.name for p in client.get_all_connections("rbx:knobs")]
                            == ["fakeseq:midi_capture_3"])
            assert wait_for(lambda: [p.name for p in client.get_all_connections("rbx:keys")]
                            == ["fakeseq:midi_capture_4"])
            assert wait_for(lambda: labels(daemon) == [f"keys <- {PAD[0]}", f"knobs <- {NANO[0]}", "clock_in"])
            deliver(seq, daemon, ("midi_capture_3", 1, 7, 0),                    # nanoKONTROL2 -> out.gain_db = -40
                    until=lambda: params(daemon).get("main/out.gain_db") == pytest.approx(-40.0))
            assert "main/mix.wet" not in params(daemon)
            deliver(seq, daemon, ("midi_capture_4", 1, 7, 32),                   # padKONTROL, same CC -> mix.wet
                    until=lambda: params(daemon).get("main/mix.wet") == pytest.approx(32 / 127))
            assert params(daemon)["main/out.gain_db"] == pytest.approx(-40.0)
            deliver(seq, daemon, ("midi_capture_3", 1, 7, 127),
                    until=lambda: params(daemon).get("main/out.gain_db") == pytest.approx(0.0))
            assert params(daemon)["main/mix.wet"] == pytest.approx(32 / 127)
            assert client.get_all_connections("fakeseq:midi_capture_5") == []   # Midi-Through alias: denied
            assert daemon.status()["counters"]["control_errors"] == 0


@needs_jackd
@pytest.mark.jack
def test_input_name_is_the_label_when_several_sources_share_an_input(jack_server, tmp_path):
    rules = connect("^knobs$", "^fakeseq:midi_capture_[12]$") + connect("^keys$", "^fakeseq:midi_capture_3$")
    box = box_with(tmp_path, '["keys", "knobs"]', rules, INPUT_NAME_MAPPING)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        with FakeMidiSource(jack_server.name, "fakeseq", {"midi_capture_1": NANO, "midi_capture_2": PAD,
                                                          "midi_capture_3": ()}) as seq:
            client = daemon.host.session.client
            assert wait_for(lambda: len(client.get_all_connections("rbx:knobs")) == 2
                            and len(client.get_all_connections("rbx:keys")) == 1)
            # knobs has two sources: its own name; keys has one generic source with no alias: that name
            assert wait_for(lambda: labels(daemon) == ["keys <- fakeseq:midi_capture_3", "knobs"])
            deliver(seq, daemon, ("midi_capture_2", 1, 7, 64),
                    until=lambda: params(daemon).get("main/mix.wet") == pytest.approx(64 / 127))
            assert "main/out.gain_db" not in params(daemon)
            client.disconnect("fakeseq:midi_capture_1", "rbx:knobs")     # one source left: its device name
            assert wait_for(lambda: labels(daemon)[1] == f"knobs <- {PAD[0]}")
            deliver(seq, daemon, ("midi_capture_2", 1, 7, 100),   # a rule on the input name still matches
                    until=lambda: params(daemon).get("main/mix.wet") == pytest.approx(100 / 127))


@needs_jackd
@pytest.mark.jack
def test_a2j_client_number_is_not_part_of_the_label_across_a_replug(jack_server, tmp_path):
    box = box_with(tmp_path, '["knobs"]', connect("^knobs$", r"^a2j:nanoKONTROL2 \[\d+\] \(capture\)"), TWO_DEVICES_MAPPING)
    label = "a2j:nanoKONTROL2 (capture): nanoKONTROL2 MIDI 1"
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        with FakeMidiSource(jack_server.name, "a2j", {A2J_NANO.format(20): ()}) as a2j:
            assert wait_for(lambda: labels(daemon) == [f"knobs <- {label}"])
            deliver(a2j, daemon, (A2J_NANO.format(20), 1, 7, 0),
                    until=lambda: params(daemon).get("main/out.gain_db") == pytest.approx(-40.0))
            a2j.remove(A2J_NANO.format(20))                              # unplug ...
            assert wait_for(lambda: labels(daemon) == ["knobs"])
            a2j.add(A2J_NANO.format(24))                                 # ... replug: ALSA gave a new number
            assert wait_for(lambda: labels(daemon) == [f"knobs <- {label}"])
            deliver(a2j, daemon, (A2J_NANO.format(24), 1, 7, 127),
                    until=lambda: params(daemon).get("main/out.gain_db") == pytest.approx(0.0))


@needs_jackd
@pytest.mark.jack
def test_ports_command_shows_aliases_matched_pattern_and_labels(jack_server, tmp_path):
    box = box_with(tmp_path, '["keys", "knobs", "clock_in"]', SEQ_RULES, TWO_DEVICES_MAPPING)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        with FakeMidiSource(jack_server.name, "fakeseq", {"midi_capture_3": NANO, "midi_capture_5": THROUGH}):
            assert wait_for(lambda: labels(daemon) == ["keys", f"knobs <- {NANO[0]}", "clock_in"])
            done = subprocess.run([sys.executable, "-m", "ravebox.service.cli", "ports", "--config", str(box),
                                   "--no-models", "--server", jack_server.name], capture_output=True, text=True,
                                  timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("fakeseq:midi_capture_3"))
    assert lines[at].endswith(f"-> rbx:knobs (allow 'nanoKONTROL2' on alias '{NANO[0]}')")
    assert lines[at + 1:at + 4] == [f"    alias {NANO[0]}", f"    alias {NANO[1]}",
                                    f"    label '{NANO[0]}' (in MidiEvent.port as 'INPUT <- label' when it is an input's only source)"]
    through = next(line for line in lines if line.startswith("fakeseq:midi_capture_5"))
    assert through.endswith("-> denied ('(?i)through')")
    running = lines[lines.index("rbx MIDI inputs and the label their events carry:") + 1:]
    assert running[:3] == ["  keys                 'keys'", f"  knobs                'knobs <- {NANO[0]}'",
                           "  clock_in             'clock_in'"]
