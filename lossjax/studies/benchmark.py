"""Throughput of training the book's network: the peers side by side.

Times one epoch of mini-batch SGD (batch 10) of the book's MNIST-size
network [784, 30, 10] on synthetic data of MNIST's shape, every row in one
process: (a) plain NumPy with per-example backprop, as the book's
network2.py does (sigmoid + cross-entropy); (b) PyTorch eager, one model,
and (b') ``torch.func.vmap`` over K models, when torch is installed (the
``bench`` extra); (c) lossjax's generic loop and (d) its exact windowed SGD
(:mod:`lossjax.training.windowed`), each at every K; (e) the compute limit: the
network's FLOPs at the machine's float32 matrix-multiply rate, measured
here with XLA. It also reports how far the windowed loop's float32
parameters are from the generic loop's after one epoch.
"""

import dataclasses
import datetime
import functools
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lossjax import config as cfg
from lossjax import config_fields
from lossjax.core.init import init_mlp
from lossjax.core.pairings import Pairing
from lossjax.output import progress, results
from lossjax.studies import study_speed
from lossjax.studies.peers import (
  BATCH_SIZE,
  LEARNING_RATE,
  SIZES,
  best_time,
  synthetic_data,
  time_numpy,
  time_torch,
  time_torch_vmap,
)
from lossjax.training.train import choose_window, fit_many

# network2.py's CrossEntropyCost with sigmoid outputs: the rows without a tag.
DEFAULT_PAIRING = "sigmoid_bce"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  pairings: tuple[Pairing, ...] = config_fields.pairings_field(
    (DEFAULT_PAIRING,)
  )
  examples: int = cfg.field(
    50_000, "Examples per epoch.", check=cfg.at_least(BATCH_SIZE)
  )
  numpy_examples: int = cfg.field(
    2_000,
    "Examples the slow baselines (NumPy, PyTorch) are timed on, scaled to "
    "a full epoch.",
    check=cfg.at_least(BATCH_SIZE),
  )
  models: tuple[int, ...] = cfg.field(
    (1, 32, 128),
    "K: models trained together in the lossjax rows.",
    check=cfg.all_of(cfg.nonempty_unique, cfg.each(cfg.at_least(1))),
  )
  window: int | None = cfg.field(
    None,
    "Steps per window of the windowed rows (unset: the library's window "
    "for many models).",
    check=cfg.at_least(1),
  )
  torch: bool = cfg.field(
    True, "Include the PyTorch rows when torch is installed."
  )
  torch_models: int = cfg.field(
    32, "K of the torch.func.vmap row.", check=cfg.at_least(1)
  )
  studies: tuple[str, ...] = cfg.field(
    study_speed.STUDY_NAMES,
    "Study shapes timed beside their training loop alone, on synthetic "
    f"MNIST-shaped data ({', '.join(study_speed.STUDY_NAMES)}; none: "
    "--studies=).",
    check=cfg.all_of(cfg.unique, cfg.each(cfg.one_of(study_speed.STUDY_NAMES))),
  )
  study_epochs: int = cfg.field(
    3,
    "Epochs of each study row; its time per epoch is the mean of those "
    "after the first.",
    check=cfg.at_least(1),
  )


PRESETS = {}


def training_flops_per_example(sizes: Sequence[int]) -> int:
  """Multiply-adds x 2 of one training example: forward, weight gradients
  and the backward pass through every layer but the first."""
  forward = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
  backward_inputs = sum(
    2 * a * b for a, b in zip(sizes[1:-1], sizes[2:], strict=True)
  )
  return 2 * forward + backward_inputs


@dataclasses.dataclass(frozen=True)
class Row:
  name: str
  models: int
  seconds_per_model_epoch: float
  compile_seconds: float | None = None
  gflops: float | None = None
  speedup_vs_numpy: float | None = None
  fraction_of_matmul_peak: float | None = None


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
  """Float32 matrix-multiply throughput of XLA on the default device."""
  a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
  b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
  matmul = jax.jit(jnp.matmul)
  matmul(a, b).block_until_ready()
  seconds = best_time(lambda: matmul(a, b).block_until_ready(), repeats)
  return 2 * n**3 / seconds / 1e9


@functools.partial(
  jax.jit, static_argnames=("models", "shared_order", "pairing", "window")
)
def _train_models(x, labels, *, models, shared_order, pairing, window):
  keys = jax.random.split(jax.random.key(0), models)
  params = jax.vmap(lambda k: init_mlp("normalized", k, SIZES))(keys)
  params = jax.tree.map(lambda v: v.astype(x.dtype), params)
  order = (
    jax.random.key(1)
    if shared_order
    else jax.random.split(jax.random.key(1), models)
  )
  final, _ = fit_many(
    params,
    (x, labels),
    order,
    learning_rates=jnp.full(models, LEARNING_RATE),
    pairing=pairing,
    epochs=1,
    batch_size=BATCH_SIZE,
    window=window,
  )
  return final


def time_lossjax(
  x,
  labels,
  *,
  models: int,
  pairing: Pairing,
  window: int | None = None,
  shared_order: bool = True,
):
  """(seconds per model-epoch, compile seconds, final parameters) for K
  models in one compiled call."""
  x, labels = jnp.asarray(x), jnp.asarray(labels)
  static = dict(
    models=models, shared_order=shared_order, pairing=pairing, window=window
  )
  start = time.perf_counter()
  compiled = _train_models.lower(x, labels, **static).compile()
  compile_seconds = time.perf_counter() - start
  final = jax.block_until_ready(compiled(x, labels))  # warm-up, and the result
  seconds = best_time(
    lambda: jax.block_until_ready(compiled(x, labels)), repeats=3
  )
  return seconds / models, compile_seconds, final


def generic_float64(x, labels, *, models: int, pairing: Pairing):
  """Final parameters of the generic loop in float64: the exact-arithmetic
  reference the float32 loops are compared with."""
  with jax.enable_x64(True):
    final = _train_models(
      jnp.asarray(x, jnp.float64),
      jnp.asarray(labels),
      models=models,
      shared_order=True,
      pairing=pairing,
      window=0,
    )
    return jax.tree.map(np.asarray, final)


def _max_difference(a, b) -> float:
  return max(
    float(np.max(np.abs(np.asarray(u, np.float64) - np.asarray(v, np.float64))))
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
  )


def float32_differences(windowed, generic, exact) -> dict:
  """Largest parameter differences after training: windowed vs generic
  (both float32), and each vs the float64 generic loop."""
  return {
    "windowed_vs_generic": _max_difference(windowed, generic),
    "generic_vs_float64": _max_difference(generic, exact),
    "windowed_vs_float64": _max_difference(windowed, exact),
    "largest_parameter": max(
      float(np.max(np.abs(v))) for v in jax.tree.leaves(exact)
    ),
  }


def run(
  config: "Config", *, workdir: Path | None = None, log=progress.info
) -> dict:
  """Runs every measurement in this process; returns the benchmark record."""
  del workdir
  num_examples = config.examples
  slow_examples = min(config.numpy_examples, config.examples)
  x, labels = synthetic_data(num_examples)
  flops = training_flops_per_example(SIZES) * num_examples
  peak = matmul_gflops()
  log(f"XLA float32 matmul: {peak:.1f} GFLOP/s")
  baseline = time_numpy(x, labels, examples=slow_examples)
  rows = [Row("(a) numpy, per-example backprop (network2.py)", 1, baseline)]
  log(f"(a) numpy: {baseline:.2f} s/epoch")
  if config.torch:
    seconds = time_torch(x, labels, examples=slow_examples)
    if seconds is None:
      log("PyTorch is not installed: no (b) rows (pip install -e '.[bench]').")
    else:
      rows.append(Row("(b) pytorch eager, 1 model", 1, seconds))
      k = config.torch_models
      per_model = time_torch_vmap(x, labels, examples=slow_examples, models=k)
      rows.append(
        Row(f"(b') pytorch torch.func.vmap, {k} models", k, per_model)
      )
      log(f"(b) pytorch: {seconds:.2f} s/epoch, vmap {per_model:.3f}")

  def lossjax_row(name, models, seconds, compile_seconds):
    gflops = flops / seconds / 1e9
    return Row(
      name, models, seconds, compile_seconds, gflops, None, gflops / peak
    )

  steps = num_examples // BATCH_SIZE
  window = config.window or choose_window(max(config.models), steps)
  differences = {}
  for p in config.pairings:
    tag = f" [{p.name}]" if len(config.pairings) > 1 else ""
    for k in config.models:
      default = choose_window(k, steps)
      count = f"{k} model{'s' * (k > 1)}"
      finals = {}
      for loop, w in (("generic", 0), (f"windowed (window {window})", window)):
        mark = " (default)" if (w == 0) == (default == 0) else ""
        name = f"lossjax {loop}, {count}{mark}{tag}"
        name = ("(c) " if w == 0 else "(d) ") + name
        seconds, compile_seconds, finals[w] = time_lossjax(
          x, labels, models=k, pairing=p, window=w
        )
        rows.append(lossjax_row(name, k, seconds, compile_seconds))
        fraction = rows[-1].fraction_of_matmul_peak
        log(f"{name}: {seconds:.4f} s/model-epoch ({fraction:.0%})")
      exact = generic_float64(x, labels, models=k, pairing=p)
      differences[f"{p.name}, {count}"] = float32_differences(
        finals[window], finals[0], exact
      )
    if 32 in config.models:
      name = f"(c') lossjax generic, 32 models, own batch order each{tag}"
      seconds, compile_seconds, _ = time_lossjax(
        x, labels, models=32, pairing=p, shared_order=False
      )
      rows.append(lossjax_row(name, 32, seconds, compile_seconds))
  limit = flops / (peak * 1e9)
  rows.append(
    Row(
      "(e) compute limit at the measured matmul rate",
      1,
      limit,
      None,
      peak,
      None,
      1.0,
    )
  )
  rows = [
    dataclasses.replace(
      r, speedup_vs_numpy=baseline / r.seconds_per_model_epoch
    )
    for r in rows
  ]
  study_rows = []
  if config.studies:
    # The study trains on as many examples as the loop rows, and evaluates
    # on MNIST's 10,000 validation and 10,000 test images.
    source = study_speed.synthetic_mnist(num_examples)
    study_rows = [
      study_speed.measure(
        name, source, epochs=config.study_epochs, log=log
      ).to_json()
      for name in config.studies
    ]
  return {
    "config": config.to_json(),
    "date": datetime.date.today().isoformat(),
    "machine": platform.processor() or platform.machine(),
    "cpu": _cpu_name(),
    "device": str(jax.devices()[0].device_kind),
    "jax": jax.__version__,
    "network": list(SIZES),
    "batch_size": BATCH_SIZE,
    "examples_per_epoch": num_examples,
    "window": window,
    "training_gflop_per_model_epoch": flops / 1e9,
    "matmul_gflops": peak,
    "rows": [dataclasses.asdict(r) for r in rows],
    "float32_difference_after_one_epoch": differences,
    "study_rows": study_rows,
  }


def _cpu_name() -> str:
  try:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
      if line.startswith("model name"):
        return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or "unknown"


def summary(record: dict) -> str:
  lines = [
    f"{record['date']}, {record['cpu']} ({record['device']}), jax "
    f"{record['jax']}; XLA float32 matmul {record['matmul_gflops']:.1f} GFLOP/s; "
    f"{record['training_gflop_per_model_epoch']:.2f} GFLOP per model-epoch",
    "",
  ]
  lines += results.table_lines(
    [
      "run",
      "models",
      "s / model-epoch",
      "speed-up vs (a)",
      "GFLOP/s",
      "fraction of matmul peak",
      "compile s",
    ],
    (
      [
        r["name"],
        str(r["models"]),
        f"{r['seconds_per_model_epoch']:.4g}",
        f"{r['speedup_vs_numpy']:.1f}x",
        results.format_value(r["gflops"], 3),
        "-"
        if r["fraction_of_matmul_peak"] is None
        else format(r["fraction_of_matmul_peak"], ".0%"),
        results.format_value(r["compile_seconds"], 2),
      ]
      for r in record["rows"]
    ),
  )
  differences = record.get("float32_difference_after_one_epoch", {})
  if differences:
    lines += [
      "",
      "After one epoch in float32, largest parameter difference (largest "
      "parameter in brackets): windowed vs generic loop; each vs the generic "
      "loop in float64.",
      "",
      *results.table_lines(
        [
          "models",
          "windowed vs generic",
          "generic vs float64",
          "windowed vs float64",
        ],
        (
          [
            name,
            f"{d['windowed_vs_generic']:.2g}",
            f"{d['generic_vs_float64']:.2g}",
            f"{d['windowed_vs_float64']:.2g} ({d['largest_parameter']:.2g})",
          ]
          for name, d in differences.items()
        ),
      ),
    ]
  study_rows = record.get("study_rows", [])
  if study_rows:
    lines += [
      "",
      "Each study beside its training loop alone (synthetic data of MNIST's "
      "shape, 3 seeds; the study's mean epoch after its first, its "
      "evaluation included, compilation apart; the loop's mean over as many "
      "epochs after its first):",
      "",
      *results.table_lines(
        [
          "study",
          "models",
          "groups",
          "study s / epoch",
          "loop alone s / epoch",
          "study / loop",
        ],
        (
          [
            r["study"],
            str(r["models"]),
            str(r["groups"]),
            f"{r['study_seconds_per_epoch']:.3g}",
            f"{r['loop_seconds_per_epoch']:.3g}",
            f"{r['ratio']:.2f}",
          ]
          for r in study_rows
        ),
      ),
    ]
  return "\n".join(lines) + "\n"


def write(record: dict, workdir: str | Path) -> list[Path]:
  """benchmark.json (the record and its table) and config.json (the config,
  which ``--config`` repeats)."""
  workdir = Path(workdir)
  record = {**record, "table": summary(record)}
  return [
    results.write_json(workdir / "config.json", {"config": record["config"]}),
    results.write_json(workdir / "benchmark.json", record),
  ]
