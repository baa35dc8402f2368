"""libjack through ``ctypes``, for the calls JACK-Client lacks (latency, the process thread) or makes
through cffi, which lets go of the GIL at every call (the per-cycle port calls, ``portio``).

One place finds the library: JACK-Client's own (``jack._libname``), so every handle reaches the
library the client was opened with; ``ctypes.util.find_library`` only where JACK-Client does not say.
Loaded once per module at import, on the importing thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Mapping, Sequence
from typing import Any

import jack

Signature = tuple[Any, Sequence[Any]]   # (restype, argtypes)


def library_name() -> str:
    return getattr(jack, "_libname", None) or ctypes.util.find_library("jack") or "libjack.so.0"


def load(functions: Mapping[str, Signature], keep_gil: bool) -> Any:
    """A libjack handle with ``functions`` declared, or None if the library or one of them cannot be had.

    ``keep_gil``: ``ctypes.PyDLL`` (the caller keeps the GIL through the call: nothing else runs Python
    meanwhile) rather than ``ctypes.CDLL`` (the GIL is let go: for a call that blocks)."""
    try:
        lib = (ctypes.PyDLL if keep_gil else ctypes.CDLL)(library_name())
        for name, (restype, argtypes) in functions.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, list(argtypes)
    except (OSError, AttributeError):
        return None
    return lib


def c_address(handle: object) -> int:
    """A JACK-Client object's C pointer (its private ``_ptr``: a client or a port) as an integer."""
    return int(jack._ffi.cast("uintptr_t", handle._ptr))   # type: ignore[attr-defined]
