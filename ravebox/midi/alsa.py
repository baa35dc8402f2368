"""ALSA sequencer MIDI device discovery through python-rtmidi (ALSA API only).

Why this exists: on a box, USB controllers normally reach JACK through jackd's
``-X seq`` bridge or a2jmidid. Discovery answers "which controllers does ALSA
see at all?" (``ravebox ports``), and the same listing drives the direct-ALSA
fallback input (:mod:`ravebox.host.alsa_inputs`) when no bridge runs.

HARD RULE: only ``rtmidi.API_LINUX_ALSA`` is ever opened here. An rtmidi JACK
client (``API_UNIX_JACK``) in the daemon's process deadlocks beside the
JACK-Client client with an xrun callback, so :func:`open_alsa_midi_in` is the
one place that constructs an rtmidi ``MidiIn`` and it names the ALSA API.

Identity: rtmidi names an ALSA port ``"client:port CLIENT:PORT"``, e.g.
``nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0``. The trailing numbers are ALSA's
client and port numbers, which change across replugs and reboots, so they are
not part of a device's identity (:func:`device_name` strips them).

Degrading: a machine without ``/dev/snd/seq`` (a container, a box whose
``snd-seq`` module is not loaded) or where rtmidi fails to open the sequencer
gets an empty listing with a reason, never an exception.

Thread: whichever thread calls (the main thread in the daemon and the CLI).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SEQ_DEVICE = Path("/dev/snd/seq")
SEQ_CLIENTS = Path("/proc/asound/seq/clients")   # the kernel's listing of clients, ports and subscriptions
_CLIENT_PORT = re.compile(r"\s+\d+:\d+\Z")
_ADDRESS = re.compile(r"(\d+):(\d+)\Z")


def device_name(port_name: str) -> str:
    """``nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0`` -> ``nanoKONTROL2:nanoKONTROL2 MIDI 1`` (numbers are not identity)."""
    return _CLIENT_PORT.sub("", port_name.strip())


@dataclass(frozen=True, slots=True)
class AlsaPort:
    """One readable ALSA sequencer port as rtmidi lists it: its index now, its raw name, its identity."""

    index: int
    raw: str          # with ALSA client:port numbers (changes on replug)
    name: str         # :func:`device_name` of ``raw``


@dataclass(frozen=True, slots=True)
class AlsaListing:
    """The ALSA MIDI sources, or why none can be listed (``reason`` is None when listing worked)."""

    devices: list[str]
    reason: str | None = None
    ports: tuple[AlsaPort, ...] = field(default=())


def sequencer_problem(seq_path: Path | None = SEQ_DEVICE) -> str | None:
    """Why the ALSA sequencer cannot be opened, checked without touching ALSA (None if it looks usable).

    Checked first because alsa-lib prints its own error to stderr when
    ``/dev/snd/seq`` is missing; this keeps the daemon's log to one clear line.
    """
    if seq_path is None:
        return None
    if not seq_path.exists():
        return f"no ALSA sequencer ({seq_path} does not exist; is the snd-seq module loaded?)"
    if not os.access(seq_path, os.R_OK | os.W_OK):
        return f"no permission to open {seq_path} (add the user to the 'audio' group)"
    return None


def open_alsa_midi_in(client_name: str = "ravebox", queue_size: int = 1024):
    """A python-rtmidi ``MidiIn`` on the ALSA API (never JACK: see the module docstring). Raises on failure."""
    import rtmidi

    if rtmidi.API_LINUX_ALSA not in rtmidi.get_compiled_api():
        raise RuntimeError("python-rtmidi was built without ALSA support")
    return rtmidi.MidiIn(rtmidi.API_LINUX_ALSA, client_name, queue_size)


def listing_from_names(names: Sequence[str]) -> AlsaListing:
    """The listing for rtmidi's port names (index = position)."""
    ports = tuple(AlsaPort(i, raw, device_name(raw)) for i, raw in enumerate(names))
    return AlsaListing([p.name for p in ports], None, ports)


def list_alsa_inputs(midi_in=None, *, factory: Callable[[], object] | None = None,
                     seq_path: Path | None = SEQ_DEVICE) -> AlsaListing:
    """The ALSA MIDI sources rtmidi can open, or no devices and the reason why.

    ``midi_in``: an already open ALSA ``MidiIn`` to list with (the daemon keeps
    one); otherwise one is opened with ``factory`` (default
    :func:`open_alsa_midi_in`) and deleted again. ``seq_path=None`` skips the
    ``/dev/snd/seq`` check (tests with a fake factory).
    """
    own = midi_in is None
    if own:
        problem = sequencer_problem(seq_path)
        if problem is not None:
            return AlsaListing([], problem)
        try:
            midi_in = (factory or open_alsa_midi_in)()
        except Exception as exc:  # noqa: BLE001 - rtmidi raises its own SystemError/RtMidiError
            return AlsaListing([], f"rtmidi cannot open the ALSA sequencer: {exc}")
    try:
        return listing_from_names(list(midi_in.get_ports()))
    except Exception as exc:  # noqa: BLE001
        return AlsaListing([], f"rtmidi cannot list ALSA MIDI ports: {exc}")
    finally:
        if own:
            delete_midi_in(midi_in)


def delete_midi_in(midi_in) -> None:
    """Free an rtmidi object now rather than at garbage collection (which is frozen in the daemon)."""
    delete = getattr(midi_in, "delete", None)  # python-rtmidi >= 1.5 only (an older one frees at collection)
    if delete is not None:
        try:
            delete()
        except Exception:  # noqa: BLE001 - already gone
            pass


def address(raw: str) -> str | None:
    """``nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0`` -> ``20:0``: the ALSA address the name carries (None: none)."""
    found = _ADDRESS.search(raw.strip())
    return f"{found.group(1)}:{found.group(2)}" if found else None


def subscriptions(text: str, client_name: str) -> set[tuple[str, str]]:
    """``(our port name, source address)`` for every subscription into a port of a client named
    ``client_name``, and ``(port name, "")`` for each such port, from the text of
    ``/proc/asound/seq/clients``.

    Why: when a device is unplugged the kernel drops every subscription from its port, and
    rtmidi says nothing; replugged within one re-scan it can come back under the same name
    and the same client:port numbers, so the port listing looks unchanged. Our port no longer
    "Connected From" its address is what tells the replug apart.
    """
    found: set[tuple[str, str]] = set()
    ours = False
    port = ""
    for line in text.splitlines():
        head = line.strip()
        if line.startswith("Client "):
            name = re.search(r':\s*"(.*)"', line)
            ours = bool(name) and name.group(1) == client_name
        elif ours and head.startswith("Port "):
            name = re.search(r':\s*"(.*)"', head)
            port = name.group(1) if name else ""
            if port:
                found.add((port, ""))
        elif ours and port and head.startswith("Connected From:"):
            for item in head.removeprefix("Connected From:").split(","):
                addr = _ADDRESS.search(item.strip().split("[")[0].strip())
                if addr:
                    found.add((port, f"{addr.group(1)}:{addr.group(2)}"))
    return found


def read_subscriptions(client_name: str, path: Path = SEQ_CLIENTS) -> set[tuple[str, str]] | None:
    """:func:`subscriptions` from the kernel's file; None when it cannot be read (no ``snd-seq``)."""
    try:
        return subscriptions(path.read_text(errors="replace"), client_name)
    except OSError:
        return None
