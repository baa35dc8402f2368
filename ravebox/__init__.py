"""ravebox: a headless JACK daemon that plays RAVE and MSPrior models from MIDI.

Packages, inner layers first (a package imports only from those above it):
``midi`` (bytes to events), ``params`` (the one parameter table and the
time-stamped parameter store), ``clock`` (MIDI clock follower, transport),
``gates`` (rhythmic gate patterns), ``mapping`` (events to parameter changes,
presets), ``config`` (TOML to validated objects), ``models`` (TorchScript
hosting), ``engine`` (latent graph and output stage), ``render`` (offline),
``host`` (JACK), ``service`` (process lifecycle and CLI).
"""

__version__ = "0.1.0"
