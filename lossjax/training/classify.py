"""Training MLP classifiers on image data, several configurations at once.

A *group* is one architecture and one or more pairings; its configurations
(pairings, seeds, learning rates, init scales) share shapes, so they train
as one ``vmap`` in one compiled program, and those of one seed share a
mini-batch order (the windowed loop). :func:`train_group` runs it one epoch
per call of that program and yields the metrics after each epoch, so
callers can print progress and save results as they come.
"""

import dataclasses
import functools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lossjax.core.hidden import resolve_hidden_activation
from lossjax.core.init import INITIALIZERS, init_mlp
from lossjax.core.mlp import Params, mlp_logits_in_chunks
from lossjax.core.pairings import Pairing, resolve_pairing
from lossjax.datasets.data import Dataset
from lossjax.datasets.multilabel import training_targets
from lossjax.metrics.evals import ClassificationEval, MultiLabelEval
from lossjax.output import progress
from lossjax.output.results import json_safe, write_json
from lossjax.training import memory
from lossjax.training.device_data import DeviceData
from lossjax.training.train import train_epochs_many
from lossjax.training.train_state import (
  EvalFn,
  Optimizer,
  TrainState,
  init_opt_states,
)


@dataclasses.dataclass
class TrainingResult:
  """What a study that trains classifier groups returns (compare, saturation).

  ``config``: the study's config; ``rows``: one dict per configuration and
  epoch (``metrics.jsonl``); ``description``: the data that was used.
  """

  config: Any
  rows: list[dict]
  description: str

  def write_config(self, workdir: str | Path) -> Path:
    """``config.json``: the config (``--config`` repeats the run) and data."""
    return write_json(
      Path(workdir) / "config.json",
      {"config": self.config.to_json(), "data": self.description},
    )


@dataclasses.dataclass(frozen=True)
class GroupConfig:
  """The pairings and architecture of a group, and the settings its runs share.

  Every run of a group trains in one compiled program: runs that share a
  seed share a mini-batch order, so a seed's pairings and rates together
  take the windowed loop (:func:`lossjax.train_epochs_many`, a tuple of
  pairings chosen by index).

  Attributes:
    pairings: the group's pairings (names, import strings or
      :class:`lossjax.Pairing` values); each run names one of them.
    hidden: hidden layer sizes, e.g. ``(30,)``.
    init: initialiser name (:data:`lossjax.INITIALIZERS`).
    batch_size: mini-batch size.
    epochs: passes over the training data.
    optimizer: one of :data:`lossjax.OPTIMIZERS`.
    l2: the book's regularisation ``lambda`` (cost ``+ lambda/(2n) sum w^2``).
    window: ``window`` of :func:`lossjax.train_epochs_many` (``None``: the
      library chooses; ``0``: the generic loop).
    hidden_activation: the hidden layers' activation (a name of
      :data:`lossjax.HIDDEN_ACTIVATIONS` or an import string).
  """

  pairings: tuple[Pairing, ...]
  hidden: tuple[int, ...]
  init: str = "large"
  batch_size: int = 10
  epochs: int = 30
  optimizer: str = "sgd"
  l2: float = 0.0
  window: int | None = None
  hidden_activation: str = "sigmoid"

  def __post_init__(self):
    pairings = self.pairings
    if isinstance(pairings, (str, Pairing)):
      pairings = (pairings,)
    pairings = tuple(resolve_pairing(p) for p in pairings)
    if not pairings:
      raise ValueError("a group needs at least one pairing.")
    if len({p.name for p in pairings}) != len(pairings):
      raise ValueError(
        f"a group's pairings must differ: {[p.name for p in pairings]}."
      )
    object.__setattr__(self, "pairings", pairings)
    resolve_hidden_activation(self.hidden_activation)  # fails early
    if self.init not in INITIALIZERS:
      raise ValueError(
        f"Unknown initialiser {self.init!r}; choose from "
        f"{', '.join(INITIALIZERS)}."
      )
    if any(h < 1 for h in self.hidden):
      raise ValueError(f"hidden sizes must be >= 1, got {self.hidden}.")
    if self.epochs < 1 or self.batch_size < 1:
      raise ValueError("epochs and batch_size must be >= 1.")
    if self.l2 < 0:
      raise ValueError(f"l2 must be >= 0, got {self.l2}.")

  def pairing_index(self, run: "RunConfig") -> int:
    """The position of ``run``'s pairing in :attr:`pairings`."""
    if run.pairing is None:
      if len(self.pairings) == 1:
        return 0
      raise ValueError(
        f"run {run} names no pairing, and the group has several: "
        f"{[p.name for p in self.pairings]}."
      )
    names = [p.name for p in self.pairings]
    name = resolve_pairing(run.pairing).name
    if name not in names:
      raise ValueError(f"run {run}: pairing {name!r} is not one of {names}.")
    return names.index(name)

  def pairing_of(self, run: "RunConfig") -> Pairing:
    """``run``'s pairing (the group's only one when the run names none)."""
    return self.pairings[self.pairing_index(run)]


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """What differs between the runs of a group.

  ``pairing``: one of the group's pairings (a name or value); ``None`` for
  a group of one pairing.
  """

  seed: int
  lr: float
  init_scale: float = 1.0
  pairing: Pairing | str | None = None


def init_group(
  config: GroupConfig, runs: Sequence[RunConfig], data: DeviceData
) -> tuple[list[int], Params]:
  """Layer sizes and stacked initial parameters, one row per run.

  A run's initial parameters depend on its seed and scale only, so the
  same seed starts every pairing and rate from the same network. They
  have the inputs' floating type (float32 for the datasets; float64 in the
  exactness tests).
  """
  sizes = [data.num_inputs, *config.hidden, data.num_classes]
  dtype = data.train[0].dtype
  keys = jnp.stack([jax.random.key(r.seed) for r in runs])
  scales = jnp.array([r.init_scale for r in runs], dtype)
  init_keys = jax.vmap(lambda k: jax.random.fold_in(k, 0))(keys)
  params = jax.vmap(
    lambda k, s: init_mlp(config.init, k, sizes, scale=s, dtype=dtype)
  )(init_keys, scales)
  return sizes, params


@dataclasses.dataclass(frozen=True)
class ClassProbabilities:
  """Every run's class probabilities on some evaluation splits, on the
  device, one array ``(runs of the pairing, n, classes)`` per pairing and
  split (what :func:`train_group` computes with ``probabilities=``)."""

  members: dict[int, np.ndarray]  # pairing position -> its runs
  values: dict[int, dict[str, jax.Array]]

  def of(self, split: str, runs: set[int]) -> dict[int, np.ndarray]:
    """The probabilities on ``split`` of each run in ``runs`` (host arrays;
    only the pairings concerned are copied from the device)."""
    out = {}
    for k, members in self.members.items():
      if runs & set(members.tolist()):
        array = np.asarray(self.values[k][split])
        out.update(
          (run, array[j]) for j, run in enumerate(members) if run in runs
        )
    return out


class GroupEpoch(NamedTuple):
  """One epoch of a group: ``rows`` (one metrics dict per run), ``params``
  (every run's parameters after the epoch, stacked in run order) and
  ``probabilities`` (:class:`ClassProbabilities`, or ``None`` unless
  asked for)."""

  rows: list[dict]
  params: Params
  probabilities: ClassProbabilities | None = None


Evaluator = Callable[..., EvalFn]
"""Makes a pairing's ``eval_fn`` as ``evaluator(pairing,
hidden_activation=...)``: :func:`train_group` passes the group's hidden
activation, so the group config is the one place that names it (e.g.
:class:`lossjax.metrics.evals.ClassificationEval`, other settings bound by
``functools.partial``)."""


def default_evaluator(data: DeviceData) -> Evaluator:
  """:class:`lossjax.metrics.evals.ClassificationEval`, or
  :class:`lossjax.metrics.evals.MultiLabelEval` for multi-hot targets."""
  return MultiLabelEval if data.multilabel else ClassificationEval


@dataclasses.dataclass(frozen=True)
class GroupLoop:
  """A group's training program, one epoch per :meth:`epoch` call: what
  :func:`train_group` runs, and what the benchmark times alone.

  Attributes:
    states: the initial :class:`TrainState`, stacked as a grid ``(orders,
      runs per order)`` (:func:`order_grid`).
    train: the training data as the group's pairings train on it.
    pairing_index: each run's pairing position (grid-shaped), or ``None``
      for a group of one pairing.
    options: the loop's static settings (:func:`lossjax.train_epochs_many`).
    grid: the run indices of :attr:`states`, ``(orders, runs per order)``.
    index: each run's pairing position, in run order.
  """

  states: TrainState
  train: tuple[jax.Array, jax.Array]
  pairing_index: jax.Array | None
  options: dict
  grid: np.ndarray
  index: np.ndarray

  def epoch(self, states: TrainState) -> tuple[TrainState, dict]:
    """One epoch of every run (the loop alone, no evaluation)."""
    return train_epochs_many(
      states, self.train, None, self.pairing_index, epochs=1, **self.options
    )

  def in_run_order(self, tree):
    """Grid-shaped leaves ``(orders, per order, ...)`` as ``(runs, ...)``."""
    order = np.argsort(self.grid.reshape(-1))
    return jax.tree.map(lambda v: v.reshape(-1, *v.shape[2:])[order], tree)

  def members(self) -> dict[int, np.ndarray]:
    """Pairing position -> its runs (indices in run order)."""
    return {
      k: np.flatnonzero(self.index == k)
      for k in dict.fromkeys(self.index.tolist())
    }


def group_loop(
  config: GroupConfig, runs: Sequence[RunConfig], data: DeviceData
) -> tuple[Params, GroupLoop]:
  """The runs' initial parameters (in run order) and the group's loop.

  Runs with the same seed share the mini-batch order (``fold_in(seed, 1)``)
  and start from the same network (``fold_in(seed, 0)``), whatever their
  pairing and rate.
  """
  if not runs:
    raise ValueError("a group needs at least one run.")
  index = np.array([config.pairing_index(r) for r in runs])
  train = data.train
  if data.multilabel:  # softmax pairings train on the normalised set
    kinds = {config.pairings[k].kind for k in set(index.tolist())}
    if "multiclass" in kinds and len(kinds) > 1:
      raise ValueError(
        "on multi-label data a group's pairings must share their training "
        "targets: train 'multiclass' pairings (normalised targets) and the "
        "others in separate groups."
      )
    train = (train[0], training_targets(kinds.pop(), train[1]))
  _, params = init_group(config, runs, data)
  n_train = data.train[0].shape[0]
  optimizer = Optimizer(config.optimizer, weight_decay=config.l2 / n_train)
  grid = order_grid(runs)
  shuffle_keys = jnp.stack(
    [jax.random.fold_in(jax.random.key(runs[i].seed), 1) for i in grid[:, 0]]
  )
  dtype = data.train[0].dtype
  lrs = jnp.array([[runs[i].lr for i in row] for row in grid], dtype)
  stacked = jax.tree.map(lambda v: v[grid], params)
  opt_state = init_opt_states(stacked, lrs, optimizer=optimizer)
  several = len(config.pairings) > 1
  loop = GroupLoop(
    states=TrainState(stacked, opt_state, shuffle_keys),
    train=train,
    pairing_index=jnp.asarray(index[grid]) if several else None,
    options=dict(
      pairing=config.pairings if several else config.pairings[0],
      batch_size=config.batch_size,
      optimizer=optimizer,
      window=config.window,
      hidden_activation=config.hidden_activation,
    ),
    grid=grid,
    index=index,
  )
  return params, loop


def train_group(
  config: GroupConfig,
  runs: Sequence[RunConfig],
  data: DeviceData,
  *,
  evaluator: Evaluator | None = None,
  probabilities: Sequence[str] = (),
) -> Iterator[GroupEpoch]:
  """Trains every run of a group together; yields results epoch by epoch.

  The first yield is epoch 0 (before training). Each yield's ``rows`` has
  one dict per run: ``epoch``, ``train_cost`` (mean mini-batch cost over the
  epoch), ``grad_norm`` (per layer, mean over the epoch's steps), and the
  entries of the run's pairing's evaluator (``evaluator(pairing,
  hidden_activation=config.hidden_activation)``; default
  :func:`default_evaluator`). Multi-hot targets train every pairing of
  kind ``"multiclass"`` on normalised targets
  (:func:`lossjax.datasets.multilabel.training_targets`), so a group of multi-label
  data holds pairings of one target normalisation.

  ``probabilities``: splits of ``data.eval`` on which each yield carries
  every run's class probabilities
  (:meth:`lossjax.Pairing.class_probabilities`, :class:`ClassProbabilities`),
  computed in the evaluation's program from the same forward pass.

  Training runs as one program; the evaluation after each epoch is one
  program per pairing over that pairing's runs, outside the training loop,
  so the loop compiles once for all pairings whatever they measure.
  """
  params, loop = group_loop(config, runs, data)
  make_eval = evaluator or default_evaluator(data)
  members = loop.members()
  evaluators = {
    k: make_eval(config.pairings[k], hidden_activation=config.hidden_activation)
    for k in members
  }
  kept = {
    k: _Probabilities(
      config.pairings[k], config.hidden_activation, tuple(probabilities)
    )
    for k in members
  }

  def evaluate(params) -> tuple[list[dict], ClassProbabilities | None]:
    """Every run's evaluation metrics, in run order (host values), and the
    class probabilities asked for (device values)."""
    parts = {
      k: _evaluate_many(
        evaluators[k],
        kept[k],
        jax.tree.map(lambda v, i=i: v[i], params),
        data.eval,
      )
      for k, i in members.items()
    }
    metrics = jax.device_get({k: part[0] for k, part in parts.items()})
    per_run: list[dict] = [{} for _ in runs]
    for k, i in members.items():
      for j, run in enumerate(i):
        per_run[run] = {name: v[j] for name, v in metrics[k].items()}
    values = {k: part[1] for k, part in parts.items()}
    return per_run, (
      ClassProbabilities(members, values) if probabilities else None
    )

  with progress.phase("evaluate"):
    evaluated, kept_now = evaluate(params)
    initial = _rows(0, None, evaluated)
  yield GroupEpoch(initial, params, kept_now)
  states = loop.states
  for epoch in range(1, config.epochs + 1):
    with progress.phase("train"):
      states, history = loop.epoch(states)
      in_run_order = loop.in_run_order(states.params)
      trained = jax.device_get(loop.in_run_order(history))
    with progress.phase("evaluate"):
      evaluated, kept_now = evaluate(in_run_order)
      rows = _rows(epoch, trained, evaluated)
    yield GroupEpoch(rows, in_run_order, kept_now)


def order_grid(runs: Sequence[RunConfig]) -> np.ndarray:
  """Run indices as a grid ``(orders, runs per order)``.

  Runs with the same seed see the same mini-batch order; when every seed has
  equally many runs, each row holds one seed's runs, so they train as one
  windowed group (see :func:`lossjax.training.train.train_epochs_many`). Otherwise
  every run is its own row.
  """
  by_seed: dict[int, list[int]] = {}
  for i, run in enumerate(runs):
    by_seed.setdefault(run.seed, []).append(i)
  if len({len(rows) for rows in by_seed.values()}) == 1:
    return np.array(list(by_seed.values()))
  return np.arange(len(runs))[:, None]


@dataclasses.dataclass(frozen=True)
class _Probabilities:
  """A run's class probabilities on ``splits`` (a value: the evaluation
  program is compiled once per setting)."""

  pairing: Pairing
  hidden_activation: str
  splits: tuple[str, ...]

  def __call__(self, params: Params, data) -> dict[str, jax.Array]:
    return {
      split: self.pairing.class_probabilities(
        mlp_logits_in_chunks(
          params, data[split][0], activation=self.hidden_activation
        )
      )
      for split in self.splits
    }


@functools.partial(jax.jit, static_argnums=(0, 1))
def _evaluate_many(evaluate, probabilities, params, data):
  # One program for both: XLA computes their common forward pass once.
  def one(p):
    return evaluate(p, data), probabilities(p, data)

  return jax.vmap(one)(params)


def _rows(epoch, trained, evaluated: Sequence[dict]) -> list[dict]:
  """One row per run: the epoch's training record (``trained``: the loop's
  history, one epoch; ``None`` before training) and the run's evaluation."""
  rows = []
  for i, metrics in enumerate(evaluated):
    row = {
      "epoch": epoch,
      "train_cost": None,
      "grad_norm": None,
      "bias_grad_norm": None,
    }
    if trained is not None:
      row["train_cost"] = np.asarray(trained["cost"][i][0]).tolist()
      for name in ("grad_norm", "bias_grad_norm"):
        row[name] = np.asarray(trained[name][i][0]).tolist()
    for name, value in metrics.items():
      row[name] = np.asarray(value).tolist()
    rows.append(json_safe(row))
  return rows


def check_memory(
  groups: Sequence[tuple[GroupConfig, Sequence[RunConfig]]],
  dataset: Dataset,
  *,
  fix: str = (
    "Give narrower or fewer --hidden layers, fewer --seeds, --lrs or "
    "--pairings, or a smaller --eval_size."
  ),
  available: int | None = None,
) -> None:
  """``ValueError`` with the estimate and the fix when a group of
  ``groups`` would not fit in the device's memory with ``dataset`` (a
  :class:`lossjax.datasets.data.Dataset`) on it; ``fix`` says which flags make it
  smaller. See :mod:`lossjax.training.memory`."""
  splits = (dataset.train, dataset.validation, dataset.test)
  data_values = sum(s.images.size + s.labels.size for s in splits)
  examples = max(len(dataset.validation), len(dataset.test))
  for group, runs in groups:
    sizes = (dataset.train.images.shape[1], *group.hidden, dataset.num_classes)
    memory.check_fits(
      memory.group_bytes(
        sizes, len(runs), examples=examples, data_values=data_values
      ),
      f"Training {len(runs)} networks of layer sizes {list(sizes)} "
      f"({memory.parameter_count(sizes):,} parameters each) together",
      fix,
      available=available,
    )
