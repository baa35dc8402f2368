"""Per-layer convolution backend choice, measured at load time (``tune_convs``).

Why: at batch 1 PyTorch sends every ``conv1d`` of a RAVE export down its generic
CPU path. For the wide layers of a full-size model oneDNN is much faster (the
issue measured 0.57x per block), for the narrow layers of a small model it is
several times slower. No static rule picks well on every CPU, so each conv node
is timed on the machine that will play it, at the shape the engine block gives
it, on the default path and through oneDNN, and only nodes that oneDNN runs at
least ``min_gain`` faster are switched.

Transposed convs (RAVE's upsampling layers) are timed the same way against one
matrix product plus an overlap-add (``_conv_transpose_gemm``), which at batch 1 is
several times faster for the wide layers.

How: the module is frozen (``torch.jit.freeze``, keeping the methods asked for),
which turns weights into graph constants; conv shapes are recorded by one
call of a probe copy of each method's graph; each chosen ``aten::conv1d`` node of the
frozen graph is then replaced by ``aten::mkldnn_convolution`` (dense in, dense
out). A frozen module shows no buffers, but its constants alias the original
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

    def tune_convs(self, block: int, min_gain: float = 0.10) -> TuneReport: ...

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
    """One conv node: where it is, its input shape, and its cost on each path (microseconds)."""

    method: str
    index: int
    input_shape: tuple[int, ...]
    weight_shape: tuple[int, ...]
    default_us: float
    onednn_us: float      # the alternative: oneDNN for a conv, one GEMM + fold for a transposed conv
    switched: bool
    transposed: bool = False


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
        after = sum(t.onednn_us if t.switched else t.default_us for t in self.timings)
        return after / before if before else 1.0

    def summary(self) -> str:
        if not self.timings:
            return f"conv tuning: nothing tuned ({self.reason or 'no conv layers'})"
        convs = [t for t in self.timings if not t.transposed]
        up = [t for t in self.timings if t.transposed]
        return (f"conv tuning: {sum(t.switched for t in convs)} of {len(convs)} conv layers switched to oneDNN, "
                f"{sum(t.switched for t in up)} of {len(up)} transposed convs to GEMM + fold, "
                f"conv time x{self.estimated_gain:.2f} (measured in {self.seconds:.1f} s)")


def tune_convs(module: torch.jit.ScriptModule, calls: dict[str, Sequence[torch.Tensor]],
               reset: Callable[[], None], min_gain: float = 0.10,
               repeats: int = 7) -> tuple[torch.jit.ScriptModule | None, TuneReport]:
    """A frozen copy of ``module`` with the faster conv backend per node, or None if no node wins.

    ``calls`` maps each method to tune to example inputs at the engine block; ``reset``
    restores the module's stream state (the probe calls advance it).
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
    plans: dict[str, list[torch._C.Node]] = {}
    for method in calls:
        nodes = [n for n in script_attr(frozen, method).graph.nodes() if n.kind() in (CONV, CONV_T)]  # the method by name (encode/decode)
        chosen = []
        for i, (node, shape) in enumerate(zip(nodes, shapes[method])):
            timing = _time_node(method, i, node, shape, min_gain, repeats)
            if timing is not None:
                report.timings.append(timing)
                if timing.switched:
                    chosen.append(node)
        plans[method] = chosen
    if not report.switched:
        report.reason = "no conv layer was faster on the other path"
        return None, _done(report, t0)
    for method, nodes in plans.items():
        graph = script_attr(frozen, method).graph  # the method by name (encode/decode)
        for node in nodes:
            _switch(graph, node)
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
               repeats: int) -> ConvTiming | None:
    """Time one conv node standalone at ``shape`` on both paths; None if it cannot be switched."""
    args = _constants(node)
    if args is None or not isinstance(args[0], torch.Tensor) or len(shape) != 3:
        return None
    if node.kind() == CONV_T:
        return _time_transposed(method, index, args, shape, min_gain, repeats)
    weight, bias, stride, padding, dilation, groups = args
    x = torch.randn(shape)
    stride, padding, dilation = (list(_tuple(v)) for v in (stride, padding, dilation))
    if isinstance(padding[0], str):  # padding="same"/"valid": leave it to the default path
        return None

    def default() -> torch.Tensor:
        return torch.conv1d(x, weight, bias, stride, padding, dilation, groups)

    def onednn() -> torch.Tensor:
        return torch.mkldnn_convolution(x, weight, bias, padding, stride, dilation, groups)

    with torch.inference_mode():
        try:
            if not torch.allclose(default(), onednn(), rtol=1e-3, atol=1e-4):
                return None
        except RuntimeError:
            return None
        a, b = _race(default, onednn, repeats)
    return ConvTiming(method, index, tuple(shape), tuple(weight.shape), a, b, b <= a * (1.0 - min_gain))


def _time_transposed(method: str, index: int, args: list, shape: tuple[int, ...], min_gain: float,
                     repeats: int) -> ConvTiming | None:
    """A transposed conv: PyTorch's path against one GEMM + fold (``_conv_transpose_gemm``)."""
    weight, bias, stride, padding, output_padding, groups, dilation = args
    stride, padding, output_padding, dilation = (_tuple(v) for v in (stride, padding, output_padding, dilation))
    if groups != 1 or dilation != (1,) or isinstance(padding[0], str):
        return None
    x = torch.randn(shape)
    w2 = _gemm_weight(weight)
    k = int(weight.shape[-1])

    def default() -> torch.Tensor:
        return torch.conv_transpose1d(x, weight, bias, stride, padding, output_padding, groups, dilation)

    def gemm() -> torch.Tensor:
        return _conv_transpose_gemm(x, w2, bias, k, stride[0], padding[0], output_padding[0])

    with torch.inference_mode():
        try:
            if not torch.allclose(default(), gemm(), rtol=1e-3, atol=1e-4):
                return None
        except RuntimeError:
            return None
        a, b = _race(default, gemm, repeats)
    return ConvTiming(method, index, tuple(shape), tuple(weight.shape), a, b, b <= a * (1.0 - min_gain), True)


@torch.jit.script
def _conv_transpose_gemm(x: torch.Tensor, w2: torch.Tensor, bias: Optional[torch.Tensor], k: int, s: int,
                         pad: int, out_pad: int) -> torch.Tensor:
    """``conv_transpose1d`` (groups 1, dilation 1) as one matrix product and an overlap-add.

    Why: at batch 1 PyTorch's transposed conv takes a path that costs RAVE v2's decoder
    most of its time (up to 30 ms for one 1536->768 upsampling layer on a 2-core VM);
    ``w2 @ x`` gives every tap's contribution at once and ``fold`` adds them at stride ``s``.
    """
    n = x.size(-1)
    length = (n - 1) * s + k
    y = torch.nn.functional.fold(torch.matmul(w2, x), [1, length], [1, k], stride=[1, s]).squeeze(2)
    y = y[:, :, pad:length - pad + out_pad]
    if bias is not None:
        y = y + bias.unsqueeze(-1)
    return y


def _gemm_weight(weight: torch.Tensor) -> torch.Tensor:
    """(in, out, k) transposed-conv weight -> (out * k, in) matrix, rows ordered as ``fold`` reads them."""
    cin, cout, k = weight.shape
    return weight.permute(1, 2, 0).reshape(cout * k, cin).contiguous()


def _race(a: Callable, b: Callable, repeats: int) -> tuple[float, float]:
    """Median CPU microseconds (this thread's) per call of each, interleaved so load changes hit
    both alike; CPU time, because on a shared machine wall time mostly measures the neighbours."""
    for _ in range(2):
        a(), b()
    ta, tb = [], []
    for _ in range(repeats):
        for fn, out in ((a, ta), (b, tb)):
            t0 = time.thread_time()
            fn()
            out.append(time.thread_time() - t0)
    ta.sort(), tb.sort()
    return ta[len(ta) // 2] * 1e6, tb[len(tb) // 2] * 1e6


def _tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _switch(graph: torch._C.Graph, node: torch._C.Node) -> None:
    """Replace ``conv1d(x, w, b, stride, padding, dilation, groups)`` by oneDNN's dense conv,
    or a transposed conv by the GEMM + fold function inlined into the graph."""
    if node.kind() == CONV_T:
        _switch_transposed(graph, node)
        return
    x, w, b, stride, padding, dilation, groups = node.inputs()
    with graph.insert_point_guard(node):
        new = graph.create(ONEDNN, [x, w, b, padding, stride, dilation, groups])
        graph.insertNode(new)
    new.output().setType(node.output().type())
    node.output().replaceAllUsesWith(new.output())
    node.destroy()


def _switch_transposed(graph: torch._C.Graph, node: torch._C.Node) -> None:
    x, w, b, stride, padding, output_padding, _, _ = node.inputs()
    weight = w.toIValue()
    with graph.insert_point_guard(node):
        constants = [graph.insertConstant(v) for v in (
            _gemm_weight(weight), int(weight.shape[-1]), _tuple(stride.toIValue())[0],
            _tuple(padding.toIValue())[0], _tuple(output_padding.toIValue())[0])]
        out = graph.insertGraph(_conv_transpose_gemm.graph, [x, constants[0], b, *constants[1:]])
    node.output().replaceAllUsesWith(out[0])
    node.destroy()
