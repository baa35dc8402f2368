"""ALSA device discovery: names without ALSA numbers, and a reason instead of an exception without a sequencer.

This machine has no /dev/snd, so real discovery must degrade; listings with
devices are produced by fake ``MidiIn`` objects (the ALSA sequencer cannot
exist here).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ravebox.midi import alsa
from ravebox.midi.alsa import AlsaListing, device_name, list_alsa_inputs, sequencer_problem


class FakeMidiIn:
    def __init__(self, names, fail: Exception | None = None) -> None:
        self.names = names
        self.fail = fail
        self.deleted = False

    def get_ports(self):
        if self.fail:
            raise self.fail
        return list(self.names)

    def delete(self) -> None:
        self.deleted = True


def test_device_name_drops_alsa_client_and_port_numbers():
    assert device_name("nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0") == "nanoKONTROL2:nanoKONTROL2 MIDI 1"
    assert device_name("nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0") == "nanoKONTROL2:nanoKONTROL2 MIDI 1"
    assert device_name("Midi Through:Midi Through Port-0 14:0") == "Midi Through:Midi Through Port-0"
    assert device_name("Launchpad X:Launchpad X LPX MIDI In 28:1") == "Launchpad X:Launchpad X LPX MIDI In"
    # numbers that are part of the device's own name stay
    assert device_name("MPK mini 3:MPK mini 3 MIDI 1") == "MPK mini 3:MPK mini 3 MIDI 1"
    assert device_name("TR-8S:TR-8S MIDI 1 128:0") == "TR-8S:TR-8S MIDI 1"


@pytest.mark.skipif(Path("/dev/snd/seq").exists(), reason="this machine has an ALSA sequencer")
def test_real_discovery_without_a_sequencer_returns_a_reason_not_an_exception():
    listing = list_alsa_inputs()
    assert listing.devices == [] and listing.ports == ()
    assert listing.reason == "no ALSA sequencer (/dev/snd/seq does not exist; is the snd-seq module loaded?)"


def test_sequencer_problem_names_the_missing_device(tmp_path):
    missing = tmp_path / "seq"
    assert sequencer_problem(missing) == (f"no ALSA sequencer ({missing} does not exist; "
                                          "is the snd-seq module loaded?)")
    missing.write_bytes(b"")
    assert sequencer_problem(missing) is None
    assert sequencer_problem(None) is None


def test_rtmidi_failure_to_open_becomes_the_reason():
    def factory():
        raise OSError("MidiInAlsa::initialize: error creating ALSA sequencer client object.")

    listing = list_alsa_inputs(factory=factory, seq_path=None)
    assert listing == AlsaListing([], "rtmidi cannot open the ALSA sequencer: "
                                      "MidiInAlsa::initialize: error creating ALSA sequencer client object.")


def test_listing_failure_becomes_the_reason_and_an_own_midi_in_is_freed():
    fake = FakeMidiIn([], fail=RuntimeError("sequencer went away"))
    listing = list_alsa_inputs(factory=lambda: fake, seq_path=None)
    assert listing.devices == [] and listing.reason == "rtmidi cannot list ALSA MIDI ports: sequencer went away"
    assert fake.deleted


def test_listing_with_devices_strips_numbers_and_keeps_indices():
    fake = FakeMidiIn(["Midi Through:Midi Through Port-0 14:0", "nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0"])
    listing = list_alsa_inputs(factory=lambda: fake, seq_path=None)
    assert listing.reason is None
    assert listing.devices == ["Midi Through:Midi Through Port-0", "nanoKONTROL2:nanoKONTROL2 MIDI 1"]
    assert [(p.index, p.raw) for p in listing.ports] == [(0, "Midi Through:Midi Through Port-0 14:0"),
                                                         (1, "nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0")]
    assert fake.deleted                                  # opened for the listing, so freed after it
    kept = FakeMidiIn(["nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0"])
    assert list_alsa_inputs(kept).devices == ["nanoKONTROL2:nanoKONTROL2 MIDI 1"]
    assert not kept.deleted                              # the caller's MidiIn stays open


def test_only_the_alsa_api_is_ever_requested(monkeypatch):
    """The daemon must never open an rtmidi JACK client: the one constructor asks for API_LINUX_ALSA."""
    import rtmidi

    calls = []
    monkeypatch.setattr(rtmidi, "MidiIn", lambda *args: calls.append(args) or FakeMidiIn([]))
    alsa.open_alsa_midi_in("ravebox-test")
    assert calls == [(rtmidi.API_LINUX_ALSA, "ravebox-test", 1024)]
