from tests.jackserver import jack_server  # noqa: F401 - fixture re-export
