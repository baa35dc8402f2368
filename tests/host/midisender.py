"""A MIDI controller stand-in in its own process: mido over python-rtmidi's JACK API.

Why a separate process: python-rtmidi's JACK client must never share a process
with a JACK-Client client that has an xrun callback (it deadlocks), and a real
controller is another program anyway. The JACK server comes from
``$JACK_DEFAULT_SERVER``. Reads commands on stdin, one per line, and answers
``ok`` after each, so a test can step through a performance:

    cc CHANNEL NUMBER VALUE       (channel 1..16)
    raw HEX HEX ...               raw bytes as one JACK MIDI event (garbage tests);
                                  answers ``refused ...`` when rtmidi will not send them
    flood COUNT RATE CHANNEL NUMBER   COUNT CCs at RATE per second, values sweeping
    sleep SECONDS
    play PATH RATE                a Standard MIDI File as ravebox's render reads it (clock ticks and Start
                                  from its tempo map), each event sent at its frame / RATE seconds from now
    quit
"""

from __future__ import annotations

import sys
import time

import mido


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else "fakectl"
    backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
    out = backend.open_output("out", virtual=True, client_name=name)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        if cmd == "quit":
            break
        if cmd == "cc":
            ch, num, val = (int(a) for a in args)
            out.send(mido.Message("control_change", channel=ch - 1, control=num, value=val))
        elif cmd == "raw":
            try:
                out._rt.send_message([int(a, 16) for a in args])
            except Exception as exc:  # rtmidi refuses some byte strings outright
                print(f"refused {exc}", flush=True)
                continue
        elif cmd == "flood":
            count, rate, ch, num = int(args[0]), float(args[1]), int(args[2]), int(args[3])
            start = time.monotonic()
            for i in range(count):
                out.send(mido.Message("control_change", channel=ch - 1, control=num, value=i % 128))
                delay = start + (i + 1) / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        elif cmd == "play":
            from ravebox.render.performance import load_performance

            rate = int(args[1])
            start = time.monotonic()
            for event in load_performance(args[0], rate):
                delay = start + event.frame / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                out.send(event.message)
        elif cmd == "sleep":
            time.sleep(float(args[0]))
        print("ok", flush=True)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
