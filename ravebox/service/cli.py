"""The ``ravebox`` command line: one subcommand per module in ``service/commands``.

Why lazy imports: ``ravebox check`` and ``ravebox status`` must answer quickly
on a Raspberry Pi, so torch is only imported by the subcommands that need it.
Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the process exit code).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS = {
    "run": "ravebox.service.commands.run",
    "inspect": "ravebox.service.commands.inspect",
    "check": "ravebox.service.commands.check",
    "render": "ravebox.service.commands.render",
    "ports": "ravebox.service.commands.ports",
    "status": "ravebox.service.commands.status",
    "install-service": "ravebox.service.commands.install_service",
    "demo": "ravebox.service.commands.demo",
    "fit": "ravebox.service.commands.fit",
}

HELPS = {
    "run": "run the JACK daemon on a box config",
    "inspect": "print what a model file offers (methods, ratios, attributes)",
    "check": "validate mapping, preset and box config files without starting anything",
    "render": "render an audio file (and a MIDI performance) offline through a box",
    "ports": "list JACK ports and the config pattern that would match each",
    "status": "show the running daemon's state through its control socket",
    "install-service": "create the service user and folders, install the systemd units",
    "demo": "start a dummy JACK server if needed and play the bundled default box",
    "fit": "measure a box (or model) at several block sizes and recommend the smallest that keeps up",
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ravebox", description="Play RAVE and MSPrior models live from MIDI, as a JACK client.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in HELPS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name in argv:  # only import the module of the command being run
            importlib.import_module(COMMANDS[name]).add_arguments(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    if not args.command:
        build_parser(argv).print_help()
        return 2
    try:
        code = int(importlib.import_module(COMMANDS[args.command]).run(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _reader_left()


def _reader_left() -> int:
    """``ravebox status | head``: the reader closed the pipe; stop quietly (exit 0), no traceback.

    stdout is pointed at /dev/null so the interpreter's own flush at exit cannot fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def _version() -> str:
    from ravebox import __version__

    return f"ravebox {__version__}"


if __name__ == "__main__":
    sys.exit(main())
