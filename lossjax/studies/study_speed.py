"""A study's time beside its training loop's: the benchmark's study rows.

A researcher waits for a study, not for its loop. For each named study
shape this trains the study itself (:func:`lossjax.studies.compare.run`, its
groups, evaluation, selected epochs and temperature fits) for a few epochs,
and then its groups' training loops alone (:class:`lossjax.training.classify.GroupLoop`,
no evaluation), on synthetic data of MNIST's shape, in one process. An
epoch of the study is what its progress lines show (wall time less
compilation, the evaluation and the selected epochs' bookkeeping included),
summed over its groups; the study's time per epoch is the mean of its epochs
after the first, the steady state its 30 epochs run at (the first epoch
carries one-time costs: on 2 CPU cores it ran 5-10% slower). The loop's is
its mean over as many epochs, timed after a first one that compiles.
"""

import dataclasses
import time

import jax
import numpy as np

from lossjax import config as cfg
from lossjax.datasets import data
from lossjax.output import progress
from lossjax.studies import compare, compare_presets
from lossjax.training import classify

# The study shapes (issue 25): a comparison preset, with what the study
# changes in it; each runs with 3 seeds and the benchmark's epochs.
STUDIES = {
  "nielsen": {**compare_presets.PRESETS["nielsen"]},
  "multilabel": {**compare_presets.PRESETS["multilabel"]},
}


def _label_noise_level() -> dict:
  # Imported here: label_noise imports compare, which this module serves.
  from lossjax.studies import label_noise

  values = {**label_noise.PRESETS["mnist"]}
  del values["noise_levels"]
  return {**values, "data": {**values["data"], "label_noise": 0.2}}


STUDY_NAMES = (*STUDIES, "label_noise")


def study_config(name: str, *, epochs: int, seeds: int = 3) -> compare.Config:
  """The comparison that the study ``name`` trains (one noise level, 20%,
  for ``label_noise``), cut to ``epochs`` and ``seeds``."""
  if name not in STUDY_NAMES:
    raise ValueError(
      f"unknown study {name!r}; choose from {', '.join(STUDY_NAMES)}."
    )
  values = _label_noise_level() if name == "label_noise" else STUDIES[name]
  values = {**values, "epochs": epochs, "seeds": list(range(seeds))}
  return cfg.from_json(compare.Config, values)


def synthetic_mnist(
  train: int = 50_000, *, validation: int = 10_000, test: int = 10_000
) -> data.Dataset:
  """Uniform pixels and labels in MNIST's shape (784 pixels, 10 classes):
  ``train`` training, ``validation`` validation and ``test`` test images
  (MNIST's own split by default). Only the time of the arithmetic matters
  here."""
  rng = np.random.default_rng(0)

  def split(n):
    return data.Split(
      rng.uniform(size=(n, 784)).astype(np.float32),
      rng.integers(0, 10, n).astype(np.int32),
    )

  return data.Dataset(
    "mnist", 10, split(train), split(validation), split(test), "synthetic"
  )


@dataclasses.dataclass(frozen=True)
class StudyRow:
  """One study shape: its time per epoch, its loop's, and their ratio."""

  study: str
  models: int
  groups: int
  study_seconds_per_epoch: float
  loop_seconds_per_epoch: float
  study_seconds_by_epoch: tuple[float, ...] = ()

  @property
  def ratio(self) -> float:
    return self.study_seconds_per_epoch / self.loop_seconds_per_epoch

  def to_json(self) -> dict:
    return {
      **dataclasses.asdict(self),
      "study_seconds_by_epoch": list(self.study_seconds_by_epoch),
      "ratio": self.ratio,
    }


def loop_seconds_per_epoch(
  config: compare.Config, dataset: data.Dataset, *, epochs: int = 1
) -> float:
  """Every group's training loop alone: its mean over ``epochs`` epochs after
  the first (which compiles), summed over the groups."""
  if epochs < 1:
    raise ValueError(f"epochs is {epochs}; time at least 1.")
  device = classify.DeviceData.from_dataset(config.data.load(loaded=dataset))
  total = 0.0
  for group, runs in config.groups():
    _, loop = classify.group_loop(group, runs, device)
    states, history = loop.epoch(loop.states)  # compiles
    jax.block_until_ready(history)
    start = time.perf_counter()
    for _ in range(epochs):
      states, history = loop.epoch(states)
    jax.block_until_ready(history)
    total += (time.perf_counter() - start) / epochs
  return total


class _EpochTimes(progress.Progress):
  """A :class:`lossjax.output.progress.Progress` that keeps every step's time."""

  def __init__(self, total: int, *, starts: int):
    super().__init__(total, starts=starts)
    self.seconds: list[float] = []

  def done(self, units: int = 1) -> progress.Step:
    step = super().done(units)
    self.seconds.append(step.train_seconds)
    return step


def measure(
  name: str, dataset: data.Dataset, *, epochs: int = 2, log=progress.info
) -> StudyRow:
  """The study ``name`` and its loop, timed on ``dataset``: the study's
  epochs after the first (all of them when ``epochs`` is 1)."""
  config = study_config(name, epochs=epochs)
  groups = config.groups()
  timer = _EpochTimes(len(groups) * epochs, starts=len(groups))
  compare.run(config, dataset=dataset, log=lambda *_: None, timer=timer)
  # Each group logs epoch 0 (its first evaluation), then epochs 1..epochs.
  by_epoch = tuple(
    sum(timer.seconds[epoch :: epochs + 1]) for epoch in range(1, epochs + 1)
  )
  steady = by_epoch[1:] or by_epoch
  study = sum(steady) / len(steady)
  # The loop timed over as many epochs as the study's mean (one run of
  # either moves by 10-20% on a shared machine).
  loop = loop_seconds_per_epoch(config, dataset, epochs=len(steady))
  row = StudyRow(
    name,
    sum(len(runs) for _, runs in groups),
    len(groups),
    study,
    loop,
    by_epoch,
  )
  log(
    f"study {name}: {study:.2f} s/epoch (epochs: "
    f"{', '.join(f'{s:.2f}' for s in by_epoch)}), its loop alone "
    f"{loop:.2f} ({row.ratio:.2f}x)"
  )
  return row
