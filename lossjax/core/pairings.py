"""Output-activation/cost pairings as values: the open registry.

A :class:`Pairing` bundles what every part of the project needs to know about
an output layer: its activation, its per-example cost, optionally the
closed-form output error ``dC/dz`` (BP1) to be checked against autodiff, and
its kind (independent ``"binary"`` units or one ``"multiclass"``
distribution). Nothing outside this module branches on a pairing's name:
losses, training, evaluation, figures and every study read these fields.

A pairing is given anywhere as a built-in name (:data:`PAIRINGS`), a
:class:`Pairing`, or an import string ``"package.module:attribute"`` naming
one; :func:`resolve_pairing` turns each into the value, once.
"""

import dataclasses
import functools
import hashlib
import importlib
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from lossjax.core.activations import (
  output_sigmoid,
  sigmoid_prime,
  softmax_jacobian,
)

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


def _softmax(z: jax.Array) -> jax.Array:
  return jax.nn.softmax(z, axis=-1)


def _sigmoid_mse(z: jax.Array, y: jax.Array) -> jax.Array:
  return 0.5 * jnp.sum(jnp.square(jax.nn.sigmoid(z) - y), axis=-1)


def _sigmoid_mse_delta(z: jax.Array, y: jax.Array) -> jax.Array:
  return (jax.nn.sigmoid(z) - y) * sigmoid_prime(z)


def _times_log(weight: jax.Array, log_value: jax.Array) -> jax.Array:
  """``weight * log_value`` with ``0 * log 0 = 0``.

  A logit of -inf on a unit or class whose target is 0 costs nothing; the
  plain product would be ``0 * -inf = NaN`` (optax's softmax cross-entropy
  masks the same way).
  """
  return jnp.where(weight == 0, 0.0, weight * log_value)


def _sigmoid_bce(z: jax.Array, y: jax.Array) -> jax.Array:
  # ln(1 - sigma(z)) = ln sigma(-z): both logs stay finite for any finite z.
  return -jnp.sum(
    _times_log(y, jax.nn.log_sigmoid(z))
    + _times_log(1 - y, jax.nn.log_sigmoid(-z)),
    axis=-1,
  )


def _a_minus_y(activation: Activation) -> Cost:
  return lambda z, y: activation(z) - y


def _softmax_nll(z: jax.Array, y: jax.Array) -> jax.Array:
  return -jnp.sum(_times_log(y, jax.nn.log_softmax(z, axis=-1)), axis=-1)


def _softmax_mse(z: jax.Array, y: jax.Array) -> jax.Array:
  return 0.5 * jnp.sum(jnp.square(_softmax(z) - y), axis=-1)


def _softmax_mse_delta(z: jax.Array, y: jax.Array) -> jax.Array:
  return jnp.einsum("...jk,...j->...k", softmax_jacobian(z), _softmax(z) - y)


# The book's rates for MNIST: 3.0 for the quadratic cost, 0.5 for
# cross-entropy; softmax + quadratic has the quadratic cost's small
# gradients, so it gets the larger rate too.
SIGMOID_MSE = Pairing(
  name="sigmoid_mse",
  activation=output_sigmoid,
  cost=_sigmoid_mse,
  delta=_sigmoid_mse_delta,
  kind="binary",
  label="sigmoid + quadratic",
  color="tab:red",
  default_lr=3.0,
)
SIGMOID_BCE = Pairing(
  name="sigmoid_bce",
  activation=output_sigmoid,
  cost=_sigmoid_bce,
  delta=_a_minus_y(jax.nn.sigmoid),
  kind="binary",
  label="sigmoid + cross-entropy",
  color="tab:blue",
  default_lr=0.5,
)
SOFTMAX_NLL = Pairing(
  name="softmax_nll",
  activation=_softmax,
  cost=_softmax_nll,
  delta=_a_minus_y(_softmax),
  kind="multiclass",
  label="softmax + log-likelihood",
  color="tab:green",
  default_lr=0.5,
)
SOFTMAX_MSE = Pairing(
  name="softmax_mse",
  activation=_softmax,
  cost=_softmax_mse,
  delta=_softmax_mse_delta,
  kind="multiclass",
  label="softmax + quadratic",
  color="tab:orange",
  default_lr=3.0,
)


def _softmax_mae(z: jax.Array, y: jax.Array) -> jax.Array:
  return jnp.sum(jnp.abs(_softmax(z) - y), axis=-1)


def _softmax_mae_delta(z: jax.Array, y: jax.Array) -> jax.Array:
  return jnp.einsum(
    "...jk,...j->...k", softmax_jacobian(z), jnp.sign(_softmax(z) - y)
  )


# Mean absolute error on the softmax (Ghosh, Kumar & Sastry, AAAI 2017): for
# a one-hot target C = 2 (1 - a_y), bounded by 2 however wrong the label,
# so a mislabelled example pulls no harder than any other. Its gradient is
# that of softmax + quadratic with sign(a - y) for a - y: it carries the
# softmax's slope, and learns slowly from a bad start (Zhang & Sabuncu 2018).
SOFTMAX_MAE = Pairing(
  name="softmax_mae",
  activation=_softmax,
  cost=_softmax_mae,
  delta=_softmax_mae_delta,
  kind="multiclass",
  label="softmax + absolute error",
  color="tab:brown",
  default_lr=3.0,
)


def _identity(z: jax.Array) -> jax.Array:
  return z


def _rescaled_mse_cost(k: float, m: float) -> Cost:
  def cost(z: jax.Array, y: jax.Array) -> jax.Array:
    return 0.5 * jnp.sum(
      k * y * jnp.square(z - m) + (1 - y) * jnp.square(z), -1
    )

  return cost


def _rescaled_mse_delta(k: float, m: float) -> Cost:
  return lambda z, y: k * y * (z - m) + (1 - y) * z


# Square loss on linear outputs (Hui & Belkin, ICLR 2021): the output error
# is z - y, the form of cross-entropy's a - y, with no squashing slope.
def _identity_mse(z: jax.Array, y: jax.Array) -> jax.Array:
  return 0.5 * jnp.sum(jnp.square(z - y), axis=-1)


IDENTITY_MSE = Pairing(
  name="identity_mse",
  activation=_identity,
  cost=_identity_mse,
  delta=lambda z, y: z - y,
  kind="binary",
  label="linear + quadratic",
  color="tab:purple",
  default_lr=0.1,
)


def _factory_name(name: str, **values: float) -> str:
  return f"{name}({','.join(f'{k}={v:g}' for k, v in values.items())})"


def rescaled_mse(*, k: float, m: float) -> Pairing:
  r"""Hui & Belkin's rescaled square loss on linear outputs.

  .. math:: C = \tfrac12 \sum_j [k\, y_j (z_j - m)^2 + (1 - y_j) z_j^2],

  which for a one-hot target of class ``c`` is
  :math:`\tfrac12 [k (z_c - m)^2 + \sum_{j \ne c} z_j^2]`: the true class's
  term is weighted by ``k`` and its target raised to ``m``. ``k = m = 1`` is
  ``identity_mse``. Closed form :math:`\delta = k y (z - m) + (1 - y) z`.

  Named ``rescaled_mse(k=K,m=M)``; that string is also a pairing name every
  ``--pairings`` flag accepts.
  """
  for field_name, value in (("k", k), ("m", m)):
    if not (isinstance(value, (int, float)) and math.isfinite(value)):
      raise ValueError(
        f"rescaled_mse: {field_name} must be finite, got {value}."
      )
  if k <= 0:
    raise ValueError(f"rescaled_mse: k must be positive, got {k}.")
  return _rescaled_mse(float(k), float(m))


@functools.cache  # one value per (k, m): equal pairings are the same object
def _rescaled_mse(k: float, m: float) -> Pairing:
  return Pairing(
    name=_factory_name("rescaled_mse", k=k, m=m),
    activation=_identity,
    cost=_rescaled_mse_cost(k, m),
    delta=_rescaled_mse_delta(k, m),
    kind="binary",
    label=f"linear + rescaled quadratic (k={k:g}, M={m:g})",
    color="tab:olive",
    default_lr=0.1 / k,
  )


def smoothed_nll(eps: float) -> Pairing:
  r"""Softmax + log-likelihood against label-smoothed targets.

  The target is :math:`\tilde y = (1 - \epsilon) y + \epsilon / K` and
  :math:`C = -\sum_j \tilde y_j \ln \mathrm{softmax}(z)_j`, with closed form
  :math:`\delta = a - \tilde y`. The cost cannot reach 0: its floor is the
  entropy of :math:`\tilde y`.

  Named ``smoothed_nll(eps=E)``, accepted by every ``--pairings`` flag.
  """
  if not (isinstance(eps, (int, float)) and 0 <= eps < 1):
    raise ValueError(f"smoothed_nll: eps must lie in [0, 1), got {eps}.")
  return _smoothed_nll(float(eps))


@functools.cache  # one value per eps: equal pairings are the same object
def _smoothed_nll(eps: float) -> Pairing:
  def smoothed(y: jax.Array) -> jax.Array:
    return (1 - eps) * y + eps / y.shape[-1]

  return Pairing(
    name=_factory_name("smoothed_nll", eps=eps),
    activation=_softmax,
    cost=lambda z, y: _softmax_nll(z, smoothed(y)),
    delta=lambda z, y: _softmax(z) - smoothed(y),
    kind="multiclass",
    label=f"softmax + smoothed log-likelihood (eps={eps:g})",
    color="tab:cyan",
    default_lr=0.5,
  )


# Pairings made by a factory, named by a call: "smoothed_nll(eps=0.1)".
FACTORIES: dict[str, Callable[..., Pairing]] = {
  "rescaled_mse": rescaled_mse,
  "smoothed_nll": smoothed_nll,
}

BUILTIN_PAIRINGS: dict[str, Pairing] = {
  p.name: p
  for p in (
    SIGMOID_MSE,
    SIGMOID_BCE,
    SOFTMAX_NLL,
    SOFTMAX_MSE,
    IDENTITY_MSE,
    SOFTMAX_MAE,
  )
}
PAIRINGS: tuple[str, ...] = tuple(BUILTIN_PAIRINGS)
"""Names of the built-in pairings, in a fixed order."""

PairingLike = str | Pairing

# Import strings of the pairings resolved from one, so that a run's
# config.json can name them again.
_IMPORTED: dict[Pairing, str] = {}


@functools.cache
def _import_pairing(spec: str) -> Pairing:
  module_name, _, attribute = spec.partition(":")
  if not module_name or not attribute:
    raise ValueError(
      f"pairing import string {spec!r} must look like "
      "'package.module:attribute'."
    )
  try:
    module = importlib.import_module(module_name)
  except ImportError as e:
    raise ValueError(
      f"pairing {spec!r}: cannot import module {module_name!r} ({e}). Check "
      "the spelling and that it is importable (on PYTHONPATH or installed)."
    ) from None
  try:
    value = getattr(module, attribute)
  except AttributeError:
    raise ValueError(
      f"pairing {spec!r}: module {module_name!r} has no attribute "
      f"{attribute!r}."
    ) from None
  if not isinstance(value, Pairing):
    raise ValueError(
      f"pairing {spec!r} is a {type(value).__name__}, not a lossjax.Pairing."
    )
  _IMPORTED.setdefault(value, spec)
  return value


def _call_factory(spec: str) -> Pairing:
  """``"smoothed_nll(eps=0.1)"`` or ``"smoothed_nll(0.1)"`` -> the pairing."""
  name, _, rest = spec.partition("(")
  name = name.strip()
  if name not in FACTORIES or not rest.endswith(")"):
    raise ValueError(
      f"Unknown pairing {spec!r}. Pairings with parameters: "
      + ", ".join(f"{n}(...)" for n in FACTORIES)
      + " (e.g. smoothed_nll(eps=0.1), rescaled_mse(k=3,m=5))."
    )
  args, kwargs = [], {}
  for part in filter(None, (p.strip() for p in rest[:-1].split(","))):
    key, sep, value = part.rpartition("=")
    try:
      number = float(value)
    except ValueError:
      raise ValueError(
        f"pairing {spec!r}: {value!r} is not a number."
      ) from None
    if sep:
      kwargs[key.strip()] = number
    else:
      args.append(number)
  try:
    return FACTORIES[name](*args, **kwargs)
  except TypeError as e:
    raise ValueError(f"pairing {spec!r}: {e}.") from None


def resolve_pairing(pairing: PairingLike) -> Pairing:
  """The :class:`Pairing` for a built-in name, an import string or a Pairing.

  Raises:
    ValueError: an unknown name, a module or attribute that cannot be found,
      or an attribute that is not a ``Pairing``.
  """
  if isinstance(pairing, Pairing):
    return pairing
  if not isinstance(pairing, str):
    raise TypeError(
      f"a pairing is a name, a 'module:attribute' string or a Pairing; got "
      f"{type(pairing).__name__}."
    )
  if ":" in pairing:
    return _import_pairing(pairing)
  if "(" in pairing:
    return _call_factory(pairing)
  try:
    return BUILTIN_PAIRINGS[pairing]
  except KeyError:
    raise ValueError(
      f"Unknown pairing {pairing!r}. Choose one of: {', '.join(PAIRINGS)}, "
      "or name your own as 'package.module:attribute'."
    ) from None


def pairing_spec(pairing: Pairing) -> str:
  """The string that resolves to ``pairing`` again (for config files)."""
  if BUILTIN_PAIRINGS.get(pairing.name) is pairing:
    return pairing.name
  if "(" in pairing.name and pairing.name.split("(")[0] in FACTORIES:
    return pairing.name
  return _IMPORTED.get(pairing, pairing.name)


def check_closed_form(
  pairing: PairingLike,
  *,
  num_outputs: int = 4,
  batch: int = 8,
  logit_scale: float = 3.0,
  seed: int = 0,
) -> float:
  """Largest ``|delta - jax.grad(cost)|`` of a pairing, in float64.

  Draws random logits and valid targets (values in ``[0, 1]`` for binary
  pairings, probability vectors for multiclass ones) and compares the
  pairing's closed-form ``delta`` with ``jax.grad`` of its summed cost. A
  correct derivation gives round-off (about 1e-16 times the values).

  Args:
    pairing: the pairing to check (must have a ``delta``).
    num_outputs: output units ``k``.
    batch: examples.
    logit_scale: standard deviation of the random logits.
    seed: PRNG seed.

  Returns:
    The largest absolute difference over every example and unit.

  Raises:
    ValueError: the pairing has no closed-form ``delta``.
  """
  p = resolve_pairing(pairing)
  if p.delta is None:
    raise ValueError(
      f"pairing {p.name!r} has no closed-form delta to check; output_delta "
      "uses jax.grad of its cost."
    )
  with jax.enable_x64(True):
    z_key, y_key = jax.random.split(jax.random.key(seed))
    shape = (batch, num_outputs)
    z = logit_scale * jax.random.normal(z_key, shape, jnp.float64)
    if p.kind == "binary":
      y = jax.random.uniform(y_key, shape, jnp.float64)
    else:
      ones = jnp.ones(num_outputs, jnp.float64)
      y = jax.random.dirichlet(y_key, ones, (batch,))
    auto = jax.grad(lambda logits: jnp.sum(p.cost(logits, y)))(z)
    closed = p.delta(z, y)
    if closed.shape != z.shape:
      raise ValueError(
        f"pairing {p.name!r}: delta returned shape {closed.shape}, expected "
        f"the logits' shape {z.shape}."
      )
    return float(np.max(np.abs(np.asarray(closed) - np.asarray(auto))))
