"""Per-epoch measurements for the training loop's ``eval_fn``, as values.

Each evaluator is a frozen dataclass: two evaluators with the same fields
compare and hash equal, so the compiled training loop (which takes
``eval_fn`` as a static argument) is reused across calls without anyone
memoising callables.
"""

import dataclasses

import jax
import jax.numpy as jnp

from lossjax.core.hidden import (
  HiddenActivation,
  HiddenActivationLike,
  resolve_hidden_activation,
)
from lossjax.core.losses import (
  activation_slope,
  loss,
  output_activation,
  output_delta,
)
from lossjax.core.mlp import Params, forward, mlp_logits, mlp_logits_in_chunks
from lossjax.core.pairings import Pairing, resolve_pairing
from lossjax.datasets.multilabel import training_targets
from lossjax.metrics import set_metrics
from lossjax.metrics.calibration import calibration_metrics


def hidden_activation_stats(
  params: Params, x: jax.Array, activation: HiddenActivationLike = "sigmoid"
) -> dict[str, jax.Array]:
  """Mean, standard deviation and saturated fraction of each hidden layer.

  Saturated units pass almost no gradient back: sigmoid units near 0 or 1
  (``sigma' ~ 0``, Glorot & Bengio 2010), tanh units near -1 or 1, relu
  units at 0 (dead); see :class:`lossjax.HiddenActivation`.

  Args:
    params: MLP parameters with at least one hidden layer.
    x: inputs ``(n, n_in)``.
    activation: the hidden activation (name, import string or value).

  Returns:
    ``act_mean``, ``act_std`` and ``saturated``, each shaped
    ``(num_hidden_layers,)``, first hidden layer first.
  """
  if len(params) < 2:
    raise ValueError("hidden_activation_stats needs at least one hidden layer.")
  f = resolve_hidden_activation(activation)
  _, activations = forward(params, x, activation=f)
  hidden = activations[1:]  # activations[0] is the input
  saturated = [f.saturated_fraction(a) for a in hidden]
  return {
    "act_mean": jnp.stack([jnp.mean(a) for a in hidden]),
    "act_std": jnp.stack([jnp.std(a) for a in hidden]),
    "saturated": jnp.stack(saturated),
  }


@dataclasses.dataclass(frozen=True)
class ClassificationEval:
  """Accuracy, cost and calibration on each split; output error and slope.

  ``data`` is ``{"validation": (x, labels), "test": (x, labels)}``, and
  with label noise ``"mislabelled": (x, (wrong label, clean label))``, the
  training examples whose label was corrupted. Per split ``<split>_ece``,
  ``<split>_nll`` and ``<split>_brier`` measure the pairing's
  :meth:`~lossjax.Pairing.class_probabilities` (:mod:`lossjax.metrics.calibration`);
  ``memorised`` is the fraction of mislabelled examples the network assigns
  to their wrong label, and ``memorised_chance`` what it would be if the
  network ignored the wrong label: the fraction it gets wrong (not the
  clean label) over ``k - 1``. The output
  error is the mean norm of ``dC/dz`` (BP1), the signal backpropagation
  carries into the network; the output slope is the mean of
  ``d a_j / d z_j`` (how unsaturated the outputs are).
  ``<split>_predicted_counts`` counts how many examples the network assigns
  to each class: a class it (almost) never predicts is the signature of a
  run stuck on a plateau (seed 000's "failed pretty badly"; see
  :mod:`lossjax.studies.seed_spread`). With
  ``layer_stats=True`` it adds :func:`hidden_activation_stats` of the
  validation inputs. ``hidden_activation``: the network's (name, import
  string or value).
  """

  pairing: Pairing
  layer_stats: bool = False
  hidden_activation: HiddenActivation = "sigmoid"

  def __post_init__(self):
    _resolve_fields(self)

  def __call__(self, params: Params, data) -> dict[str, jax.Array]:
    metrics = {}
    for split, (x, labels) in data.items():
      logits = mlp_logits_in_chunks(
        params, x, activation=self.hidden_activation
      )
      predicted = self.pairing.predicted_class(logits)
      if split == "mislabelled":
        wrong, clean = labels[:, 0], labels[:, 1]
        metrics["memorised"] = jnp.mean(predicted == wrong)
        # Memorised by chance: the share that predicting some other class
        # than the clean one would put on the wrong label if it ignored it
        # (1 in k - 1 of those errors).
        metrics["memorised_chance"] = jnp.mean(predicted != clean) / (
          logits.shape[-1] - 1
        )
        continue
      prefix = "val" if split == "validation" else split
      probabilities = self.pairing.class_probabilities(logits)
      for name, value in calibration_metrics(probabilities, labels).items():
        metrics[f"{prefix}_{name}"] = value
      metrics[f"{prefix}_accuracy"] = jnp.mean(predicted == labels)
      metrics[f"{prefix}_predicted_counts"] = jnp.bincount(
        predicted, length=logits.shape[-1]
      )
      metrics[f"{prefix}_cost"] = jnp.mean(loss(self.pairing, logits, labels))
      if split == "validation":
        delta = output_delta(self.pairing, logits, labels)
        metrics["output_error"] = jnp.mean(jnp.linalg.norm(delta, axis=-1))
        metrics["output_slope"] = jnp.mean(
          activation_slope(self.pairing, logits)
        )
    if self.layer_stats:
      metrics.update(
        hidden_activation_stats(
          params, data["validation"][0], self.hidden_activation
        )
      )
    return metrics


def _resolve_fields(evaluator) -> None:
  """Names and import strings become values, so equal settings hash equal."""
  object.__setattr__(evaluator, "pairing", resolve_pairing(evaluator.pairing))
  if hasattr(evaluator, "hidden_activation"):
    object.__setattr__(
      evaluator,
      "hidden_activation",
      resolve_hidden_activation(evaluator.hidden_activation),
    )


@dataclasses.dataclass(frozen=True)
class NeuronEval:
  """The single neuron's output ``a`` and cost, for ``data = (x, y)``."""

  pairing: Pairing

  def __post_init__(self):
    object.__setattr__(self, "pairing", resolve_pairing(self.pairing))

  def __call__(self, params: Params, data) -> dict[str, jax.Array]:
    x, targets = data
    logits = mlp_logits(params, x)
    return {
      "cost": loss(self.pairing, logits, targets)[0],
      "output": output_activation(self.pairing, logits)[0, 0],
    }


@dataclasses.dataclass(frozen=True)
class ValidationEval:
  """Mean cost and accuracy on ``data = (x, labels)`` (the MLP sweeps)."""

  pairing: Pairing
  hidden_activation: HiddenActivation = "sigmoid"

  def __post_init__(self):
    _resolve_fields(self)

  def __call__(self, params: Params, data) -> dict[str, jax.Array]:
    x, labels = data
    logits = mlp_logits(params, x, activation=self.hidden_activation)
    return {
      "cost": jnp.mean(loss(self.pairing, logits, labels)),
      "accuracy": jnp.mean(self.pairing.predicted_class(logits) == labels),
    }


# Exact-set accuracy is reported for examples with this many labels.
LABEL_COUNTS = (1, 2, 3, 4, 5)


@dataclasses.dataclass(frozen=True)
class MultiLabelEval:
  """Label-set metrics of multi-label data (:mod:`lossjax.datasets.multilabel`).

  ``data`` is ``{"validation": (x, multi-hot), "test": (x, multi-hot)}``.
  Each epoch the threshold on :meth:`lossjax.Pairing.label_scores` with the
  best validation exact-set accuracy is chosen (``threshold``) and applied
  to both splits. Per split: ``<split>_exact_set_accuracy`` (also as
  ``<split>_accuracy``, what the comparison study selects on),
  ``_micro_f1``, ``_macro_f1``, ``_average_precision`` and
  ``_top_k_set_accuracy`` (both threshold-free),
  ``_exact_set_accuracy_by_count`` (examples with 1, 2, ... labels; see
  :data:`LABEL_COUNTS`), ``_predicted_counts`` (labels predicted per class)
  and ``_cost``; ``output_error`` and ``output_slope`` on validation.
  """

  pairing: Pairing
  hidden_activation: HiddenActivation = "sigmoid"

  def __post_init__(self):
    _resolve_fields(self)

  def __call__(self, params: Params, data) -> dict[str, jax.Array]:
    scores, targets = {}, {}
    metrics = {}
    for split, (x, multi_hot) in data.items():
      logits = mlp_logits_in_chunks(
        params, x, activation=self.hidden_activation
      )
      scores[split], targets[split] = (
        self.pairing.label_scores(logits),
        multi_hot,
      )
      prefix = "val" if split == "validation" else split
      trained_on = training_targets(self.pairing.kind, multi_hot)
      metrics[f"{prefix}_cost"] = jnp.mean(
        loss(self.pairing, logits, trained_on)
      )
      if split == "validation":
        delta = output_delta(self.pairing, logits, trained_on)
        metrics["output_error"] = jnp.mean(jnp.linalg.norm(delta, axis=-1))
        metrics["output_slope"] = jnp.mean(
          activation_slope(self.pairing, logits)
        )
    threshold = set_metrics.choose_threshold(
      scores["validation"], targets["validation"]
    )
    metrics["threshold"] = threshold
    for split in data:
      prefix = "val" if split == "validation" else split
      s, y = scores[split], targets[split]
      exact = set_metrics.exact_set_accuracy(s, y, threshold)
      micro, macro = set_metrics.f1_scores(s, y, threshold)
      metrics.update(
        {
          f"{prefix}_accuracy": exact,
          f"{prefix}_exact_set_accuracy": exact,
          f"{prefix}_exact_set_accuracy_by_count": (
            set_metrics.exact_set_accuracy_by_count(
              s, y, threshold, LABEL_COUNTS
            )
          ),
          f"{prefix}_micro_f1": micro,
          f"{prefix}_macro_f1": macro,
          f"{prefix}_average_precision": set_metrics.mean_average_precision(
            s, y
          ),
          f"{prefix}_top_k_set_accuracy": set_metrics.top_k_set_accuracy(s, y),
          f"{prefix}_predicted_counts": jnp.sum(
            set_metrics.predicted_sets(s, threshold), axis=0
          ),
        }
      )
    return metrics
