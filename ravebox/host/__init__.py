"""The JACK host: the only package that imports ``jack``.

Modules, one job each (the thread that runs each part is named in its docstring):

- ``host``: :class:`~ravebox.host.host.Host`, one ravebox client that survives server restarts
  (open -> start -> poll() from the main loop -> fade_out -> close);
- ``session``: one ``jack.Client`` with ravebox's ports and callbacks (process, shutdown, xrun, ports);
- ``nativecycle``, ``nativebuild``, ``native/rtcycle.c``: the process thread in C and the Python cycle thread
  it feeds; the build of the C (no jack import: ``install-service`` builds it);
- ``processthread``: the Python process thread, the fallback without the C;
- ``audiopath``: what the process callback does with audio (rings, late blocks, output stages, fades);
- ``rings``: preallocated frame-indexed audio rings and MIDI slot rings;
- ``timeline``: one monotonic 64-bit frame count across uint32 wrap, xruns and reconnects;
- ``worker``: the inference worker thread (engine blocks, failure muting, declick);
- ``control``: the control thread (MIDI ring -> parser -> clock follower / mapping -> ParamStore);
- ``autoconnect``: regex allow/deny rules and remembered connections, by port name;
- ``latency``: port latency reporting (libjack's latency callback through ctypes);
- ``rtprio``: SCHED_FIFO for the worker and control threads, below JACK's;
- ``dummyserver``: a uniquely named ``jackd -d dummy`` (demo, tests, benches);
- ``performance``, ``democlients``: the demo's built-in performance and its player/recorder clients.
"""
