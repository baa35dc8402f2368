"""The control thread under a CC flood, and controls held by a source that vanishes (offline)."""

from __future__ import annotations

import textwrap

from ravebox.assembly.router import EventRouter
from ravebox.host.control import MAX_EVENTS_PER_PASS, ControlLoop
from ravebox.host.rings import ByteRing, MidiRing
from ravebox.mapping import MappingRuntime, load_mapping
from ravebox.midi.parser import PortParser
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey
from tests.host.daemonkit import GAIN_CC7, HELD_RULES, mapping_toml, rule

MAPPING = mapping_toml(GAIN_CC7, rule(cc=16, encoder="twos_complement", step=0.5, target="out.gain_db"), HELD_RULES, name=None)


def rig(tmp_path, slots: int = 4096):
    (tmp_path / "map.toml").write_text(textwrap.dedent(MAPPING))
    store = ParamStore({"main": 4}, 48000)
    runtime = MappingRuntime(load_mapping(tmp_path / "map.toml"), store)
    ring = MidiRing(slots)
    loop = ControlLoop(ring, ByteRing(), ["midi_in"], PortParser, EventRouter(None, runtime), lambda: 1000,
                       lambda view: None)
    return loop, ring, store, runtime


def test_a_cc_flood_is_coalesced_per_control_and_nothing_vanishes_uncounted(tmp_path):
    loop, ring, store, runtime = rig(tmp_path)
    sent = 0
    for value in range(4000):                        # 4000 fader steps in one pass
        ring.push(value, 0, bytes([0xB0, 7, value % 128]))
        sent += 1
    for _ in range(6):                                 # + 6 encoder ticks: each one counts
        ring.push(5000, 0, bytes([0xB0, 16, 1]))
        sent += 1
    assert ring.dropped == 0 and sent == ring.head
    loop.step()
    handled = runtime.stats.events
    assert handled == 1 + 6 and loop.coalesced == 3999   # the fader's last step and every encoder tick
    assert handled + loop.coalesced + len(loop._backlog) == sent


def test_coalescing_keeps_the_last_value_and_every_relative_tick(tmp_path):
    loop, ring, store, runtime = rig(tmp_path)
    gain = ParamKey("out.gain_db", "main")
    for value in (10, 127, 0):
        ring.push(1, 0, bytes([0xB0, 7, value]))
    loop.step()
    assert store.target(gain) == -40.0                               # the last fader value: 0 -> -40 dB
    for _ in range(4):
        ring.push(2, 0, bytes([0xB0, 16, 1]))                        # +1 each, twos complement
    loop.step()
    assert store.target(gain) == -38.0                               # all four ticks, none coalesced
    assert loop.coalesced == 2


def test_the_pass_is_bounded_and_the_backlog_drains_over_later_passes(tmp_path):
    loop, ring, store, runtime = rig(tmp_path)
    for i in range(3 * MAX_EVENTS_PER_PASS):
        ring.push(i, 0, bytes([0xB0, 16, 1]))
    loop.step()
    assert runtime.stats.events == MAX_EVENTS_PER_PASS
    loop.step()
    loop.step()
    assert runtime.stats.events == 3 * MAX_EVENTS_PER_PASS and not loop._backlog


def test_a_ring_overflow_is_counted_by_the_ring(tmp_path):
    loop, ring, store, runtime = rig(tmp_path, slots=64)
    accepted = sum(ring.push(i, 0, bytes([0xB0, 16, 1])) for i in range(100))
    assert accepted == 64 and ring.dropped == 36


def test_a_vanished_source_releases_sustain_notes_and_bend(tmp_path):
    loop, ring, store, runtime = rig(tmp_path)
    loop.labels = ["midi_in <- keys"]
    ring.push(1, 0, bytes([0xB0, 64, 127]))             # sustain/freeze pressed
    ring.push(2, 0, bytes([0x90, 36, 100]))             # a note held
    ring.push(3, 0, bytes([0xE0, 0x7F, 0x7F]))          # pitch bend at its maximum
    loop.step()
    assert store.target(ParamKey("latent.freeze", "main")) == 1.0
    assert store.target(ParamKey("loop.enabled", "main")) == 1.0
    assert store.target(ParamKey("latent.bias", "main", 0)) > 1.9
    loop.labels = ["midi_in"]                            # the main thread relabels: the keyboard is gone
    loop.post(lambda: loop.release_source("midi_in <- keys"))
    loop.step()
    assert store.target(ParamKey("latent.freeze", "main")) == 0.0
    assert store.target(ParamKey("loop.enabled", "main")) == 0.0
    assert abs(store.target(ParamKey("latent.bias", "main", 0))) < 1e-3      # the centre
    assert loop.released == 3
