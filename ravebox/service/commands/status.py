"""`ravebox status`: ask the running daemon through its control socket.

Runs in the operator's shell over SSH, never in the daemon: it imports no
torch and no jack, so it answers at once on a Raspberry Pi.

    ravebox status                 # human-readable snapshot
    ravebox status --json          # the daemon's status() as JSON
    ravebox status --watch         # refresh every second until Ctrl-C
    ravebox status reload          # re-read mapping and config
    ravebox status preset verse    # recall a preset by name or number
    ravebox status preset          # list the presets (and which was recalled last)
    ravebox status set mix.wet 0.4 # set a live value (keys as in a preset: main/latent.bias[2] ...)
    ravebox status save verse      # write the live values as preset "verse" into the preset files
    ravebox status panic           # mute and reset the model state
    ravebox status learn mix.wet [--graph G] [--dim N] [--replace|--add] [--timeout S]
                                   # the next control you move drives mix.wet (written to the mapping file)
    ravebox status learn --cancel  # stop waiting
    ravebox status record start    # record the output (and the dry input with [record] dry) to FLAC
    ravebox status record stop

Exit codes: 0 answered, 1 the daemon refused the command, 2 unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO

from ravebox.errors import ServiceError
from ravebox.service.control_socket import ENV_PATH, ControlClient, default_path

ACTIONS = ("status", "reload", "preset", "set", "save", "panic", "learn", "record")
CLEAR = "\x1b[H\x1b[2J"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=ACTIONS, default="status",
                        help="what to ask (default: status)")
    parser.add_argument("ref", nargs="?",
                        help="preset name or number (for 'preset'; none lists them), parameter (for 'learn' "
                             "and 'set'), preset name (for 'save'), start or stop (for 'record')")
    parser.add_argument("value", nargs="?", help="the value (for 'set')")
    learn = parser.add_argument_group("learn")
    learn.add_argument("--graph", help="learn: only this graph")
    learn.add_argument("--dim", type=int, help="learn: only this latent dimension")
    choice = learn.add_mutually_exclusive_group()
    choice.add_argument("--replace", action="store_const", const="replace", dest="mode",
                        help="learn: the control is mapped already; take it from its old entry")
    choice.add_argument("--add", action="store_const", const="add", dest="mode",
                        help="learn: the control is mapped already; keep both (layer = true)")
    choice.add_argument("--cancel", action="store_true", help="learn: stop waiting for a control")
    learn.add_argument("--timeout", type=float, default=30.0, help="learn: seconds to wait for a control (default 30)")
    parser.add_argument("--json", action="store_true", help="print the raw answer as JSON")
    parser.add_argument("--watch", action="store_true", help="refresh the status until Ctrl-C")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between --watch refreshes")
    parser.add_argument("--socket", default=None,
                        help=f"control socket path (default: ${ENV_PATH} or /run/ravebox/control.sock)")


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    path = args.socket or default_path()
    if args.action == "set" and (not args.ref or args.value is None):
        print("ravebox status set: give a parameter and a value (e.g. set mix.wet 0.4)", file=sys.stderr)
        return 2
    if args.action == "save" and not args.ref:
        print("ravebox status save: give the preset's name", file=sys.stderr)
        return 2
    if args.action == "record" and args.ref not in ("start", "stop"):
        print("ravebox status record: say start or stop", file=sys.stderr)
        return 2
    if args.action == "learn" and not (args.ref or args.cancel):
        print("ravebox status learn: give a parameter (e.g. learn mix.wet) or --cancel", file=sys.stderr)
        return 2
    if args.watch:
        return _watch(path, args, out)
    try:
        wait = args.timeout + 10.0 if args.action == "learn" else 10.0
        with ControlClient(path, timeout_s=wait) as client:
            answer = _ask(client, args)
    except ServiceError as exc:
        print(f"ravebox status: {exc}", file=sys.stderr)
        return 2
    return _show(answer, args, out)


def _ask(client: ControlClient, args: argparse.Namespace) -> dict:
    if args.action == "preset" and not args.ref:
        return client.request("presets")
    if args.action in ("preset", "record", "save"):
        return client.request(args.action, ref=args.ref)
    if args.action == "set":
        return client.request("set", param=args.ref, value=args.value)
    if args.action == "learn":
        if args.cancel:
            return client.request("learn", cancel=True)
        print(f"learn {args.ref}: move a control now (Ctrl-C or 'ravebox status learn --cancel' to stop)",
              file=sys.stderr, flush=True)
        return client.request("learn", target=args.ref, graph=args.graph, dim=args.dim, mode=args.mode or "ask",
                              timeout_s=args.timeout)
    return client.request(args.action)


def _show(answer: dict, args: argparse.Namespace, out: TextIO) -> int:
    ok = _succeeded(answer)
    if args.json:
        print(json.dumps(answer.get("result") if answer.get("ok") else answer, indent=2, sort_keys=True), file=out)
    elif not ok:
        print(f"ravebox: {args.action} refused: " + _reason(answer).replace("\n", "\n  "), file=out)
    elif args.action == "status":
        print(render(answer["result"]), file=out)
    elif args.action == "preset" and not args.ref:
        print(preset_list(answer.get("result") or {}), file=out)
    else:
        result = answer.get("result")
        shown = result["message"] if isinstance(result, dict) and "message" in result else _inline(result)
        print(f"{args.action}: " + str(shown).replace("\n", "\n  "), file=out)   # further lines indented
    return 0 if ok else 1


def _succeeded(answer: dict) -> bool:
    """The socket answered ok, and the daemon's own result does not say ``"ok": false``."""
    result = answer.get("result")
    return bool(answer.get("ok")) and not (isinstance(result, dict) and result.get("ok") is False)


def _reason(answer: dict) -> str:
    if not answer.get("ok"):
        return str(answer.get("error"))
    result = answer.get("result") or {}
    return str(result.get("error") or result.get("message") or "no reason given")


def _watch(path: str, args: argparse.Namespace, out: TextIO) -> int:
    """Redraw every ``--interval`` seconds; keep retrying while the daemon restarts."""
    client: ControlClient | None = None
    try:
        while True:
            try:
                client = client or ControlClient(path)
                text = render(client.request("status").get("result") or {})
            except ServiceError as exc:
                if client is not None:
                    client.close()
                client, text = None, f"{exc}\n(retrying every {args.interval:g} s)"
            print(f"{CLEAR}{time.strftime('%H:%M:%S')}  ravebox status --watch  (Ctrl-C to quit)\n\n{text}",
                  file=out, flush=True)
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0
    finally:
        if client is not None:
            client.close()


def render(status: dict) -> str:
    """The status snapshot as aligned ``label  value`` lines, known keys first (a long value's
    further lines are indented under its first)."""
    clock = status.get("clock") or {}
    rows = [
        ("state", status.get("state")),
        ("tempo", _tempo(clock)),
        ("transport", _transport(clock)),
        ("gate step", _inline(status.get("gate_step"))),
        ("late blocks", status.get("late_blocks")),
        ("xruns", status.get("xruns")),
        ("dropouts", status.get("unready_cycles") or None),   # periods ravebox itself played silent (not xruns)
        ("latency", _latency(status.get("latency"))),
        ("mapping", _mapping(status.get("mapping") or {})),
        *[("reload", line) for line in _reloads(status.get("reload"))],
        *[("ignored", line) for line in _ignored(status.get("mapping") or {}, status.get("counters") or {})],
        ("preset", status.get("preset")),
        ("record", _record(status.get("record"))),
        ("learn", _learn(status.get("learn"))),
    ]
    rows += [("WARNING", w) for w in status.get("warnings") or []]
    rows += [("graph", _graph(g)) for g in status.get("graphs") or []]
    params = status.get("params") or {}
    rows += [("param", f"{name} = {_number(value)}") for name, value in sorted(params.items())]
    shown = {"state", "clock", "gate_step", "late_blocks", "xruns", "unready_cycles", "latency", "mapping", "preset", "graphs",
             "params", "counters", "record", "learn", "warnings", "reload"}
    rows += [(key, _inline(value)) for key, value in sorted(status.items()) if key not in shown]
    return "\n".join(_row(label, value) for label, value in rows if value not in (None, "", {}))


def _row(label: str, value: object) -> str:
    lines = str(value).splitlines() or [""]
    return "\n".join([f"{label:<12} {lines[0]}", *(f"{'':<15}{line.strip()}" for line in lines[1:])])


def _transport(clock: dict) -> str | None:
    """``running, bar 5 beat 2`` (bar:beat from the clock's position)."""
    transport = clock.get("transport")
    if not transport:
        return None
    bar, _, beat = str(clock.get("bar_beat") or "").partition(":")
    return f"{transport}, bar {bar} beat {beat}" if beat else str(transport)


def _reloads(reload: object) -> list[str]:
    """One value per reloaded part but the mapping (its row says it): ``box FAILED at 10:31:02: <why>``."""
    parts = reload.get("parts") if isinstance(reload, dict) else None
    if not isinstance(parts, dict):
        return []
    return [f"{name} {'ok' if p.get('ok') else 'FAILED'} at {p.get('at', '?')}: {p.get('message', '')}"
            for name, p in parts.items() if name != "mapping" and isinstance(p, dict)]


def _ignored(mapping: dict, counters: dict) -> list[str]:
    """The mapping's entries aimed at a graph or dimension this box lacks, and how many events they dropped."""
    entries = [str(e) for e in mapping.get("ignored") or []]
    graphs, dims = counters.get("mapping_unknown_graphs") or 0, counters.get("mapping_unknown_dims") or 0
    dropped = [f"{n} event(s) for a missing {what}" for n, what in ((graphs, "graph"), (dims, "dimension")) if n]
    return entries + ([f"dropped: {', '.join(dropped)}"] if dropped else [])


def preset_list(result: dict) -> str:
    """One line per preset, ``program  name  (file)``, the last recalled one marked."""
    presets = result.get("presets") or []
    if not presets:
        return "no presets (give the mapping a [presets] dir, or the box [mapping] presets)"
    current = result.get("current")
    lines = [f"{'*' if p.get('name') == current else ' '} {p.get('program', '?'):>3}  {p.get('name')}"
             + (f"  ({p['file']})" if p.get("file") else "") for p in presets]
    return "\n".join(lines + ([f"* = last recalled ({current})"] if current else []))


def _record(record: object) -> str | None:
    """``recording 12.3 s to FILE, 812.0 MB free`` / ``off, 812.0 MB free; <last take>``."""
    if not isinstance(record, dict):
        return None
    free = f"{record['free_mb']:.0f} MB free" if isinstance(record.get("free_mb"), (int, float)) else ""
    if record.get("recording"):
        text = f"recording {record.get('seconds', 0):.1f} s to {record.get('file')}"
        return ", ".join(t for t in (text, free) if t)
    last = record.get("last")
    return "off" + (f", {free}" if free else "") + (f"; {last}" if last else "")


def _learn(learn: object) -> str | None:
    if not isinstance(learn, dict):
        return None
    if learn.get("learning"):
        return f"waiting for a control for {learn['learning']}"
    last = learn.get("last")
    return last.get("message") if isinstance(last, dict) else None


def _tempo(clock: dict) -> str | None:
    if not clock:
        return None
    tempo = clock.get("tempo_bpm")
    bpm = f"{tempo:.1f} BPM" if isinstance(tempo, (int, float)) else "no tempo"
    extra = ", ".join(dict.fromkeys(str(clock[k]) for k in ("lock", "source") if clock.get(k)))
    return f"{bpm} ({extra})" if extra else bpm


def _latency(latency: object) -> str | None:
    if isinstance(latency, dict):
        parts = [f"{latency['frames']} frames" if "frames" in latency else "",
                 f"{latency['ms']:.1f} ms" if isinstance(latency.get("ms"), (int, float)) else ""]
        text = " / ".join(p for p in parts if p)
        headroom = latency.get("headroom")
        if isinstance(headroom, dict) and text:
            running = headroom.get("running_p99_ms")
            text += (f" (headroom {headroom.get('periods')} periods, {headroom.get('source')}"
                     + (f", worker p99 {running:.1f} ms while playing)" if isinstance(running, (int, float)) else ")"))
        return text or None
    return None if latency is None else str(latency)


def _mapping(mapping: dict) -> str | None:
    if not mapping:
        return None
    last = mapping.get("last_reload") or {}
    result = ""
    if last:
        outcome = "reloaded" if last.get("ok") else "reload FAILED"
        result = f" ({outcome}{' at ' + str(last['at']) if last.get('at') else ''}"
        result += f": {last['message']})" if last.get("message") else ")"  # every line: _row indents them
    return f"{mapping.get('path', '?')}{result}"


def _graph(graph: dict) -> str:
    models = ", ".join(str(m) for m in graph.get("models") or []) or "-"
    timing = ""
    if isinstance(graph.get("worker_ms"), (int, float)):
        timing = f"  {graph['worker_ms']:.1f} ms per block"
        if isinstance(graph.get("block_ms"), (int, float)):
            timing += f" of {graph['block_ms']:.1f} ms"
    measured = graph.get("inference_ms")
    if isinstance(measured, dict) and isinstance(graph.get("headroom_ms"), (int, float)):
        margin = graph.get("margin")
        timing += (f"  measured {measured.get('p99')} ms p99 of {graph['headroom_ms']:.1f} ms headroom"
                   + (f" ({margin:+.0%} margin)" if isinstance(margin, (int, float)) else ""))
    block = graph.get("block_multiple")
    if isinstance(block, dict) and block.get("source") == "auto" and block.get("multiple", 1) != 1:
        timing += f"  block x{block['multiple']} (auto: {block.get('why')})"
    muted = "  MUTED" if graph.get("muted") else ""
    return (f"{graph.get('name', '?')}: {models}{_slots(graph.get('slots'))}{timing}{_loop(graph.get('loop'))}"
            f"{_rates(graph.get('rates'))}{muted}")


def _slots(slots: object) -> str:
    """`` (encoder a.ts, decoder 0 b.ts)``: the file each model slot plays."""
    if not isinstance(slots, dict) or not slots:
        return ""
    return " (" + ", ".join(f"{slot} {str(path).rsplit('/', 1)[-1]}" for slot, path in slots.items()) + ")"


def _loop(loop: object) -> str:
    """``  loop playing 4 beats`` (recording, playing; nothing while idle)."""
    if not isinstance(loop, dict) or loop.get("state") in (None, "idle"):
        return ""
    beats = loop.get("beats")
    return f"  loop {loop['state']}" + (f" {beats:g} beats" if isinstance(beats, (int, float)) and beats else "")


def _rates(rates: object) -> str:
    """``  rates: a 44100 Hz converted, b 44100 Hz unconverted (resample off)`` -- nothing when all native."""
    models = rates.get("models") if isinstance(rates, dict) else None
    if not isinstance(models, dict):
        return ""
    shown = [f"{name} {m.get('rate')} Hz " + ("converted" if m.get("conversion") == "converted"
                                              else "unconverted (resample off)")
             for name, m in models.items() if isinstance(m, dict) and m.get("conversion") in ("converted", "off")]
    return f"  rates: {', '.join(shown)}" if shown else ""


def _number(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _inline(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_inline(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_inline(v) for v in value)
    return "" if value is None else _number(value)
