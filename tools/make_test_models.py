#!/usr/bin/env python3
"""Build ravebox's test models with the real RAVE and MSPrior exporters.

Why a throwaway venv: the exporters (acids-rave, acids-msprior, nn-tilde) pin
old Lightning/scipy versions and pull torchaudio; none of that may leak into
ravebox's own environment, which needs nothing but torch to *load* the files.

Stages (one file, run three ways):

* ``python tools/make_test_models.py`` (host python, torch only): makes sure the
  export venv exists (creates it on a fresh machine, pins in ``PINS``), then runs
  this same file inside the venv with ``--stage runs`` to write RAVE/MSPrior
  *run dirs* (gin config + Lightning checkpoint with random weights), calls the
  packages' own CLIs (``rave export --streaming``, ``msprior export --continuous
  --temporal_ratio``, ``msprior combine``), and finally scripts the small
  synthetic models (NaN model, RAVE v1 and nn_tilde 1.5 interface quirks, rate-sensitive
  tone probes at 44.1/48 kHz and a discrete one) with plain torch.
* ``--stage runs`` (inside the venv): only writes run dirs.
* ``--full``: one full-size v2 model to ``models-full/`` (not committed).

Everything is seeded, so re-running gives the same weights (the TorchScript
bytes may still differ between torch versions).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_VENV = Path(os.environ.get("RAVEBOX_EXPORT_VENV", "/tmp/exportvenv/venv"))
DEFAULT_OUT = REPO / "tests" / "models"
FULL_OUT = REPO / "models-full"
WORK = REPO / "tools" / "out"

SAMPLE_RATE = 48000
TORCH_PIN = "torch==2.13.0"
PINS = [
    TORCH_PIN,
    "setuptools<81",  # pytorch-lightning 1.9 imports pkg_resources
    "acids-rave==2.3.1",
    "acids-msprior==1.1.3",
    "cached-conv==2.5.0",
]
NO_DEPS_PINS = ["nn-tilde==1.6.0"]  # its metadata pins torch==2.5; we keep 2.13

# name -> recipe. ``keep`` is the latent count the exporter must keep: the
# checkpoint's fidelity curve is shaped so that exactly that many survive.
RAVE_RECIPES: dict[str, dict] = {
    "rave_a": {"configs": ["v2"], "capacity": 8, "full_latent": 16, "keep": 8, "seed": 1},
    "rave_b": {"configs": ["v2", "causal"], "capacity": 8, "full_latent": 32, "keep": 16, "seed": 2},
}
FULL_RECIPE = {"configs": ["v2"], "capacity": 96, "full_latent": 128, "keep": 16, "seed": 3}
PRIOR_RECIPE = {
    "on": "rave_a",
    "config": "decoder_only",
    "bindings": ["MODEL_DIM=32", "NUM_LAYERS=1", "NUM_HEADS=8", "HEAD_DIM=8", "NUM_TOKENS=64", "SEQ_LEN=32"],
    "seed": 4,
}


# --------------------------------------------------------------------------- venv


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path) -> None:
    """Create/repair the export venv. Idempotent: a ready venv costs two imports."""
    py = venv_python(venv)
    if not py.exists():
        print(f"creating export venv in {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if not _imports_ok(py, "import rave, msprior, nn_tilde"):
        pip = [str(py), "-m", "pip", "install", "--quiet"]
        subprocess.run(pip + PINS, check=True)
        subprocess.run(pip + ["--no-deps"] + NO_DEPS_PINS, check=True)
    _disable_cuda_torchaudio(py)
    if not _imports_ok(py, "import torchaudio, pytorch_lightning, rave, msprior"):
        raise SystemExit(f"export venv {venv} is broken: rave/msprior do not import")


def _imports_ok(py: Path, statement: str) -> bool:
    done = subprocess.run([str(py), "-c", statement], capture_output=True)
    return done.returncode == 0


def _disable_cuda_torchaudio(py: Path) -> None:
    """The torchaudio wheel pip picks is CUDA-only; without its .so files it imports.

    RAVE only uses torchaudio's pure-python transforms, so moving the native
    libraries aside is enough.
    """
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    lib = Path(site) / "torchaudio" / "lib"
    if not lib.is_dir():
        return
    aside = lib.parent / "lib_disabled"
    aside.mkdir(exist_ok=True)
    for so in lib.glob("*.so"):
        so.rename(aside / so.name)


# ------------------------------------------------------- inside the venv: run dirs


def fidelity_curve(full: int, keep: int):
    """Cumulative explained variance such that RAVE's exporter keeps ``keep`` dims.

    The exporter keeps ``2**ceil(log2(argmax(fidelity > .95)))`` dims; the first
    index above .95 is ``keep - 1`` here, so exactly ``keep`` (a power of two) survive.
    """
    import torch

    below = [0.95 * (i + 1) / keep for i in range(keep - 1)]
    return torch.tensor(below + [0.99] + [1.0] * (full - keep), dtype=torch.float32)


def latent_pca(full: int, keep: int):
    """A random rotation whose components past ``keep`` carry no variance.

    Why zero rows: the exporter's decode fills the dropped dims with noise and
    rotates it back through these rows; a component that explains no variance
    (the fidelity curve reaches 1 at ``keep``) adds nothing, so decode is
    deterministic and the streaming-continuity tests can be exact.
    """
    import torch

    rotation, _ = torch.linalg.qr(torch.randn(full, full))
    rotation[keep:] = 0.0
    return rotation


def lightning_checkpoint(state_dict: dict) -> dict:
    """The keys PyTorch Lightning 1.9 writes; the exporters read ``state_dict``."""
    import pytorch_lightning as pl

    return {
        "epoch": 0,
        "global_step": 0,
        "pytorch-lightning_version": pl.__version__,
        "state_dict": state_dict,
        "loops": {},
        "callbacks": {},
        "optimizer_states": [],
        "lr_schedulers": [],
    }


def write_rave_run(run: Path, recipe: dict) -> None:
    """A RAVE run dir as ``rave train`` leaves it: config.gin + a .ckpt below it."""
    import gin
    import torch
    import rave

    gin.clear_config()
    torch.manual_seed(recipe["seed"])
    bindings = [
        f"SAMPLING_RATE={SAMPLE_RATE}",
        f"CAPACITY={recipe['capacity']}",
        f"LATENT_SIZE={recipe['full_latent']}",
        "RAVE.n_channels=1",
    ]
    gin.parse_config_files_and_bindings([c + ".gin" for c in recipe["configs"]], bindings)
    model = rave.RAVE(n_channels=1)
    full = recipe["full_latent"]
    model.latent_pca.copy_(latent_pca(full, recipe["keep"]))
    model.latent_mean.copy_(0.1 * torch.randn(full))
    model.fidelity.copy_(fidelity_curve(full, recipe["keep"]))
    ckpt_dir = run / "version_0" / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    (run / "config.gin").write_text(gin.operative_config_str())
    torch.save(lightning_checkpoint(model.state_dict()), ckpt_dir / "last.ckpt")


def write_prior_run(run: Path, recipe: dict, num_quantizers: int) -> None:
    """An MSPrior run dir as ``msprior train`` leaves it (config_str + last.ckpt)."""
    import gin
    import torch
    from msprior.attention import Prior

    gin.clear_config()
    torch.manual_seed(recipe["seed"])
    bindings = recipe["bindings"] + [f"NUM_QUANTIZERS={num_quantizers}"]
    gin.parse_config_files_and_bindings([recipe["config"] + ".gin"], bindings)
    model = Prior()
    ckpt_dir = run / "version_0" / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    (run / "config.gin").write_text(gin.config_str())
    torch.save(lightning_checkpoint(model.state_dict()), ckpt_dir / "last.ckpt")


def stage_runs(work: Path, names: list[str], full: bool) -> None:
    import msprior.attention  # noqa: F401  (registers configurables + gin search paths
    import rave  # noqa: F401             before any config is parsed and locked)

    for name in names:
        recipe = FULL_RECIPE if full else RAVE_RECIPES[name]
        write_rave_run(work / name, recipe)
    if not full and PRIOR_RECIPE["on"] in names:
        keep = RAVE_RECIPES[PRIOR_RECIPE["on"]]["keep"]
        write_prior_run(work / "prior_a", PRIOR_RECIPE, keep)


# ------------------------------------------------------------- host: exports


def export_rave(venv: Path, run: Path, name: str, out: Path, streaming: bool = True) -> Path:
    """``rave export`` names its file ``<name>[_streaming].ts`` inside ``--output``."""
    flag = "--streaming" if streaming else "--nostreaming"
    subprocess.run(
        [str(venv / "bin" / "rave"), "export", f"--run={run}", flag,
         f"--name={name}", f"--output={run}"],
        check=True, env=_export_env(),
    )
    exported = run / (f"{name}_streaming.ts" if streaming else f"{name}.ts")
    target = out / (f"{name}.ts" if streaming else f"{name}_nostream.ts")
    shutil.copyfile(exported, target)
    return target


def export_prior(venv: Path, run: Path, ratio: int, out: Path) -> Path:
    subprocess.run(
        [str(venv / "bin" / "msprior"), "export", f"--run={run}", "--continuous",
         f"--temporal_ratio={ratio}"],
        check=True, env=_export_env(),
    )
    target = out / "prior_a.ts"
    shutil.copyfile(run / f"{run.name}.ts", target)
    return target


def combine(venv: Path, prior: Path, rave_file: Path, out: Path) -> Path:
    """``msprior combine`` writes ``<name>.ts`` into the working directory."""
    subprocess.run(
        [str(venv / "bin" / "msprior"), "combine", f"--prior={prior}", f"--rave={rave_file}",
         "--name=combined_a"],
        check=True, env=_export_env(), cwd=out,
    )
    return out / "combined_a.ts"


def _export_env() -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    return env


# ------------------------------------------------- host: synthetic models (torch)


def make_synthetic(out: Path) -> list[Path]:
    """Plain-torch modules that mimic interface quirks the real exporters no longer make."""
    import torch

    classes = {**_synthetic_classes(), **_rate_classes()}
    made = []
    for name, cls in classes.items():
        torch.manual_seed(5)
        torch.jit.script(cls()).save(str(out / name))
        made.append(out / name)
    return made


def _nn_tilde_codec() -> type:
    """The nn~ 1.6 interface every synthetic model here builds on: ``tests/models/nntilde.py``, the one
    definition (the tests' misbehaving models use it too), imported from the source tree on the host stage."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.models.nntilde import NnTildeCodec

    return NnTildeCodec


def _synthetic_classes() -> dict:
    """Defined in a function so the venv stage never scripts them; every constant
    is a module attribute because TorchScript cannot close over Python ints."""
    import torch
    from typing import List

    NnTildeCodec = _nn_tilde_codec()

    class NanModel(NnTildeCodec):
        """nn~ 1.6-style interface whose decode yields NaN, +inf, -inf and 1e6 spikes.

        Why: the engine's safety stage must scrub exactly these; a real model
        only produces them by accident.
        """

        @torch.jit.export
        def decode(self, z: torch.Tensor) -> torch.Tensor:
            y = torch.full((z.shape[0], 1, z.shape[-1] * self.ratio), 1.0e6)
            y[..., 0::4] = float("nan")
            y[..., 1::4] = float("inf")
            y[..., 2::4] = -float("inf")
            self._cache_calls += 1
            return y

    class LinearCodec(torch.nn.Module):
        """A tiny linear codec (ratio 2048, 8 latents) with the ``*_params`` buffers and one cache-like
        buffer: the body the two old-interface quirk models below share (their interfaces differ)."""

        def __init__(self) -> None:
            super().__init__()
            self.ratio = 2048
            self.register_buffer("encode_params", torch.tensor([1, 1, 8, 2048]))
            self.register_buffer("decode_params", torch.tensor([8, 2048, 1, 1]))
            self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1]))
            self.register_buffer("_cache_last", torch.zeros(1, 8, 1))
            self.proj = torch.nn.Linear(2048, 8)
            self.back = torch.nn.Linear(8, 2048)

        def _level(self) -> float:
            return 1.0

        @torch.jit.export
        def encode(self, x: torch.Tensor) -> torch.Tensor:
            frames = x.reshape(x.shape[0], -1, self.ratio)
            return self.proj(frames).permute(0, 2, 1)

        @torch.jit.export
        def decode(self, z: torch.Tensor) -> torch.Tensor:
            frames = torch.tanh(self.back(z.permute(0, 2, 1))) * self._level()
            return frames.reshape(z.shape[0], 1, -1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.decode(self.encode(x))

    class V1Like(LinearCodec):
        """RAVE v1 ``export_rave.py`` quirks: ``sampling_rate`` buffer, no ``get_methods``/
        ``sr``/``get_attributes``, only ``encode_params``/``decode_params``/``forward_params``,
        and ``latent_size`` is a tensor buffer holding the *full* latent count (16) while
        the kept count (8) is ``cropped_latent_size`` / ``decode_params[0]``.
        A tiny linear codec (ratio 2048) with one cache-like buffer."""

        def __init__(self) -> None:
            super().__init__()
            self.cropped_latent_size = 8
            self.register_buffer("sampling_rate", torch.tensor(SAMPLE_RATE))
            self.register_buffer("latent_size", torch.tensor(16))
            self.register_buffer("max_batch_size", torch.tensor(1))

    class NnTilde15Like(LinearCodec):
        """nn_tilde 1.5 quirks: ``get_methods`` present, ``get_attributes`` returns the
        fake ``none`` entry first (it has no ``none_params``), ``sr`` attribute but no
        ``get_sample_rate``, one real attribute ``gain`` whose type codes are stored as a
        *float* tensor (old nn_tilde used ``torch.Tensor(type_hash)``: ``[2.]`` = float);
        its setter refuses negatives with -1."""

        def __init__(self) -> None:
            super().__init__()
            self.sr = SAMPLE_RATE
            self.latent_size = 8
            self.full_latent_size = 16
            self.gain = (1.0,)
            self.register_buffer("gain_params", torch.tensor([2.0]))

        @torch.jit.export
        def get_methods(self) -> List[str]:
            return ["encode", "decode", "forward"]

        @torch.jit.export
        def get_attributes(self) -> List[str]:
            return ["none", "gain"]

        @torch.jit.export
        def get_gain(self) -> float:
            return self.gain[0]

        @torch.jit.export
        def set_gain(self, gain: float) -> int:
            if gain < 0:
                return -1
            self.gain = (gain,)
            return 0

        def _level(self) -> float:
            return self.gain[0]

    return {"nan_a.ts": NanModel, "v1_like.ts": V1Like, "nntilde15_like.ts": NnTilde15Like}


def _rate_classes() -> dict:
    """Rate-sensitive models (nn~ 1.6 interface) at 44.1 and 48 kHz, ratios 512 and 2048.

    ``ToneProbe``: ``encode`` demodulates the input at 1 kHz *at its own rate* (per
    frame: the in-phase and quadrature parts), ``decode`` re-modulates them onto a
    1 kHz carrier at its own rate and adds a fixed 0.25 1 kHz tone. So a 1 kHz
    input heard at the right rate gives constant latents (a wrong rate makes them
    rotate at the error frequency), and whatever the latents, the output is at
    1 kHz of the decoder's own clock: heard at the wrong rate it is off-pitch.
    ``CodeProbe``: the same with latents in [-0.5, 0.5] quantised to codebook indices,
    the way RAVE's discrete exports do (a ``quantizer`` child with ``n_codes``); code 0
    decodes quietly enough (-8 dBFS rms) for the loader's warm-up vetting.
    Clocks are integer sample counters modulo the rate (exact phase forever).
    """
    import torch

    NnTildeCodec = _nn_tilde_codec()

    class Quantizer(torch.nn.Module):
        def __init__(self, n_codes: int) -> None:
            super().__init__()
            self.n_codes = n_codes

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return z

    class ToneProbe(NnTildeCodec):
        def __init__(self, sr: int, ratio: int, n_codes: int = 0) -> None:
            super().__init__(sr, ratio, latent_size=2)
            self.freq = 1000
            self.n_codes = n_codes
            if n_codes:
                self.quantizer = Quantizer(n_codes)
            self.register_buffer("_cache_in_clock", torch.zeros(1, dtype=torch.long))
            self.register_buffer("_cache_out_clock", torch.zeros(1, dtype=torch.long))

        def _carrier(self, clock: torch.Tensor, n: int) -> torch.Tensor:
            t = (clock + torch.arange(n)) * self.freq % self.sr
            clock.copy_((clock + n) % self.sr)
            return t.double() * (2.0 * 3.141592653589793 / self.sr)

        @torch.jit.export
        def encode(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[-1]
            k = n // self.ratio
            theta = self._carrier(self._cache_in_clock, n)
            mono = x.mean(1).double()
            i = (mono * torch.sin(theta)).reshape(x.shape[0], k, self.ratio).mean(-1) * 2.0
            q = (mono * torch.cos(theta)).reshape(x.shape[0], k, self.ratio).mean(-1) * 2.0
            z = torch.stack([i, q], 1).float()
            if self.n_codes > 0:
                z = torch.clamp(torch.round(z * (self.n_codes - 1) + 0.5 * (self.n_codes - 1)), 0.0, self.n_codes - 1.0)
            return z

        @torch.jit.export
        def decode(self, z: torch.Tensor) -> torch.Tensor:
            if self.n_codes > 0:
                z = torch.clamp(z, 0.0, self.n_codes - 1.0).round() / (self.n_codes - 1) - 0.5
            n = z.shape[-1] * self.ratio
            theta = self._carrier(self._cache_out_clock, n)
            zz = torch.repeat_interleave(z.double(), self.ratio, dim=-1)
            y = zz[:, 0] * torch.sin(theta) + zz[:, 1] * torch.cos(theta) + 0.25 * torch.sin(theta)
            return y.unsqueeze(1).float()

    made = {}
    for sr in (44100, 48000):
        for ratio in (512, 2048):
            made[f"tone_{sr // 1000}k_{ratio}.ts"] = (lambda sr=sr, ratio=ratio: ToneProbe(sr, ratio))
    made["codes_44k_2048.ts"] = lambda: ToneProbe(44100, 2048, 16)
    return made


# ------------------------------------------------------------------------ main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="export venv (created if missing)")
    p.add_argument("--out", type=Path, default=None, help="where the .ts files go")
    p.add_argument("--work", type=Path, default=WORK, help="scratch dir for run dirs")
    p.add_argument("--full", action="store_true", help="build one full-size v2 model to models-full/")
    p.add_argument("--only", choices=["rave", "prior", "synthetic"], action="append",
                   help="build only these groups (default: all)")
    p.add_argument("--stage", choices=["all", "runs"], default="all", help=argparse.SUPPRESS)
    p.add_argument("--names", nargs="*", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.stage == "runs":
        stage_runs(args.work, args.names or [], args.full)
        return 0
    groups = set(args.only or ["rave", "prior", "synthetic"])
    out = args.out or (FULL_OUT if args.full else DEFAULT_OUT)
    out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.full:
        return build_full(args, out)
    made: list[Path] = []
    if groups & {"rave", "prior"}:
        ensure_venv(args.venv)
        names = list(RAVE_RECIPES) if "rave" in groups else [PRIOR_RECIPE["on"]]
        _run_stage(args, names, full=False)
        if "rave" in groups:
            for name in RAVE_RECIPES:
                made.append(export_rave(args.venv, args.work / name, name, out))
            # the same weights without cache buffers: the loader must refuse it live
            made.append(export_rave(args.venv, args.work / "rave_a", "rave_a", out, streaming=False))
        if "prior" in groups:
            ratio = _ratio_of(out / f"{PRIOR_RECIPE['on']}.ts")
            prior = export_prior(args.venv, args.work / "prior_a", ratio, out)
            made += [prior, combine(args.venv, prior, out / f"{PRIOR_RECIPE['on']}.ts", out)]
    if "synthetic" in groups:
        made += make_synthetic(out)
    write_manifest(out, made)
    return 0


def build_full(args: argparse.Namespace, out: Path) -> int:
    ensure_venv(args.venv)
    _run_stage(args, ["rave_full"], full=True)
    made = [export_rave(args.venv, args.work / "rave_full", "rave_full", out)]
    write_manifest(out, made)
    return 0


def _run_stage(args: argparse.Namespace, names: list[str], full: bool) -> None:
    cmd = [str(venv_python(args.venv)), str(Path(__file__).resolve()), "--stage=runs",
           f"--work={args.work}", "--names", *names]
    if full:
        cmd.append("--full")
    subprocess.run(cmd, check=True, env=_export_env())


def _ratio_of(ts: Path) -> int:
    import torch

    return int(torch.jit.load(str(ts)).decode_params[1])


def write_manifest(out: Path, made: list[Path]) -> None:
    """Record what the recipes promise, so tests compare against export-time facts."""
    path = out / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {}
    for f in made:
        manifest[f.name] = {"bytes": f.stat().st_size}
    recipes = {k: dict(v, sample_rate=SAMPLE_RATE) for k, v in RAVE_RECIPES.items()}
    manifest["_recipes"] = {"rave": recipes, "prior": PRIOR_RECIPE, "pins": PINS + NO_DEPS_PINS}
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
