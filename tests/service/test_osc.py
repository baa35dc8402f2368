"""OSC over real UDP sockets on localhost: addresses, keys, errors answered to the sender, feedback out."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient

from ravebox.config.diagnostics import Diagnostics
from ravebox.config.osc import OscSettings, parse
from ravebox.errors import ServiceError
from ravebox.params.table import ParamKey
from ravebox.service.osc import OscService, parse_key
from tests.host.daemonkit import wait_for

GRAPHS = {"main": 8, "other": 16}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Listener:
    """A UDP OSC server in the test collecting (address, args)."""

    def __init__(self) -> None:
        self.got: list[tuple] = []
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(lambda address, *args: self.got.append((address, *args)))
        self.server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("text, key", [
    ("mix.wet", ParamKey("mix.wet")),
    ("main/mix.wet", ParamKey("mix.wet", "main")),
    ("latent.bias[3]", ParamKey("latent.bias", None, 3)),
    ("other/latent.bias/15", ParamKey("latent.bias", "other", 15)),
    ("clock.bpm", ParamKey("clock.bpm")),
])
def test_keys_are_written_as_in_presets(text, key):
    assert parse_key(text, GRAPHS) == key


@pytest.mark.parametrize("text, message", [
    ("mix.wte", "did you mean 'mix.wet'"),
    ("mian/mix.wet", "did you mean 'main'"),
    ("mix.wet/2", "has no dimension 2"),
    ("latent.bias/16", "has no dimension 16"),
    ("main/clock.bpm", "one value for the whole box"),
    ("a b", "not a parameter key"),
])
def test_bad_keys_say_why(text, message):
    with pytest.raises(ServiceError, match=message):
        parse_key(text, GRAPHS)


def test_osc_table_is_off_by_default_and_validated():
    assert not OscSettings().enabled
    diags = Diagnostics("box.toml")
    settings = parse({"port": 9000, "feedback_to": ["127.0.0.1:9001"]}, diags)
    assert not diags and settings.enabled and settings.host == "127.0.0.1"
    assert settings.feedback_to == (("127.0.0.1", 9001),)
    parse({"port": 0, "host": "localhost", "feedback_to": ["x:1", "127.0.0.1:99999"], "prot": 1}, diags)
    text = "\n".join(str(d) for d in diags.items)
    assert "osc.port: must be an integer in range 1..65535" in text and "osc.host: must be an IP address" in text
    assert "osc.feedback_to[0]" in text and "osc.feedback_to[1]" in text and "did you mean 'port'" in text


@pytest.fixture
def service():
    calls: dict[str, list] = {"set": [], "recall": [], "learn": []}
    store_values = {"main/mix.wet": 0.5}
    listener = Listener()
    settings = OscSettings(port=free_port(), feedback_to=(("127.0.0.1", listener.port),))
    osc = OscService(settings, GRAPHS, lambda k, v: calls["set"].append((k, v)), calls["recall"].append,
                     lambda t, g, d: calls["learn"].append((t, g, d)) or {"ok": True, "message": f"learned {t}"},
                     lambda: dict(store_values)).start()
    yield osc, calls, store_values, listener
    osc.close()
    listener.close()


def test_messages_reach_the_daemon_and_errors_go_back_to_the_sender(service):
    osc, calls, _, listener = service
    client = SimpleUDPClient("127.0.0.1", osc.address[1])
    # replies go to the sender's address: send from the listener's own socket
    sender = listener.server.socket

    def send(address: str, *args) -> None:
        from pythonosc.osc_message_builder import OscMessageBuilder

        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        sender.sendto(builder.build().dgram, osc.address)
    client.send_message("/ravebox/param/main/latent.bias/2", 1.5)
    client.send_message("/ravebox/preset", "drift")
    client.send_message("/ravebox/preset", 3)
    assert wait_for(lambda: len(calls["set"]) == 1 and len(calls["recall"]) == 2)
    assert calls["set"] == [(ParamKey("latent.bias", "main", 2), 1.5)]
    assert calls["recall"] == ["drift", 3]
    send("/ravebox/param/mix.wte", 0.3)
    send("/ravebox/param/mix.wet", "loud")
    send("/ravebox/param/mix.wet", float("nan"))
    send("/ravebox/volume", 11)
    send("/ravebox/learn", "gate.depth", "main")
    assert wait_for(lambda: len([g for g in listener.got if g[0] == "/ravebox/error"]) == 4)
    errors = [g[1] for g in listener.got if g[0] == "/ravebox/error"]
    assert "did you mean 'mix.wet'" in errors[0] and "needs one number" in errors[1]
    assert "not a finite number" in errors[2] and "unknown address" in errors[3]
    assert wait_for(lambda: ("/ravebox/learn/result", 1, "learned gate.depth") in listener.got)
    assert calls["learn"] == [("gate.depth", "main", None)]
    assert osc.errors == 4 and len(calls["set"]) == 1


def test_a_fader_sweep_arrives_in_order_and_a_future_bundle_does_not_stall_control(service):
    """A controller's sweep must end on its last value: messages are handled in arrival order. A bundle dated
    an hour ahead is applied at once instead of parking the server (python-osc would sleep until its time)."""
    from pythonosc.osc_bundle_builder import OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder

    osc, calls, _, _ = service
    client = SimpleUDPClient("127.0.0.1", osc.address[1])
    sweep = [i / 256 for i in range(200)]  # exact in OSC's float32
    for value in sweep:
        client.send_message("/ravebox/param/main/mix.wet", value)
    assert wait_for(lambda: len(calls["set"]) == len(sweep))
    assert [v for _, v in calls["set"]] == sweep
    later = OscBundleBuilder(time.time() + 3600)
    message = OscMessageBuilder("/ravebox/param/main/mix.wet")
    message.add_arg(0.75)
    later.add_content(message.build())
    client.send(later.build())
    client.send_message("/ravebox/preset", "after")
    assert wait_for(lambda: calls["recall"] == ["after"])
    assert calls["set"][-1] == (ParamKey("mix.wet", "main"), 0.75)


def test_parameter_changes_are_sent_to_feedback_targets_once_each(service):
    osc, _, values, listener = service
    osc.poll()
    assert wait_for(lambda: ("/ravebox/param/main/mix.wet", 0.5) in listener.got)
    time.sleep(0.06)
    osc.poll()
    values["main/mix.wet"] = 0.25
    time.sleep(0.06)
    osc.poll()
    assert wait_for(lambda: ("/ravebox/param/main/mix.wet", 0.25) in listener.got)
    assert [g for g in listener.got if g[0] == "/ravebox/param/main/mix.wet"] == [
        ("/ravebox/param/main/mix.wet", 0.5), ("/ravebox/param/main/mix.wet", 0.25)]


def test_a_port_in_use_is_a_clear_error():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        settings = OscSettings(port=taken.getsockname()[1])
        with pytest.raises(ServiceError, match="cannot listen on 127.0.0.1"):
            OscService(settings, GRAPHS, None, None, None, dict).start()
