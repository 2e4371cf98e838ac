"""Throughput of training the book's network: NumPy loop versus lossjax.

Times one epoch of mini-batch SGD (batch 10) for the book's MNIST-size
network [784, 30, 10] on synthetic data of MNIST's shape: (a) plain NumPy
with per-example backprop, as the book's network2.py does (sigmoid +
cross-entropy); (b) PyTorch eager, if installed; (c) lossjax, one model;
(d) lossjax, K models in one vmapped call, for each pairing given. It also
measures the machine's float32 matrix-multiply throughput with XLA and
reports (c) and (d) as a fraction of it. Every row is compared with (a)
from the same process.
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
from lossjax import results
from lossjax.init import init_mlp
from lossjax.pairings import Pairing
from lossjax.reference_numpy import NumpyNetwork
from lossjax.train import fit_many

# network2.py's CrossEntropyCost with sigmoid outputs: the rows without a tag.
DEFAULT_PAIRING = "sigmoid_bce"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  pairings: tuple[Pairing, ...] = cfg.pairings_field((DEFAULT_PAIRING,))
  examples: int = cfg.field(
    50_000, "Examples per epoch.", check=cfg.at_least(10)
  )
  numpy_examples: int = cfg.field(
    2_000,
    "Examples the slow baselines are timed on (scaled to a full epoch).",
    check=cfg.at_least(10),
  )
  models: tuple[int, ...] = cfg.field(
    (8, 32, 128),
    "K for the vmapped rows.",
    check=cfg.all_of(cfg.nonempty_unique, cfg.each(cfg.at_least(1))),
  )
  torch: bool = cfg.field(True, "Include PyTorch eager when installed.")


PRESETS = {}


SIZES = (784, 30, 10)
LEARNING_RATE = 0.5


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


def _best_time(fn, repeats: int) -> float:
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - start)
  return best


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
  """Float32 matrix-multiply throughput of XLA on the default device."""
  a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
  b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
  matmul = jax.jit(jnp.matmul)
  matmul(a, b).block_until_ready()
  seconds = _best_time(lambda: matmul(a, b).block_until_ready(), repeats)
  return 2 * n**3 / seconds / 1e9


def synthetic_data(num_examples: int, seed: int = 0):
  rng = np.random.default_rng(seed)
  x = rng.uniform(size=(num_examples, SIZES[0])).astype(np.float32)
  labels = rng.integers(0, SIZES[-1], num_examples).astype(np.int32)
  return x, labels


def time_numpy(x, labels, *, examples: int) -> float:
  """Seconds per epoch of ``len(x)`` examples, timed on ``examples`` of them."""
  net = NumpyNetwork(list(SIZES))
  one_hot = np.eye(SIZES[-1])[labels[:examples]]
  rng = np.random.default_rng(0)
  seconds = _best_time(
    lambda: net.sgd_epoch(
      x[:examples].astype(np.float64),
      one_hot,
      batch_size=10,
      eta=LEARNING_RATE,
      rng=rng,
    ),
    repeats=2,
  )
  return seconds * len(x) / examples


def time_torch(x, labels, *, examples: int) -> float | None:
  """Seconds per epoch with PyTorch eager, or None if it is not installed."""
  try:
    import torch
  except ImportError:
    return None
  torch.manual_seed(0)
  model = torch.nn.Sequential(
    torch.nn.Linear(SIZES[0], SIZES[1]),
    torch.nn.Sigmoid(),
    torch.nn.Linear(SIZES[1], SIZES[2]),
  )
  optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
  xs = torch.from_numpy(x[:examples])
  ys = torch.nn.functional.one_hot(
    torch.from_numpy(labels[:examples]).long(), SIZES[-1]
  ).float()

  def epoch():
    for start in range(0, examples - 9, 10):
      optimizer.zero_grad()
      logits = model(xs[start : start + 10])
      cost = (
        torch.nn.functional.binary_cross_entropy_with_logits(
          logits, ys[start : start + 10], reduction="sum"
        )
        / 10
      )
      cost.backward()
      optimizer.step()

  seconds = _best_time(epoch, repeats=2)
  return seconds * len(x) / examples


@functools.partial(
  jax.jit, static_argnames=("models", "shared_order", "pairing")
)
def _train_models(x, labels, *, models, shared_order, pairing):
  keys = jax.random.split(jax.random.key(0), models)
  params = jax.vmap(lambda k: init_mlp("normalized", k, SIZES))(keys)
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
    batch_size=10,
  )
  return final


def time_lossjax(
  x, labels, *, models: int, pairing: Pairing, shared_order: bool = True
):
  """(seconds per model-epoch, compile seconds) for K models in one vmap."""
  x, labels = jnp.asarray(x), jnp.asarray(labels)
  start = time.perf_counter()
  compiled = _train_models.lower(
    x, labels, models=models, shared_order=shared_order, pairing=pairing
  ).compile()
  compile_seconds = time.perf_counter() - start
  run = lambda: jax.block_until_ready(compiled(x, labels))  # noqa: E731
  run()  # warm-up: first-call allocations
  seconds = _best_time(run, repeats=2)
  return seconds / models, compile_seconds


def run(config: "Config", *, workdir: Path | None = None, log=print) -> dict:
  """Runs every measurement in this process; returns the benchmark record."""
  del workdir
  num_examples = config.examples
  numpy_examples = min(config.numpy_examples, config.examples)
  model_counts = config.models
  x, labels = synthetic_data(num_examples)
  flops = training_flops_per_example(SIZES) * num_examples
  peak = matmul_gflops()
  log(f"XLA float32 matmul: {peak:.1f} GFLOP/s")
  baseline = time_numpy(x, labels, examples=numpy_examples)
  rows = [Row("(a) numpy, per-example backprop (network2.py)", 1, baseline)]
  log(f"(a) numpy: {baseline:.2f} s/epoch")
  torch_seconds = (
    time_torch(x, labels, examples=numpy_examples) if config.torch else None
  )
  if torch_seconds is not None:
    rows.append(Row("(b) pytorch eager", 1, torch_seconds))
  measured = []
  for p in config.pairings:
    tag = f" [{p.name}]" if len(config.pairings) > 1 else ""
    measured.append((f"(c) lossjax, 1 model{tag}", 1, True, p))
    measured += [
      (f"(d) lossjax vmap, {k} models{tag}", k, True, p) for k in model_counts
    ]
    if 32 in model_counts:
      measured.append(
        (
          f"(d') lossjax vmap, 32 models, own batch order each{tag}",
          32,
          False,
          p,
        )
      )
  for name, models, shared, pairing in measured:
    seconds, compile_seconds = time_lossjax(
      x, labels, models=models, pairing=pairing, shared_order=shared
    )
    gflops = flops / seconds / 1e9
    rows.append(
      Row(name, models, seconds, compile_seconds, gflops, None, gflops / peak)
    )
    log(f"{name}: {seconds:.4f} s/model-epoch, compile {compile_seconds:.1f}s")
  rows = [
    dataclasses.replace(
      r, speedup_vs_numpy=baseline / r.seconds_per_model_epoch
    )
    for r in rows
  ]
  return {
    "date": datetime.date.today().isoformat(),
    "machine": platform.processor() or platform.machine(),
    "cpu": _cpu_name(),
    "device": str(jax.devices()[0].device_kind),
    "jax": jax.__version__,
    "network": list(SIZES),
    "batch_size": 10,
    "examples_per_epoch": num_examples,
    "training_gflop_per_model_epoch": flops / 1e9,
    "matmul_gflops": peak,
    "rows": [dataclasses.asdict(r) for r in rows],
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
    "| run | models | s / model-epoch | speed-up vs (a) | GFLOP/s | "
    "fraction of matmul peak | compile s |",
    "|---|---|---|---|---|---|---|",
  ]
  for r in record["rows"]:
    lines.append(
      f"| {r['name']} | {r['models']} | {r['seconds_per_model_epoch']:.4g} | "
      f"{r['speedup_vs_numpy']:.1f}x | "
      f"{results.format_value(r['gflops'], 3)} | "
      f"{'-' if r['fraction_of_matmul_peak'] is None else format(r['fraction_of_matmul_peak'], '.0%')} | "
      f"{results.format_value(r['compile_seconds'], 2)} |"
    )
  return "\n".join(lines) + "\n"


def write(record: dict, workdir: str | Path) -> list[Path]:
  record = {**record, "table": summary(record)}
  return [results.write_json(Path(workdir) / "benchmark.json", record)]
