"""Training MLP classifiers on image data, several configurations at once.

A *group* is one pairing and one architecture; its configurations (seeds,
learning rates, init scales) share shapes, so they train as one ``vmap`` in
one compiled program. :func:`train_group` runs it one epoch per call of that
program and yields the metrics after each epoch, so callers can print
progress and save results as they come.
"""

import dataclasses
import functools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lossjax.data import Dataset
from lossjax.evals import ClassificationEval, MultiLabelEval
from lossjax.hidden import resolve_hidden_activation
from lossjax.init import INITIALIZERS, init_mlp
from lossjax.mlp import Params
from lossjax.multilabel import training_targets
from lossjax.pairings import Pairing, resolve_pairing
from lossjax.results import json_safe, write_json
from lossjax.train import train_epochs_many
from lossjax.train_state import Optimizer, TrainState, init_opt_states


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
class DeviceData:
  """A dataset's splits as device arrays (moved once, shared by all runs).

  ``eval`` holds ``validation`` and ``test``, and with label noise
  ``mislabelled``: the training examples whose label was corrupted, with
  that wrong label (what :class:`lossjax.evals.ClassificationEval` reads
  for ``memorised``).
  """

  train: tuple[jax.Array, jax.Array]
  eval: dict[str, tuple[jax.Array, jax.Array]]
  num_inputs: int
  num_classes: int

  @property
  def multilabel(self) -> bool:
    """Whether the targets are multi-hot vectors (:mod:`lossjax.multilabel`)."""
    return self.train[1].ndim == 2

  @classmethod
  def from_dataset(cls, dataset: Dataset) -> "DeviceData":
    def put(split):
      return jnp.asarray(split.images), jnp.asarray(split.labels)

    evals = {"validation": put(dataset.validation), "test": put(dataset.test)}
    wrong = dataset.mislabelled()
    if wrong.size:
      evals["mislabelled"] = (
        jnp.asarray(dataset.train.images[wrong]),
        jnp.asarray(dataset.train.labels[wrong]),
      )
    return cls(
      train=put(dataset.train),
      eval=evals,
      num_inputs=dataset.train.images.shape[1],
      num_classes=dataset.num_classes,
    )


@dataclasses.dataclass(frozen=True)
class GroupConfig:
  """One pairing and architecture, and the settings its runs share.

  Attributes:
    pairing: a pairing (name, import string or :class:`lossjax.Pairing`).
    hidden: hidden layer sizes (sigmoid units), e.g. ``(30,)``.
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

  pairing: Pairing
  hidden: tuple[int, ...]
  init: str = "large"
  batch_size: int = 10
  epochs: int = 30
  optimizer: str = "sgd"
  l2: float = 0.0
  window: int | None = None
  hidden_activation: str = "sigmoid"

  def __post_init__(self):
    object.__setattr__(self, "pairing", resolve_pairing(self.pairing))
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


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """What differs between the runs of a group."""

  seed: int
  lr: float
  init_scale: float = 1.0


def init_group(
  config: GroupConfig, runs: Sequence[RunConfig], data: DeviceData
) -> tuple[list[int], Params]:
  """Layer sizes and stacked initial parameters, one row per run."""
  sizes = [data.num_inputs, *config.hidden, data.num_classes]
  keys = jnp.stack([jax.random.key(r.seed) for r in runs])
  scales = jnp.array([r.init_scale for r in runs], jnp.float32)
  init_keys = jax.vmap(lambda k: jax.random.fold_in(k, 0))(keys)
  params = jax.vmap(lambda k, s: init_mlp(config.init, k, sizes, scale=s))(
    init_keys, scales
  )
  return sizes, params


class GroupEpoch(NamedTuple):
  """One epoch of a group: ``rows`` (one metrics dict per run) and
  ``params`` (every run's parameters after the epoch, stacked in run
  order)."""

  rows: list[dict]
  params: Params


def train_group(
  config: GroupConfig,
  runs: Sequence[RunConfig],
  data: DeviceData,
  *,
  eval_fn=None,
) -> Iterator[GroupEpoch]:
  """Trains every run of a group together; yields results epoch by epoch.

  The first yield is epoch 0 (before training). Each yield's ``rows`` has
  one dict per run: ``epoch``, ``train_cost`` (mean mini-batch cost over the
  epoch), ``grad_norm`` (per layer, mean over the epoch's steps), and the
  entries of ``eval_fn`` (default :class:`lossjax.evals.ClassificationEval`,
  or :class:`lossjax.evals.MultiLabelEval` for multi-hot targets, which
  ``"multiclass"`` pairings train on normalised:
  :func:`lossjax.multilabel.training_targets`).
  """
  if not runs:
    raise ValueError("a group needs at least one run.")
  sizes, params = init_group(config, runs, data)
  n_train = data.train[0].shape[0]
  optimizer = Optimizer(config.optimizer, weight_decay=config.l2 / n_train)
  default_eval = MultiLabelEval if data.multilabel else ClassificationEval
  evaluate = eval_fn or default_eval(
    config.pairing, hidden_activation=config.hidden_activation
  )
  train = data.train
  if data.multilabel:  # softmax pairings train on the normalised set
    train = (train[0], training_targets(config.pairing.kind, train[1]))
  initial = _evaluate_many(evaluate, params, data.eval)
  yield GroupEpoch(_rows(0, initial, len(runs), from_history=False), params)
  grid = order_grid(runs)
  shuffle_keys = jnp.stack(
    [jax.random.fold_in(jax.random.key(runs[i].seed), 1) for i in grid[:, 0]]
  )
  lrs = jnp.array([[runs[i].lr for i in row] for row in grid], jnp.float32)
  params = jax.tree.map(lambda v: v[grid], params)
  opt_state = init_opt_states(params, lrs, optimizer=optimizer)
  states = TrainState(params, opt_state, shuffle_keys)
  run_order = np.argsort(grid.reshape(-1))
  for epoch in range(1, config.epochs + 1):
    states, history = train_epochs_many(
      states,
      train,
      data.eval,
      pairing=config.pairing,
      epochs=1,
      batch_size=config.batch_size,
      optimizer=optimizer,
      eval_fn=evaluate,
      window=config.window,
      hidden_activation=config.hidden_activation,
    )
    history = jax.tree.map(
      lambda v: v.reshape(-1, *v.shape[2:])[run_order], history
    )
    in_run_order = jax.tree.map(
      lambda v: v.reshape(-1, *v.shape[2:])[run_order], states.params
    )
    yield GroupEpoch(
      _rows(epoch, history, len(runs), from_history=True), in_run_order
    )


def order_grid(runs: Sequence[RunConfig]) -> np.ndarray:
  """Run indices as a grid ``(orders, runs per order)``.

  Runs with the same seed see the same mini-batch order; when every seed has
  equally many runs, each row holds one seed's runs, so they train as one
  windowed group (see :func:`lossjax.train.train_epochs_many`). Otherwise
  every run is its own row.
  """
  by_seed: dict[int, list[int]] = {}
  for i, run in enumerate(runs):
    by_seed.setdefault(run.seed, []).append(i)
  if len({len(rows) for rows in by_seed.values()}) == 1:
    return np.array(list(by_seed.values()))
  return np.arange(len(runs))[:, None]


@functools.partial(jax.jit, static_argnums=0)
def _evaluate_many(evaluate, params, data):
  return jax.vmap(evaluate, in_axes=(0, None))(params, data)


def _rows(epoch, metrics, num_runs, *, from_history) -> list[dict]:
  metrics = jax.device_get(metrics)
  rows = []
  for i in range(num_runs):
    row = {
      "epoch": epoch,
      "train_cost": None,
      "grad_norm": None,
      "bias_grad_norm": None,
    }
    for name, values in metrics.items():
      value = np.asarray(values[i])
      if from_history:
        value = value[0]  # the one epoch of this call
      if name == "cost":
        name = "train_cost"
      row[name] = value.tolist()
    rows.append(json_safe(row))
  return rows
