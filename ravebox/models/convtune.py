"""Per-layer convolution backend choice, measured at load time (``tune_convs``).

Why: at batch 1 PyTorch sends every ``conv1d`` of a RAVE export down its generic
CPU path. For the wide layers of a full-size model other paths are much faster (the
issue measured 0.57x per block with oneDNN), for the narrow layers of a small model
they are several times slower. No static rule picks well on every CPU, so each conv
node is timed on the machine that will play it, at the shape the engine block gives
it, on every path it can take, and switched to the fastest only if that one runs at
least ``min_gain`` faster than the default.

The paths (``BACKENDS``):
- a conv: PyTorch's default, oneDNN (``aten::mkldnn_convolution``), or ``gemm``: the
  taps gathered by ``unfold`` and one ``linear`` (``_conv_gemm``). At the few time
  steps a full-size model's first decoder layers see per block (4 to 14 at x4) the
  weight matrix is the big operand, and ``linear`` (x @ W^T) streams it the way BLAS
  likes: 0.20 ms where oneDNN took 0.39 and the default 0.99 for the 128->1536 input layer.
- a transposed conv (RAVE's upsampling layers): PyTorch's default, or one matrix product
  plus an overlap-add (``fold``), the product either as ``W @ x`` (``gemm``, faster from
  a few dozen time steps) or as ``linear`` over ``x^T`` (``linear``, three times faster
  than ``W @ x`` for the 1536->768 layer at 4 steps: 2.0 ms against 6.2, the default 28).

How: the module is frozen (``torch.jit.freeze``, keeping the methods asked for),
which turns weights into graph constants; conv shapes are recorded by one
call of a probe copy of each method's graph; each switched node of the frozen graph
is then replaced by the chosen path (oneDNN's dense conv, or the scripted function
inlined with its weight matrix as a constant). A frozen module shows no buffers, but its constants alias the original
module's buffers (the streaming caches are updated in place), so a reset, a
snapshot and the streaming check keep working through the original module.
When no node wins, nothing is frozen and the original module is used as is.

Runs on the loading thread (start-up or a hot swap), never on the audio path.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Optional, Protocol, runtime_checkable

import torch

from ravebox.models.introspect import script_attr

CONV = "aten::conv1d"
CONV_T = "aten::conv_transpose1d"
ONEDNN = "aten::mkldnn_convolution"
POLICIES = ("auto", "on", "off")
DEFAULT = "default"
BACKENDS = {CONV: ("onednn", "gemm"), CONV_T: ("gemm", "linear")}   # the alternatives to the default per kind
BACKEND_NAMES = {"onednn": "oneDNN", "gemm": "GEMM"}   # a conv's paths, as the summary names them
# "auto" tunes models at least this big: the small exports (0.2-0.3 M parameters) spend about
# a millisecond per block, where oneDNN measured no gain and timing noise would pick at random;
# a full-size v2 (31.5 M) measured 0.57x.
AUTO_MIN_PARAMETERS = 2_000_000


@runtime_checkable
class Tunable(Protocol):
    """A model whose convs can be tuned (``RaveModel``; a prior has no convs to tune).

    A Protocol because ``models/rave.py`` imports this module, so it cannot be imported here."""

    @property
    def parameter_count(self) -> int: ...

    def tune_convs(self, block: int, min_gain: float = 0.10,
                   backends: Sequence[str] | None = None) -> TuneReport: ...

    def untune(self) -> None: ...


def wants_tuning(model: object, policy: str) -> bool:
    """Whether ``policy`` ("auto", "on", "off") tunes ``model`` (only RAVE models can be tuned)."""
    if policy not in POLICIES:
        raise ValueError(f"conv tuning must be one of {', '.join(POLICIES)}, got {policy!r}")
    if policy == "off" or not isinstance(model, Tunable):
        return False
    return policy == "on" or model.parameter_count >= AUTO_MIN_PARAMETERS


@dataclass(frozen=True, slots=True)
class ConvTiming:
    """One conv node: where it is, its input shape, its cost on the default path and on the one chosen
    (microseconds; the same when nothing beat the default by ``min_gain``)."""

    method: str
    index: int
    input_shape: tuple[int, ...]
    weight_shape: tuple[int, ...]
    default_us: float
    chosen_us: float
    backend: str = DEFAULT  # DEFAULT or one of BACKENDS[kind]
    transposed: bool = False

    @property
    def switched(self) -> bool:
        return self.backend != DEFAULT


@dataclass(slots=True)
class TuneReport:
    """What ``tune_convs`` measured and chose; ``reason`` says why nothing was tuned, if so."""

    timings: list[ConvTiming] = field(default_factory=list)
    seconds: float = 0.0
    reason: str = ""

    @property
    def switched(self) -> int:
        return sum(t.switched for t in self.timings)

    @property
    def estimated_gain(self) -> float:
        """Measured conv time after / before (1.0: nothing switched)."""
        before = sum(t.default_us for t in self.timings)
        after = sum(t.chosen_us for t in self.timings)
        return after / before if before else 1.0

    def summary(self) -> str:
        if not self.timings:
            return f"conv tuning: nothing tuned ({self.reason or 'no conv layers'})"
        convs = [t for t in self.timings if not t.transposed]
        up = [t for t in self.timings if t.transposed]
        ways = ", ".join(f"{sum(t.backend == b for t in convs)} to {BACKEND_NAMES[b]}" for b in BACKENDS[CONV])
        return (f"conv tuning: {sum(t.switched for t in convs)} of {len(convs)} conv layers switched ({ways}), "
                f"{sum(t.switched for t in up)} of {len(up)} transposed convs to GEMM + fold, "
                f"conv time x{self.estimated_gain:.2f} (measured in {self.seconds:.1f} s)")


def tune_convs(module: torch.jit.ScriptModule, calls: dict[str, Sequence[torch.Tensor]],
               reset: Callable[[], None], min_gain: float = 0.10, repeats: int = 7,
               backends: Sequence[str] | None = None) -> tuple[torch.jit.ScriptModule | None, TuneReport]:
    """A frozen copy of ``module`` with the fastest conv backend per node, or None if no node wins.

    ``calls`` maps each method to tune to example inputs at the engine block; ``reset``
    restores the module's stream state (the probe calls advance it). ``backends``: the
    alternatives to race against the default (None: all of ``BACKENDS``; the tests force each).
    """
    t0 = time.perf_counter()
    report = TuneReport()
    with warnings.catch_warnings():  # torch 2.13 deprecates jit.freeze; nn~ files are TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        frozen = torch.jit.freeze(module, preserved_attrs=list(calls))
    shapes = {}
    with torch.inference_mode():
        for method, args in calls.items():
            shapes[method] = _conv_input_shapes(frozen, method, args)
    reset()
    plans: dict[str, list[tuple[torch._C.Node, str]]] = {}
    for method in calls:
        nodes = [n for n in script_attr(frozen, method).graph.nodes() if n.kind() in (CONV, CONV_T)]  # the method by name (encode/decode)
        chosen = []
        for i, (node, shape) in enumerate(zip(nodes, shapes[method])):
            timing = _time_node(method, i, node, shape, min_gain, repeats, backends)
            if timing is not None:
                report.timings.append(timing)
                if timing.switched:
                    chosen.append((node, timing.backend))
        plans[method] = chosen
    if not report.switched:
        report.reason = "no conv layer was faster on another path"
        return None, _done(report, t0)
    for method, plan in plans.items():
        graph = script_attr(frozen, method).graph  # the method by name (encode/decode)
        for node, backend in plan:
            _switch(graph, node, backend)
        torch._C._jit_pass_lint(graph)
    return frozen, _done(report, t0)


def _done(report: TuneReport, t0: float) -> TuneReport:
    report.seconds = time.perf_counter() - t0
    return report


def _conv_input_shapes(frozen: torch.jit.ScriptModule, method: str,
                       args: Sequence[torch.Tensor]) -> list[tuple[int, ...]]:
    """Input shape of every top-level conv and transposed conv node of ``method``, in graph order.

    Runs a copy of the method's graph that also returns each conv's input (the
    copy is a separate function; the method's own graph stays unexecuted, so it
    can still be rewritten). The call advances the stream: the caller resets.
    """
    graph = script_attr(frozen, method).graph.copy()  # the method by name (encode/decode)
    inputs = [next(n.inputs()) for n in graph.nodes() if n.kind() in (CONV, CONV_T)]
    if not inputs:
        return []
    probe = graph.create("prim::TupleConstruct", inputs)
    graph.appendNode(probe)
    probe.output().setType(torch._C.TupleType([v.type() for v in inputs]))
    for _ in range(len(list(graph.outputs()))):
        graph.eraseOutput(0)
    graph.registerOutput(probe.output())
    fn = torch._C._create_function_from_graph(f"conv_shapes_{method}", graph)
    # a graph function knows no defaults (RAVE's decode has from_forward=False): pass them
    declared = script_attr(frozen, method).schema.arguments[1:]  # the method by name (encode/decode)
    defaults = [a.default_value for a in declared[len(args):]]
    return [tuple(t.shape) for t in fn(frozen, *args, *defaults)]


def _constants(node: torch._C.Node) -> list | None:
    """The node's inputs as Python values, or None if any but the first is not a constant."""
    values = []
    for value in list(node.inputs())[1:]:
        owner = value.node()
        if owner.kind() != "prim::Constant":
            return None
        values.append(value.toIValue())
    return values


def _time_node(method: str, index: int, node: torch._C.Node, shape: tuple[int, ...], min_gain: float,
               repeats: int, backends: Sequence[str] | None) -> ConvTiming | None:
    """Time one conv node standalone at ``shape`` on every path it can take; None if it can take only
    the default."""
    args = _constants(node)
    if args is None or not isinstance(args[0], torch.Tensor) or len(shape) != 3:
        return None
    x = torch.randn(shape)
    paths = _transposed_paths(x, args) if node.kind() == CONV_T else _conv_paths(x, args)
    paths = {name: fn for name, fn in paths.items()
             if name == DEFAULT or backends is None or name in backends}
    if len(paths) < 2:   # no alternative (a padding given as a string, a filtered set): the default stays
        return None
    with torch.inference_mode():
        expected = paths[DEFAULT]()
        for name in [n for n in paths if n != DEFAULT]:
            try:
                same = torch.allclose(expected, paths[name](), rtol=1e-3, atol=1e-4)
            except RuntimeError:
                same = False
            if not same:
                del paths[name]
        if len(paths) == 1:
            return None
        times = _race(paths, repeats)
    default_us = times.pop(DEFAULT)
    best = min(times, key=times.__getitem__)
    switched = times[best] <= default_us * (1.0 - min_gain)
    return ConvTiming(method, index, tuple(shape), tuple(args[0].shape), default_us,
                      times[best] if switched else default_us, best if switched else DEFAULT,
                      node.kind() == CONV_T)


def _conv_paths(x: torch.Tensor, args: list) -> dict[str, Callable[[], torch.Tensor]]:
    """``conv1d``'s paths for input ``x`` (the GEMM one only for ungrouped convs)."""
    weight, bias, stride, padding, dilation, groups = args
    stride, padding, dilation = (list(_tuple(v)) for v in (stride, padding, dilation))
    if isinstance(padding[0], str):  # padding="same"/"valid": leave it to the default path
        return {}
    paths = {DEFAULT: lambda: torch.conv1d(x, weight, bias, stride, padding, dilation, groups),
             "onednn": lambda: torch.mkldnn_convolution(x, weight, bias, padding, stride, dilation, groups)}
    if groups == 1:
        w2 = weight.reshape(weight.shape[0], -1).contiguous()
        k = int(weight.shape[-1])
        paths["gemm"] = lambda: _conv_gemm(x, w2, bias, k, stride[0], padding[0], dilation[0])
    return paths


def _transposed_paths(x: torch.Tensor, args: list) -> dict[str, Callable[[], torch.Tensor]]:
    """``conv_transpose1d``'s paths for input ``x`` (the GEMM ones for groups 1, dilation 1)."""
    weight, bias, stride, padding, output_padding, groups, dilation = args
    stride, padding, output_padding, dilation = (_tuple(v) for v in (stride, padding, output_padding, dilation))
    if isinstance(padding[0], str):
        return {}
    paths = {DEFAULT: lambda: torch.conv_transpose1d(x, weight, bias, stride, padding, output_padding, groups,
                                                     dilation)}
    if groups == 1 and dilation == (1,):
        w2, k = _gemm_weight(weight), int(weight.shape[-1])
        for name, transposed in (("gemm", False), ("linear", True)):
            paths[name] = (lambda t=transposed: _conv_transpose_gemm(x, w2, bias, k, stride[0], padding[0],
                                                                      output_padding[0], t))
    return paths


@torch.jit.script
def _conv_gemm(x: torch.Tensor, w2: torch.Tensor, bias: Optional[torch.Tensor], k: int, s: int, pad: int,
               d: int) -> torch.Tensor:
    """``conv1d`` (groups 1) as the taps gathered by ``unfold`` and one ``linear`` with the
    ``(out, in * k)`` weight matrix: the weight is streamed as BLAS's ``x @ W^T`` likes it."""
    if pad > 0:
        x = torch.nn.functional.pad(x, [pad, pad])
    taps = x.unfold(2, (k - 1) * d + 1, s)
    if d > 1:
        taps = taps[:, :, :, ::d]
    cols = taps.permute(0, 2, 1, 3).reshape(x.size(0), taps.size(2), -1)
    return torch.nn.functional.linear(cols, w2, bias).transpose(1, 2).contiguous()


@torch.jit.script
def _conv_transpose_gemm(x: torch.Tensor, w2: torch.Tensor, bias: Optional[torch.Tensor], k: int, s: int,
                         pad: int, out_pad: int, transposed: bool) -> torch.Tensor:
    """``conv_transpose1d`` (groups 1, dilation 1) as one matrix product and an overlap-add.

    Why: at batch 1 PyTorch's transposed conv takes a path that costs RAVE v2's decoder
    most of its time (up to 30 ms for one 1536->768 upsampling layer on a 2-core VM);
    ``w2 @ x`` gives every tap's contribution at once and ``fold`` adds them at stride ``s``.
    ``transposed``: the product as ``linear(x^T, w2)``, the same numbers in the layout BLAS
    streams a big weight fastest at few time steps.
    """
    n = x.size(-1)
    length = (n - 1) * s + k
    if transposed:
        cols = torch.nn.functional.linear(x.transpose(1, 2), w2).transpose(1, 2)
    else:
        cols = torch.matmul(w2, x)
    y = torch.nn.functional.fold(cols, [1, length], [1, k], stride=[1, s]).squeeze(2)
    y = y[:, :, pad:length - pad + out_pad]
    if bias is not None:
        y = y + bias.unsqueeze(-1)
    return y


def _gemm_weight(weight: torch.Tensor) -> torch.Tensor:
    """(in, out, k) transposed-conv weight -> (out * k, in) matrix, rows ordered as ``fold`` reads them."""
    cin, cout, k = weight.shape
    return weight.permute(1, 2, 0).reshape(cout * k, cin).contiguous()


def _race(paths: dict[str, Callable[[], torch.Tensor]], repeats: int) -> dict[str, float]:
    """Median CPU microseconds (this thread's) per call of each path, interleaved so load changes hit
    all alike; CPU time, because on a shared machine wall time mostly measures the neighbours."""
    for _ in range(2):
        for fn in paths.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, fn in paths.items():
            t0 = time.thread_time()
            fn()
            times[name].append(time.thread_time() - t0)
    return {name: sorted(ts)[len(ts) // 2] * 1e6 for name, ts in times.items()}


def _tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _switch(graph: torch._C.Graph, node: torch._C.Node, backend: str) -> None:
    """Replace a conv node by ``backend``'s path: oneDNN's dense conv, or a scripted GEMM function
    inlined into the graph with its weight matrix (and shape numbers) as constants."""
    if node.kind() == CONV_T:
        x, w, b, stride, padding, output_padding, _, _ = node.inputs()
        weight = w.toIValue()
        values = (_gemm_weight(weight), int(weight.shape[-1]), _tuple(stride.toIValue())[0],
                  _tuple(padding.toIValue())[0], _tuple(output_padding.toIValue())[0], backend == "linear")
        _inline(graph, node, _conv_transpose_gemm, x, b, values)
        return
    x, w, b, stride, padding, dilation, groups = node.inputs()
    if backend == "gemm":
        weight = w.toIValue()
        values = (weight.reshape(weight.shape[0], -1).contiguous(), int(weight.shape[-1]),
                  _tuple(stride.toIValue())[0], _tuple(padding.toIValue())[0], _tuple(dilation.toIValue())[0])
        _inline(graph, node, _conv_gemm, x, b, values)
        return
    with graph.insert_point_guard(node):
        new = graph.create(ONEDNN, [x, w, b, padding, stride, dilation, groups])
        graph.insertNode(new)
    new.output().setType(node.output().type())
    node.output().replaceAllUsesWith(new.output())
    node.destroy()


def _inline(graph: torch._C.Graph, node: torch._C.Node, fn, x: torch._C.Value, bias: torch._C.Value,
            values: tuple) -> None:
    """Put ``fn(x, values[0], bias, *values[1:])``'s graph in place of ``node``."""
    with graph.insert_point_guard(node):
        constants = [graph.insertConstant(v) for v in values]
        out = graph.insertGraph(fn.graph, [x, constants[0], bias, *constants[1:]])
    node.output().replaceAllUsesWith(out[0])
    node.destroy()
