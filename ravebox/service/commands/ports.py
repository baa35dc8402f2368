"""`ravebox ports`: list the JACK ports and which ravebox port a config rule would connect each to.

Why: writing ``[[jack.connect]]`` patterns for a controller means knowing the
exact name JACK gives it (``a2j:nanoKONTROL2 [20] (capture): ...``), or, with
jackd's ``-X seq`` bridge, the alias that names the device behind a generic
``system:midi_capture_3``, and which of your regexes catches it. This prints
every port of the server with its type, the ravebox port it would be connected
to and the allow pattern that admits it (and the alias it matched, if not the
name; or ``denied (pattern)``/``-``), its aliases, and for MIDI sources the
device label a mapping's ``port = ...`` would see. For a running ravebox it
adds its current connections and each MIDI input's current label.
A last section, "ALSA MIDI inputs (direct)", lists the ALSA sequencer's
MIDI sources (python-rtmidi, ALSA API only; ALSA client:port numbers
stripped) and which ``[jack] alsa_inputs`` entry would open each, or the reason
none can be listed (no ``/dev/snd/seq``); it is printed even when JACK is down.
ravebox's own ports are the ones the daemon will register: per graph
``<graph>_in_N`` (one per input channel of its encoder; none for a graph without
an encoder, such as a prior that does not listen) and ``<graph>_out_N`` (one per
output channel of its first decoder), then ``[jack] midi_inputs`` (default
``midi_in``, ``clock_in``), ``midi_out``, ``clock_out`` and the feedback outputs.
With ``--config`` the channel counts are read from the model files' interfaces
(this imports torch, as ``ravebox check`` does); ``--no-models`` (or a file that
cannot be opened) assumes ``--channels`` instead.

Runs on the main thread; opens one short-lived JACK client with no ports.
"""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="box config whose [jack] rules to apply (default: built-in rules)")
    parser.add_argument("--server", help="JACK server name (default $JACK_DEFAULT_SERVER or 'default')")
    parser.add_argument("--channels", type=int, default=2,
                        help="audio channels assumed per graph when the models are not opened (default 2)")
    parser.add_argument("--no-models", action="store_true",
                        help="do not open the box's model files for their channel counts (no torch import)")


#: ``(graph, input channels, output channels)``; 0 inputs: the graph has no audio input ports.
GraphPorts = tuple[str, int, int]


def graph_ports(box, channels: int, open_models: bool = True) -> list[GraphPorts]:
    """The audio ports each graph of ``box`` will have: inputs from its encoder (none without one),
    outputs from its first decoder; ``channels`` where a model is not opened (or cannot be)."""
    counts: dict[str, tuple[int, int]] = {}

    def of(name: str) -> tuple[int, int]:
        if name not in counts:
            counts[name] = _model_channels(box.models[name].path, channels) if open_models else (channels, channels)
        return counts[name]
    return [(g.name, of(g.encoder)[0] if g.encoder else 0, of(g.decoders[0])[1]) for g in box.graphs]


def _model_channels(path, channels: int) -> tuple[int, int]:
    """``(encode input channels, decode output channels)`` from a model file's interface."""
    from ravebox.models.loader import inspect_model

    try:
        methods = inspect_model(path).methods
    except Exception as exc:  # noqa: BLE001 - a listing never fails on a model: say so, assume --channels
        print(f"ravebox ports: cannot open {path} ({exc}); assuming {channels} channels", file=sys.stderr)
        return channels, channels
    encode, decode = methods.get("encode"), methods.get("decode")
    return (encode.in_channels if encode else channels), (decode.out_channels if decode else channels)


def own_ports(graphs: list[GraphPorts], midi_inputs: tuple[str, ...] | None = None,
              clock_from: str = "clock_in") -> list[tuple[str, bool, bool]]:
    """``(shortname, is_input, is_audio)`` of the ports a ravebox client registers."""
    from ravebox.config.jack import CLOCK_OUTPUT, DEFAULT_MIDI_INPUTS, FEEDBACK_SUFFIX, MIDI_OUTPUT, feedback_inputs

    ports = []
    for name, inputs_n, outputs_n in graphs:
        ports += [(f"{name}_in_{c + 1}", True, True) for c in range(inputs_n)]
        ports += [(f"{name}_out_{c + 1}", False, True) for c in range(outputs_n)]
    inputs = DEFAULT_MIDI_INPUTS if midi_inputs is None else midi_inputs
    ports += [(n, True, False) for n in inputs] + [(MIDI_OUTPUT, False, False), (CLOCK_OUTPUT, False, False)]
    ports += [(n + FEEDBACK_SUFFIX, False, False) for n in feedback_inputs(inputs, clock_from)]
    return ports


def run(args: argparse.Namespace) -> int:
    import jack

    from ravebox.config.jack import JackSettings
    from ravebox.errors import RaveboxError
    from ravebox.host.autoconnect import describe
    from ravebox.host.session import open_client

    settings, graphs = JackSettings(), [("main", args.channels, args.channels)]
    if args.config:
        from ravebox.config.box import load_box

        try:
            box = load_box(args.config)
        except RaveboxError as exc:
            print(exc, file=sys.stderr)
            return 2
        settings = box.jack
        graphs = graph_ports(box, args.channels, open_models=not args.no_models)
    server = args.server if args.server is not None else settings.server
    try:
        client = open_client("ravebox-ports", server)
    except RaveboxError as exc:
        print(f"ravebox ports: {exc}", file=sys.stderr)
        _print_alsa(settings)
        return 3
    try:
        ports = client.get_ports()
        me = settings.client_name
        others = [p for p in ports if not p.name.startswith(me + ":")]
        print(f"JACK server '{server or os.environ.get('JACK_DEFAULT_SERVER') or 'default'}': {len(ports)} ports; rules of "
              f"{args.config or 'the built-in defaults'} for client '{me}'")
        for line in describe(settings.connect, own_ports(graphs, settings.midi_inputs, settings.clock_from), others, me):
            print(line)
        mine = [p for p in ports if p.name.startswith(me + ":")]
        if mine:
            print(f"\n{me} is running; its connections:")
            for port in mine:
                peers = ", ".join(q.name for q in client.get_all_connections(port)) or "-"
                print(f"  {port.name:<40} {peers}")
            _print_labels(client, me, [p.shortname for p in mine if p.is_midi and p.is_input])
    except jack.JackError as exc:
        print(f"ravebox ports: {exc}", file=sys.stderr)
        return 3
    finally:
        client.close()
    _print_alsa(settings)
    return 0


def alsa_lines(settings, listing) -> list[str]:
    """The "ALSA MIDI inputs (direct)" section for a listing (pure; see :func:`_print_alsa`)."""
    lines = ["", "ALSA MIDI inputs (direct):"]
    if listing.reason is not None:
        return lines + [f"  none listed: {listing.reason}"]
    if not listing.devices:
        return lines + ["  none (the ALSA sequencer lists no MIDI sources)"]
    for name in listing.devices:
        spec = next((s for s in settings.alsa_inputs if s.matches(name)), None)
        opened = f"-> alsa_inputs {spec.input!r} (device {spec.device!r})" if spec else "-"
        lines.append(f"  {name:<40} {opened}")
    if not settings.alsa_inputs:
        lines.append("  ([jack] alsa_inputs is empty: ravebox opens none of these directly)")
    return lines


def _print_alsa(settings) -> None:
    """Main thread: list ALSA MIDI sources with rtmidi's ALSA API (never its JACK API)."""
    from ravebox.midi.alsa import list_alsa_inputs

    for line in alsa_lines(settings, list_alsa_inputs()):
        print(line)


def _print_labels(client, me: str, inputs: list[str]) -> None:
    """The label each running MIDI input gives its events (what a mapping's ``port = ...`` matches)."""
    from ravebox.host.autoconnect import source_labels

    if not inputs:
        return
    print(f"\n{me} MIDI inputs and the label their events carry:")
    for short, label in zip(inputs, source_labels(client, me, inputs)):
        print(f"  {short:<20} {label!r}")
