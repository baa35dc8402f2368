"""`ravebox ports`: list the JACK ports and which ravebox port a config rule would connect each to.

Why: writing ``[[jack.connect]]`` patterns for a controller means knowing the
exact name JACK gives it (``a2j:nanoKONTROL2 [20] (capture): ...``) and which of
your regexes catches it. This prints every port of the server with its type,
the ravebox port it would be connected to and the allow pattern that admits it
(or ``denied``/``-``), plus the current connections of a running ravebox.
Needs no models and no torch: ravebox's own ports are derived from the box's
graph names (``<graph>_in_N``, ``<graph>_out_N``, ``midi_in``, ``clock_in``, ``midi_out``).

Runs on the main thread; opens one short-lived JACK client with no ports.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="box config whose [jack] rules to apply (default: built-in rules)")
    parser.add_argument("--server", help="JACK server name (default $JACK_DEFAULT_SERVER or 'default')")
    parser.add_argument("--channels", type=int, default=2, help="audio channels assumed per graph (default 2)")


def own_ports(graph_names: list[str], channels: int) -> list[tuple[str, bool, bool]]:
    """``(shortname, is_input, is_audio)`` of the ports a ravebox client registers."""
    from ravebox.host.session import MIDI_INPUTS, MIDI_OUTPUT

    ports = []
    for name in graph_names:
        ports += [(f"{name}_in_{c + 1}", True, True) for c in range(channels)]
        ports += [(f"{name}_out_{c + 1}", False, True) for c in range(channels)]
    ports += [(n, True, False) for n in MIDI_INPUTS] + [(MIDI_OUTPUT, False, False)]
    return ports


def run(args: argparse.Namespace) -> int:
    import jack

    from ravebox.config.jack import JackSettings
    from ravebox.errors import RaveboxError
    from ravebox.host.autoconnect import describe
    from ravebox.host.session import open_client

    settings, graphs = JackSettings(), ["main"]
    if args.config:
        from ravebox.config.box import load_box

        try:
            box = load_box(args.config)
        except RaveboxError as exc:
            print(exc, file=sys.stderr)
            return 2
        jack_settings = box.sections.get("jack")
        settings = jack_settings if isinstance(jack_settings, JackSettings) else settings
        graphs = list(box.graph_names)
    server = args.server if args.server is not None else settings.server
    try:
        client = open_client("ravebox-ports", server)
    except RaveboxError as exc:
        print(f"ravebox ports: {exc}", file=sys.stderr)
        return 3
    try:
        ports = client.get_ports()
        me = settings.client_name
        others = [p for p in ports if not p.name.startswith(me + ":")]
        print(f"JACK server '{server or 'default'}': {len(ports)} ports; rules of "
              f"{args.config or 'the built-in defaults'} for client '{me}'")
        for line in describe(settings.connect, own_ports(graphs, args.channels), others, me):
            print(line)
        mine = [p for p in ports if p.name.startswith(me + ":")]
        if mine:
            print(f"\n{me} is running; its connections:")
            for port in mine:
                peers = ", ".join(q.name for q in client.get_all_connections(port)) or "-"
                print(f"  {port.name:<40} {peers}")
    except jack.JackError as exc:
        print(f"ravebox ports: {exc}", file=sys.stderr)
        return 3
    finally:
        client.close()
    return 0
