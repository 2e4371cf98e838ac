"""The pairing as a value: an output activation and its cost, with what every
part of the project reads from it (see :mod:`lossjax.core.pairings` for the
built-in pairings, the factories and how a name or import string becomes
one)."""

import dataclasses
import hashlib
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

KINDS = ("binary", "multiclass")

Activation = Callable[[jax.Array], jax.Array]
Cost = Callable[[jax.Array, jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Pairing:
  """An output activation and a cost function, as one hashable value.

  Attributes:
    name: identifies the pairing in tables, files and flags.
    activation: logits ``(..., k)`` -> activations ``(..., k)``.
    cost: ``(logits, y) -> per-example cost`` of shape ``logits.shape[:-1]``,
      where ``y`` is a target-vector array shaped like the logits (integer
      labels are converted to one-hot vectors before ``cost`` sees them).
      Compute it from the logits in a stable way (``jax.nn.log_sigmoid``,
      ``jax.nn.log_softmax``), never as the log of a probability.
    kind: ``"binary"`` (independent output units; usable with a single output,
      such as the seed's neuron) or ``"multiclass"`` (one distribution over
      the last axis; vector targets must sum to 1).
    delta: optional closed form ``(logits, y) -> dC/dz``, shaped like the
      logits. :func:`check_closed_form` compares it with ``jax.grad``.
    label: the name shown in figures and tables (default: ``name``).
    color: a matplotlib colour (default: derived from ``name``).
    default_lr: learning rate used when a study is given none.
    predict: optional ``logits -> class index``; default ``argmax`` of the
      logits, which is the argmax of the activation for any activation that
      preserves order (sigmoid, softmax, identity).
    probabilities: optional ``logits -> (..., k)`` distribution over the
      classes (rows of non-negative numbers summing to 1), what calibration
      metrics and temperature scaling read. Default
      (:meth:`class_probabilities`): the activation itself for a
      ``"multiclass"`` pairing; for ``"binary"`` pairings each unit's
      activation clipped to ``[0, 1]``, divided by their sum.
  """

  name: str
  activation: Activation
  cost: Cost
  kind: str
  delta: Cost | None = None
  label: str | None = None
  color: str | None = None
  default_lr: float | None = None
  predict: Callable[[jax.Array], jax.Array] | None = None
  probabilities: Activation | None = None

  def __post_init__(self):
    if not isinstance(self.name, str) or not self.name.strip():
      raise ValueError(f"a Pairing needs a non-empty name, got {self.name!r}.")
    if self.kind not in KINDS:
      raise ValueError(
        f"Pairing {self.name!r}: kind must be one of {KINDS}, got "
        f"{self.kind!r}."
      )
    for field in ("activation", "cost"):
      if not callable(getattr(self, field)):
        raise TypeError(f"Pairing {self.name!r}: {field} must be callable.")
    for field in ("delta", "predict", "probabilities"):
      value = getattr(self, field)
      if value is not None and not callable(value):
        raise TypeError(
          f"Pairing {self.name!r}: {field} must be callable or None."
        )
    lr = self.default_lr
    if lr is not None and not (math.isfinite(lr) and lr > 0):
      raise ValueError(
        f"Pairing {self.name!r}: default_lr must be a positive finite "
        f"number, got {lr}."
      )

  @property
  def display_label(self) -> str:
    return self.label or self.name

  @property
  def display_color(self) -> str:
    """``color``, or one of matplotlib's ``tab:`` colours picked by name."""
    if self.color:
      return self.color
    digest = hashlib.sha256(self.name.encode()).digest()
    return _SPARE_COLORS[digest[0] % len(_SPARE_COLORS)]

  def predicted_class(self, logits: jax.Array) -> jax.Array:
    """The class each row of ``logits`` predicts."""
    if self.predict is not None:
      return self.predict(logits)
    return jnp.argmax(logits, axis=-1)

  def class_probabilities(self, logits: jax.Array) -> jax.Array:
    """A distribution over the classes for each row of ``logits``.

    ``probabilities`` if the pairing has one, else by kind:

    - ``"multiclass"``: the activation, already a distribution (softmax).
    Either way the most probable class is :meth:`predicted_class`, the
    class that accuracy counts (:func:`top_is_predicted`), so accuracy,
    calibration and memorisation read one prediction.

    - ``"binary"``: unit ``j``'s activation estimates ``P(y_j = 1 | x)``:
      both the quadratic cost and cross-entropy are minimised, in
      expectation, by the conditional probability, and a linear output
      trained with the quadratic cost estimates it too, unbounded. So each
      activation is clipped to ``[0, 1]`` and the row divided by its sum,
      the one-vs-rest normalisation; a row with no positive output gets the
      uniform distribution. (The softmax of the logits would be another
      choice; it ignores what the cost made the outputs estimate, and for a
      linear output of about 1 against 0 it says 23%.)
    """
    if self.probabilities is not None:
      return self.probabilities(logits)
    a = self.label_scores(logits)
    if self.kind != "multiclass":
      total = jnp.sum(a, axis=-1, keepdims=True)
      uniform = jnp.full_like(a, 1.0 / a.shape[-1])
      a = jnp.where(total > 0, a / jnp.where(total > 0, total, 1.0), uniform)
    return top_is_predicted(a, self.predicted_class(logits))

  def label_scores(self, logits: jax.Array) -> jax.Array:
    """Per class, the probability that the class is present (multi-label).

    ``"binary"`` pairings: each unit's activation clipped to ``[0, 1]``, an
    estimate of ``P(y_j = 1 | x)`` for each class on its own.
    ``"multiclass"`` pairings: the activation (the softmax), whose classes
    share one unit of mass, so two present classes get about 0.5 each.
    Multi-label predictions threshold these scores.
    """
    a = self.activation(logits)
    if self.kind == "multiclass":
      return a
    return jnp.clip(a, 0.0, 1.0)

  def __repr__(self) -> str:
    return f"Pairing({self.name!r}, kind={self.kind!r})"


# Colours no built-in or factory pairing uses, for pairings that name none
# (a pairing keeps its colour in every figure).
_SPARE_COLORS = (
  "tab:pink",
  "tab:gray",
  "gold",
  "navy",
  "teal",
  "maroon",
)


def top_is_predicted(
  probabilities: jax.Array, predicted: jax.Array
) -> jax.Array:
  """``probabilities`` with the ``predicted`` class the first most probable.

  Clipped activations tie (two linear outputs above 1, two sigmoids that
  round to 1.0 in float32), and ``argmax`` would then pick the first tied
  class where accuracy counts the largest logit. Where the predicted class
  ties with the row's maximum, it is raised by one unit in the last place
  (``nextafter``): the row still sums to 1 within rounding, and the
  ``argmax`` of the probabilities, here or read back from a file, is the
  prediction. A row without a tie is returned unchanged.
  """
  top = jnp.max(probabilities, axis=-1, keepdims=True)
  predicted = jnp.asarray(predicted)[..., None]
  own = jnp.take_along_axis(probabilities, predicted, axis=-1)
  tied = jnp.sum(probabilities == top, axis=-1, keepdims=True) > 1
  raised = jnp.where(tied & (own == top), jnp.nextafter(top, 2 * top + 1), own)
  classes = jnp.arange(probabilities.shape[-1])
  return jnp.where(classes == predicted, raised, probabilities)
