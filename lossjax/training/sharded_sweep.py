"""Sweeps: grids of configurations trained in vmapped, sharded, resumable chunks.

A sweep is the product ``pairings x seeds x init_scales x learning rates``.
Each pairing's configurations are cut into chunks; a chunk trains as one
``vmap`` inside one ``jit`` whose configuration axis is sharded over a
``Mesh`` of every device JAX sees (one CPU, several GPUs, a TPU slice, or the
devices of several processes after ``jax.distributed.initialize``). Each
finished chunk is written atomically to ``chunks/`` and skipped when the same
sweep runs again, so an interrupted sweep resumes where it stopped.
"""

import dataclasses
import functools
import itertools
import math
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from lossjax import config as cfg
from lossjax import config_fields
from lossjax.core.init import init_mlp
from lossjax.core.neuron import check_single_output_pairings
from lossjax.core.pairings import Pairing
from lossjax.datasets.data import DataConfig, check_batch_size
from lossjax.metrics.evals import NeuronEval, ValidationEval
from lossjax.output import progress, results, run_folder
from lossjax.training.sweep_result import (
  SweepResult,
  chunk_path,
  load_chunk,
  save_chunk,
)
from lossjax.training.train import fit_many
from lossjax.training.train_state import OPTIMIZERS, Optimizer

TASKS = ("neuron", "mlp")
CONFIG_AXIS = "config"


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepSpec(cfg.Config):
  """A whole study: the grid, the task and how to train it (see field help)."""

  task: str = cfg.field(
    "neuron",
    "neuron: the seed's single neuron (--x, --y); mlp: an MLP classifier on "
    "the data flags.",
    choices=tuple(TASKS),
  )
  pairings: tuple[Pairing, ...] = config_fields.pairings_field(
    ("sigmoid_mse", "sigmoid_bce"), "The neuron task needs binary pairings."
  )
  init_scales: tuple[float, ...] = cfg.field(
    (0.0, 1.0, 2.0),
    "Init scales: neuron w=b=v; mlp multiplies the initialiser.",
    check=cfg.all_of(cfg.nonempty_unique, cfg.each(cfg.finite)),
  )
  lrs: tuple[float, ...] = dataclasses.field(
    default=(0.15,),
    metadata={
      "help": "Learning rates (the grid; every pairing trains with each).",
      "parse": cfg.list_parser(cfg.number_parser(float)),
      "check": cfg.all_of(cfg.nonempty_unique, cfg.each(cfg.positive)),
      "aliases": ("lr",),
    },
  )
  seeds: tuple[int, ...] = config_fields.seeds_field()
  epochs: int = config_fields.epochs_field(300)
  target_error: float = cfg.field(
    0.1,
    "epochs_to_target is the first epoch whose error is below this: the "
    "output error |a - y| for the neuron, the validation classification "
    "error (1 - accuracy) for an MLP. One quantity for every pairing (a cost "
    "threshold of 0.05 means a < 0.32 for the quadratic cost but a < 0.05 "
    "for cross-entropy).",
    check=cfg.positive,
  )
  divergence_cost: float = cfg.field(
    1e6,
    "A configuration has diverged at the first epoch whose cost is NaN, inf "
    "or above this.",
    check=cfg.positive,
  )
  chunk_size: int = cfg.field(
    64,
    "Configurations per compiled call (rounded up to a multiple of the "
    "device count); lower it if a chunk does not fit in memory.",
    check=cfg.at_least(1),
  )
  optimizer: str = cfg.field(
    "sgd", "Optax optimiser.", choices=tuple(OPTIMIZERS)
  )
  x: float = cfg.field(1.0, "neuron: the input.", check=cfg.finite)
  y: float = cfg.field(0.0, "neuron: the target, in [0, 1].", check=cfg.finite)
  data: DataConfig = DataConfig(eval_size=2000)
  hidden: tuple[int, ...] = cfg.field(
    (30,),
    "mlp: hidden sizes joined by 'x', e.g. 100x30.",
    parse=config_fields._parse_architecture,
    format=config_fields.architecture_text,
    check=cfg.each(cfg.at_least(1)),
  )
  init: str = config_fields.init_field()
  hidden_activation: str = config_fields.hidden_activation_field()
  batch_size: int = cfg.field(
    10, "mlp: mini-batch size.", check=cfg.at_least(1)
  )
  window: int | None = config_fields.window_field()

  def validate(self):
    if self.task == "neuron":
      check_single_output_pairings(self.pairings)
      if not 0.0 <= self.y <= 1.0:
        raise ValueError(f"y: the target must lie in [0, 1], got {self.y}.")

  # How the results are scheduled, drawn and computed (equal up to
  # round-off), not what they are.
  NOT_IN_FINGERPRINT = ("chunk_size", "heatmap_metric", "window")

  def identity(self) -> dict:
    """The fingerprinted fields, without those the task does not read."""
    fields = super().identity()
    if self.task == "neuron":  # the MLP fields do not affect a neuron sweep
      for name in (
        "data",
        "hidden",
        "init",
        "hidden_activation",
        "batch_size",
      ):
        fields.pop(name)
    else:
      for name in ("x", "y"):
        fields.pop(name)
    return fields

  def target_text(self) -> str:
    """What ``epochs_to_target`` waits for, e.g. ``|a - y| < 0.1``."""
    if self.task == "neuron":
      return f"|a - y| < {self.target_error:g}"
    return f"validation error < {self.target_error:g}"

  def reached_target(self, arrays: dict) -> np.ndarray:
    """Per configuration and epoch, whether the target is reached (the
    output error for the neuron, the validation error for an MLP)."""
    error = self.traced_error(arrays)
    with np.errstate(invalid="ignore"):
      return np.isfinite(error) & (error < self.target_error)

  def traced_error(self, arrays: dict) -> np.ndarray:
    """What ``target_error`` bounds, per configuration and epoch: |a - y|
    of the neuron, or an MLP's validation error (1 - accuracy)."""
    if self.task == "neuron":
      return np.abs(arrays["output"] - self.y)
    return 1 - arrays["accuracy"]

  def grid(self) -> list[tuple[int, float, float]]:
    """``(seed, init_scale, lr)`` of every configuration of a pairing.

    Seed-major order: a chunk then usually holds one seed, whose
    configurations can share one mini-batch order (see ``fit_many``).
    """
    return list(itertools.product(self.seeds, self.init_scales, self.lrs))


# ----------------------------------------------------------------------------
# Tasks: what is trained and how it is measured.


@dataclasses.dataclass(frozen=True)
class Problem:
  """Host arrays and settings for one task; shared by every chunk."""

  sizes: tuple[int, ...]
  init: str
  hidden_activation: str
  x: np.ndarray
  targets: np.ndarray
  eval_data: tuple[np.ndarray, np.ndarray]
  batch_size: int | None
  metrics: tuple[str, ...]


def make_problem(spec: SweepSpec) -> Problem:
  """Loads the data a sweep trains on (the dataset for ``"mlp"``)."""
  if spec.task == "neuron":
    x = np.full((1, 1), spec.x, np.float32)
    y = np.full((1, 1), spec.y, np.float32)
    return Problem(
      (1, 1), "constant", "sigmoid", x, y, (x, y), None, ("cost", "output")
    )  # no hidden layer: the activation is never applied
  dataset = spec.data.load()
  validation = (dataset.validation.images, dataset.validation.labels)
  return Problem(
    sizes=(dataset.train.images.shape[1], *spec.hidden, dataset.num_classes),
    init=spec.init,
    hidden_activation=spec.hidden_activation,
    x=dataset.train.images,
    targets=dataset.train.labels,
    eval_data=validation,
    batch_size=check_batch_size(spec.batch_size, len(dataset.train)),
    metrics=("cost", "accuracy"),
  )


def sweep_eval(task: str, pairing: Pairing, hidden_activation: str):
  """Per-epoch measurement of a task (values: equal ones share a compile)."""
  if task == "neuron":
    return NeuronEval(pairing)
  return ValidationEval(pairing, hidden_activation=hidden_activation)


_CHUNK_STATIC = (
  "sizes",
  "init",
  "pairing",
  "epochs",
  "batch_size",
  "optimizer",
  "eval_fn",
  "shared_order",
  "window",
  "hidden_activation",
)


@functools.partial(jax.jit, static_argnames=_CHUNK_STATIC)
def _train_chunk(
  seeds,
  scales,
  lrs,
  x,
  targets,
  eval_data,
  *,
  sizes,
  init,
  pairing,
  epochs,
  batch_size,
  optimizer,
  eval_fn,
  shared_order,
  window,
  hidden_activation,
):
  keys = jax.vmap(jax.random.key)(seeds)
  params = jax.vmap(
    lambda k, s: init_mlp(init, jax.random.fold_in(k, 0), sizes, scale=s)
  )(keys, scales)
  if shared_order:
    order_keys = jax.random.fold_in(jax.random.key(seeds[0]), 1)
  else:
    order_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
  _, history = fit_many(
    params,
    (x, targets),
    order_keys,
    eval_data,
    learning_rates=lrs,
    pairing=pairing,
    epochs=epochs,
    batch_size=batch_size,
    optimizer=Optimizer(optimizer),
    eval_fn=eval_fn,
    window=window,
    hidden_activation=hidden_activation,
  )
  return history


# ----------------------------------------------------------------------------
# Devices.


def config_mesh() -> Mesh:
  """A 1-D mesh over every device (all processes'), axis ``"config"``."""
  return Mesh(np.array(jax.devices()), (CONFIG_AXIS,))


def _global_array(host: np.ndarray, sharding: NamedSharding) -> jax.Array:
  """A global array from a host array every process holds in full."""
  return jax.make_array_from_callback(host.shape, sharding, lambda i: host[i])


def _to_host(tree):
  if jax.process_count() > 1:
    return multihost_utils.process_allgather(tree, tiled=True)
  return jax.device_get(tree)


class ProblemOnDevices:
  """A problem's data replicated on every device of a mesh (moved once)."""

  def __init__(self, problem: Problem, mesh: Mesh):
    replicated = NamedSharding(mesh, PartitionSpec())
    self.mesh = mesh
    self.configs = NamedSharding(mesh, PartitionSpec(CONFIG_AXIS))
    self.x = _global_array(problem.x, replicated)
    self.targets = _global_array(problem.targets, replicated)
    self.eval_data = tuple(
      _global_array(a, replicated) for a in problem.eval_data
    )
    self.problem = problem


def train_configs(
  on_devices: ProblemOnDevices,
  spec: SweepSpec,
  pairing: str,
  configs: Sequence[tuple[int, float, float]],
  *,
  padded_size: int | None = None,
) -> dict[str, np.ndarray]:
  """Trains ``configs`` (seed, init_scale, lr) as one sharded, vmapped call.

  The list is padded (repeating the last configuration) to ``padded_size``,
  or to a multiple of the device count, and the padding dropped from the
  result. Padding every chunk to one size keeps one compiled program.

  Returns:
    Host arrays ``seed``, ``init_scale``, ``lr`` (``(m,)``) and one
    ``(m, epochs + 1)`` array per metric (epoch 0 is the initial state).
  """
  problem = on_devices.problem
  num_devices = on_devices.mesh.size
  size = padded_size or math.ceil(len(configs) / num_devices) * num_devices
  if size % num_devices or size < len(configs):
    raise ValueError(
      f"padded_size={size} must be a multiple of the {num_devices} devices "
      f"and at least the {len(configs)} configurations."
    )
  padded = list(configs) + [configs[-1]] * (size - len(configs))
  seeds, scales, lrs = (np.array(c) for c in zip(*padded, strict=True))

  def shard(values, dtype):
    return _global_array(values.astype(dtype), on_devices.configs)

  history = _train_chunk(
    shard(seeds, np.uint32),
    shard(scales, np.float32),
    shard(lrs, np.float32),
    on_devices.x,
    on_devices.targets,
    on_devices.eval_data,
    sizes=problem.sizes,
    init=problem.init,
    pairing=pairing,
    epochs=spec.epochs,
    batch_size=problem.batch_size,
    optimizer=spec.optimizer,
    eval_fn=sweep_eval(spec.task, pairing, problem.hidden_activation),
    shared_order=len(set(seeds.tolist())) == 1,
    window=spec.window,
    hidden_activation=problem.hidden_activation,
  )
  history = _to_host({m: history[m] for m in problem.metrics})
  m = len(configs)
  out = {
    "seed": seeds[:m].astype(np.int64),
    "init_scale": scales[:m].astype(np.float64),
    "lr": lrs[:m].astype(np.float64),
  }
  out.update({k: np.asarray(v[:m], np.float64) for k, v in history.items()})
  return out


# ----------------------------------------------------------------------------
# Running.


def prepare_workdir(workdir: Path, spec: SweepSpec, *, overwrite: bool) -> None:
  """Refuses to mix two sweeps' results; with ``overwrite``, clears the old
  (:func:`lossjax.output.run_folder.check`, the protocol of every study).

  Called once the sweep's inputs are all checked (data loaded), so a bad
  command never touches earlier results. A ``config.json`` without any
  finished chunk (a run that failed before its first result) is no reason
  to refuse.
  """
  aside = run_folder.check(workdir, spec, overwrite=overwrite)
  if aside is not None:
    shutil.rmtree(aside)
  # Temporary files of writes that a kill interrupted (never renamed into
  # place, so never taken for results): remove them.
  for stale in (workdir / "chunks").glob("*/.*.npz.*"):
    stale.unlink()


def record_sweep(workdir: Path, spec: SweepSpec) -> None:
  """Writes ``sweep.json`` (the grid and its fingerprint, which a rerun
  compares) and ``config.json`` (the config, which ``--config`` repeats),
  with the first result, not before."""
  results.write_json(workdir / "config.json", {"config": spec.to_json()})
  results.write_json(
    workdir / "sweep.json",
    {"fingerprint": spec.fingerprint(), **spec.to_json()},
  )


def run_sweep(
  spec: SweepSpec,
  workdir: str | Path,
  *,
  overwrite: bool = False,
  log: Callable[[str], None] = progress.info,
  problem: Problem | None = None,
) -> SweepResult:
  """Trains every configuration not already in ``workdir``; returns them all.

  Every process of a multi-process run calls this with the same arguments;
  process 0 reads and writes ``workdir`` and tells the others which chunks
  are done.
  """
  workdir = Path(workdir)
  is_main = jax.process_index() == 0
  problem = problem or make_problem(spec)  # loads and checks the data first
  if is_main:
    prepare_workdir(workdir, spec, overwrite=overwrite)
  mesh = config_mesh()
  on_devices = ProblemOnDevices(problem, mesh)
  grid = spec.grid()
  chunk = math.ceil(min(spec.chunk_size, len(grid)) / mesh.size) * mesh.size
  plan = [
    (pairing, index, grid[start : start + chunk])
    for pairing in spec.pairings
    for index, start in enumerate(range(0, len(grid), chunk))
  ]
  loaded = [
    load_chunk(chunk_path(workdir, p, i), c, spec, problem.metrics)
    if is_main
    else None
    for p, i, c in plan
  ]
  done = np.array([a is not None for a in loaded])
  if jax.process_count() > 1:
    done = np.asarray(multihost_utils.broadcast_one_to_all(done))
  todo = int((~done).sum())
  log(
    f"sweep {spec.fingerprint()}: {len(grid)} configurations x "
    f"{len(spec.pairings)} pairings in {len(plan)} chunks of <= {chunk} on "
    f"{mesh.size} device(s) ({jax.process_count()} process(es)); "
    f"{len(plan) - todo} chunks already done, {todo} to train"
  )
  start = time.perf_counter()
  trained = 0
  for k, (pairing, index, configs) in enumerate(plan):
    if done[k]:
      continue
    chunk_start = time.perf_counter()
    with progress.phase("train"):  # timing.json: its compilation apart
      arrays = train_configs(
        on_devices, spec, pairing, configs, padded_size=chunk
      )
    if is_main:
      if trained == 0:
        record_sweep(workdir, spec)
      save_chunk(chunk_path(workdir, pairing, index), arrays)
    loaded[k] = arrays
    trained += 1
    elapsed = time.perf_counter() - start
    eta = elapsed / trained * (todo - trained)
    log(
      f"  [{pairing.name}] chunk {index + 1} ({len(configs)} configs) in "
      f"{time.perf_counter() - chunk_start:.1f}s; {trained}/{todo} trained, "
      f"about {eta:.0f}s left"
    )
  arrays = {}
  if is_main:
    if not trained:  # every chunk reused: a record from before config.json
      record_sweep(workdir, spec)
    for pairing in spec.pairings:
      parts = [
        a for (p, _, _), a in zip(plan, loaded, strict=True) if p == pairing
      ]
      arrays[pairing.name] = {
        k: np.concatenate([part[k] for part in parts]) for k in parts[0]
      }
  return SweepResult(spec, arrays, trained, len(plan) - todo)
