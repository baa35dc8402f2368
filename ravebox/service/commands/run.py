"""`ravebox run [--config box.toml]`: the JACK daemon a musician plays live.

Exit codes: 0 after SIGTERM/SIGINT (faded out and disconnected), 2 for an
invalid config (every problem printed as ``file:line: key: message``), 3 when
JACK refuses to start (systemd tries again later), or the models and
``--no-wait`` was given (one clear line). Without it a box whose models cannot
start waits instead (``service/waiting.py``): it says why once, ``status``
shows it, and it retries when a file changes or on reload.
Runs on the main thread.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ravebox.errors import ConfigError, EngineError, ModelError, RaveboxError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="box config (TOML); default: the bundled default box")
    parser.add_argument("--server", help="JACK server name (overrides [jack] server and $JACK_DEFAULT_SERVER)")
    parser.add_argument("--name", dest="client_name", help="JACK client name (overrides [jack] client_name)")
    parser.add_argument("--control-socket", help="control socket path (default $RAVEBOX_CONTROL_SOCKET "
                                                 "or /run/ravebox/control.sock)")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING... (default $RAVEBOX_LOG_LEVEL or INFO)")
    parser.add_argument("--no-wait", action="store_true",
                        help="exit 3 when the models cannot start (default: wait, say why, retry on a change)")


def run(args: argparse.Namespace) -> int:
    from ravebox.service import logs
    from ravebox.service.daemon import Daemon, StopDuringStart
    from ravebox.service.observers import default_observers

    logs.configure(args.log_level)
    log = logging.getLogger("ravebox.run")
    config = args.config
    if config is None:
        from ravebox.data import default_box_path

        config = default_box_path()
        log.info("no --config given: playing the bundled default box %s", config)
    while True:
        daemon = Daemon(config, observers=default_observers(args.control_socket), server=args.server,
                        client_name=args.client_name)
        try:
            daemon.start()
        except StopDuringStart:
            log.info("stopped during start-up (never ready)")
            return 0
        except (EngineError, ModelError) as exc:  # the models: waiting, since a restart cannot fix them
            if not args.no_wait:
                if _wait(config, str(exc), args):
                    continue
                return 0
            code = _report_start_failure(exc, log)
            log.info("stopped")
            return code
        except Exception as exc:  # noqa: BLE001 - every failure: its reason first, then "stopped"
            code = _report_start_failure(exc, log)
            log.info("stopped")
            return code
        return daemon.run()


def _wait(config: str | Path, reason: str, args: argparse.Namespace) -> bool:
    """A box whose models cannot start waits rather than exits (a systemd restart loop helps nobody).

    Returns True to try again, False when a stop came while waiting."""
    from ravebox.service.observers import default_observers
    from ravebox.service.waiting import Waiting, watched_files

    return Waiting(config, reason, default_observers(args.control_socket)).wait(watched_files(config))


def _report_start_failure(exc: Exception, log: logging.Logger) -> int:
    """The one clear reason a start failed, and the exit code (see the module docstring)."""
    if isinstance(exc, ConfigError):
        print(exc, file=sys.stderr)
        return 2
    if isinstance(exc, RaveboxError):
        log.error("cannot start: %s", exc)
        return 3
    # unreadable input (a symlink loop, a 5,000-deep array): one line
    print(f"ravebox: cannot start: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
          file=sys.stderr)
    return 2
