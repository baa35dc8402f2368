"""MIDI controller mapping: events -> parameter changes, presets, hot reload.

Public API::

    mapping = load_mapping("mappings/default.toml")   # raises ConfigError with every problem
    runtime = MappingRuntime(mapping, store)          # presets from the mapping's [presets]
    runtime.handle(event)                             # control thread, never raises
    runtime.swap(load_mapping(path))                  # atomic; releases go to the pressing mapping
    reloader = MappingReloader(runtime, path)         # load() any thread, install(loaded) main thread

Modules: ``model`` (frozen rules), ``loader`` (TOML validation), ``presets``
(preset files), ``shaping`` (curves, encoders), ``inputs`` (14-bit, NRPN
assembly), ``runtime`` (applying rules), ``reloader`` (hot reload),
``bundled`` (the mappings shipped in ``mappings/``).
"""

from ravebox.mapping.bundled import bundled_mapping, bundled_path, default_mapping
from ravebox.mapping.loader import load_mapping, parse_mapping
from ravebox.mapping.model import Mapping, Preset, PresetBank, Rule, Source
from ravebox.mapping.presets import load_presets
from ravebox.mapping.reloader import MappingReloader, Reload
from ravebox.mapping.runtime import MappingRuntime, MappingStats

__all__ = [
    "Mapping", "MappingReloader", "MappingRuntime", "MappingStats", "Preset", "PresetBank", "Reload", "Rule",
    "Source", "bundled_mapping", "bundled_path", "default_mapping", "load_mapping", "load_presets",
    "parse_mapping",
]
