"""Output-activation/cost pairings as values: the open registry.

A :class:`Pairing` (defined in :mod:`lossjax.core.pairing`) bundles what
every part of the project needs to know about an output layer: its
activation, its per-example cost, optionally the closed-form output error
``dC/dz`` (BP1) to be checked against autodiff, and its kind (independent ``"binary"`` units or one ``"multiclass"``
distribution). Nothing outside this module branches on a pairing's name:
losses, training, evaluation, figures and every study read these fields.

A pairing is given anywhere as a built-in name (:data:`PAIRINGS`), a
:class:`Pairing`, or an import string ``"package.module:attribute"`` naming
one; :func:`resolve_pairing` turns each into the value, once.
"""

import functools
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
from lossjax.core.pairing import (  # the value; this module: the registry
  KINDS,
  Activation,
  Cost,
  Pairing,
  top_is_predicted,
)

__all__ = [
  "BUILTIN_PAIRINGS",
  "FACTORIES",
  "IDENTITY_MSE",
  "KINDS",
  "PAIRINGS",
  "SIGMOID_BCE",
  "SIGMOID_MSE",
  "SOFTMAX_MAE",
  "SOFTMAX_MSE",
  "SOFTMAX_NLL",
  "Activation",
  "Cost",
  "Pairing",
  "PairingLike",
  "check_closed_form",
  "pairing_spec",
  "rescaled_mse",
  "resolve_pairing",
  "smoothed_nll",
  "top_is_predicted",
]


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
