"""A dataset's splits on the device: moved once, shared by every run."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from lossjax.datasets.data import Dataset


@dataclasses.dataclass(frozen=True)
class DeviceData:
  """A dataset's splits as device arrays (moved once, shared by all runs).

  ``eval`` holds ``validation`` and ``test``, and with label noise
  ``mislabelled``: the training examples whose label was corrupted, with
  their wrong and their clean label, ``(n, 2)`` (what
  :class:`lossjax.metrics.evals.ClassificationEval` reads for ``memorised`` and
  its chance level).
  """

  train: tuple[jax.Array, jax.Array]
  eval: dict[str, tuple[jax.Array, jax.Array]]
  num_inputs: int
  num_classes: int

  @property
  def multilabel(self) -> bool:
    """Whether the targets are multi-hot vectors (:mod:`lossjax.datasets.multilabel`)."""
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
        jnp.asarray(
          np.stack(
            [dataset.train.labels[wrong], dataset.clean_train_labels[wrong]],
            axis=-1,
          )
        ),
      )
    return cls(
      train=put(dataset.train),
      eval=evals,
      num_inputs=dataset.train.images.shape[1],
      num_classes=dataset.num_classes,
    )
