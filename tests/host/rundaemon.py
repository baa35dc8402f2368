"""Run the daemon as its own process (for signal tests): ``rundaemon.py BOX SERVER [pass|real]``.

``pass`` uses the pass-through stand-in engine, ``real`` the real one (same as
``ravebox run``). Prints ``ready`` once the daemon runs; exits with run()'s code.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ravebox.service import logs  # noqa: E402
from ravebox.service.daemon import Daemon  # noqa: E402
from ravebox.service.observers import Observer  # noqa: E402
from tests.host.standins import PassEngine  # noqa: E402


class Ready(Observer):
    def on_ready(self, daemon):
        print("ready", flush=True)


def main() -> int:
    box, server = sys.argv[1], sys.argv[2]
    factory = PassEngine.factory() if (sys.argv[3] if len(sys.argv) > 3 else "pass") == "pass" else None
    logs.configure("INFO")
    daemon = Daemon(box, server=server, engine_factory=factory, observers=[Ready()])
    daemon.start()
    return daemon.run()


if __name__ == "__main__":
    sys.exit(main())
