r"""Hidden-layer activations as values: the other half of BP2.

BP2, :math:`\delta^l = (\delta^{l+1} W^{l+1\top}) \odot f'(z^l)`, multiplies
by the hidden activation's derivative in every layer below the output. A
:class:`HiddenActivation` bundles the function ``f``, optionally its closed
form ``f'`` (for the hand-written :func:`lossjax.backprop`; ``jax.jvp`` of
``f`` where absent) and what counts as a *saturated* unit, one that passes
(almost) no gradient back: a sigmoid near 0 or 1, a tanh near -1 or 1, a
relu at 0 (a "dead" unit).

An activation is given anywhere as a built-in name (:data:`HIDDEN_ACTIVATIONS`:
``sigmoid``, the book's and the default, ``tanh``, ``relu``, ``identity``), a
:class:`HiddenActivation`, or an import string ``"package.module:attribute"``
naming a :class:`HiddenActivation` or a plain element-wise function.
:func:`resolve_hidden_activation` turns each into the value, once; nothing
else branches on an activation's name.
"""

import dataclasses
import functools
import importlib
from collections.abc import Callable

import jax
import jax.numpy as jnp

from lossjax.core.activations import sigmoid_prime

Elementwise = Callable[[jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True, kw_only=True)
class HiddenActivation:
  """An element-wise hidden activation, as one hashable value.

  Attributes:
    name: identifies it in tables, files and flags.
    fn: ``z -> a``, element-wise.
    derivative: optional closed form ``z -> f'(z)``; ``None``: ``jax.jvp``
      of ``fn``.
    saturated: optional ``a -> bool mask`` of the units that pass (almost)
      no gradient back; ``None``: no unit ever counts as saturated.
  """

  name: str
  fn: Elementwise
  derivative: Elementwise | None = None
  saturated: Callable[[jax.Array], jax.Array] | None = None

  def __call__(self, z: jax.Array) -> jax.Array:
    return self.fn(z)

  def slope(self, z: jax.Array) -> jax.Array:
    """``f'(z)`` element-wise: the closed form, else forward-mode autodiff."""
    if self.derivative is not None:
      return self.derivative(z)
    z = jnp.asarray(z)
    return jax.jvp(self.fn, (z,), (jnp.ones_like(z),))[1]

  def saturated_fraction(self, a: jax.Array) -> jax.Array:
    """The fraction of ``a``'s entries that are saturated units."""
    if self.saturated is None:
      return jnp.zeros((), a.dtype)
    return jnp.mean(self.saturated(a))

  def __repr__(self) -> str:
    return f"HiddenActivation({self.name!r})"


# A sigmoid unit counts as saturated outside [LOW, HIGH] (sigma' < 0.0099).
SATURATION_LOW = 0.01
SATURATION_HIGH = 0.99


def _tanh_prime(z):
  # sech^2 z: 1 - tanh^2 z cancels to 0 in the tails, where this stays
  # accurate (and cosh overflowing to inf gives the right 0).
  return 1.0 / jnp.cosh(z) ** 2


def _relu_prime(z):
  # 0 at z = 0, as jax.grad of jax.nn.relu gives.
  return (jnp.asarray(z) > 0).astype(jnp.result_type(z, jnp.float32))


BUILTIN_HIDDEN_ACTIVATIONS: dict[str, HiddenActivation] = {
  a.name: a
  for a in (
    HiddenActivation(
      name="sigmoid",
      fn=jax.nn.sigmoid,
      derivative=sigmoid_prime,
      saturated=lambda a: (a < SATURATION_LOW) | (a > SATURATION_HIGH),
    ),
    HiddenActivation(
      name="tanh",
      fn=jnp.tanh,
      derivative=_tanh_prime,
      saturated=lambda a: jnp.abs(a) > 2 * SATURATION_HIGH - 1,
    ),
    HiddenActivation(
      name="relu",
      fn=jax.nn.relu,
      derivative=_relu_prime,
      saturated=lambda a: a <= 0,
    ),
    HiddenActivation(
      name="identity",
      fn=lambda z: z,
      derivative=jnp.ones_like,
    ),
  )
}
HIDDEN_ACTIVATIONS: tuple[str, ...] = tuple(BUILTIN_HIDDEN_ACTIVATIONS)
"""Names of the built-in hidden activations."""

HiddenActivationLike = str | HiddenActivation


def resolve_hidden_activation(
  activation: HiddenActivationLike,
) -> HiddenActivation:
  """The :class:`HiddenActivation` for a name, an import string or a value.

  Raises:
    ValueError: an unknown name, a module or attribute that cannot be found,
      or an attribute that is neither a ``HiddenActivation`` nor callable.
  """
  if isinstance(activation, HiddenActivation):
    return activation
  if not isinstance(activation, str):
    raise TypeError(
      "a hidden activation is a name, a 'module:attribute' string or a "
      f"HiddenActivation; got {type(activation).__name__}."
    )
  if ":" in activation:
    return _import(activation)
  try:
    return BUILTIN_HIDDEN_ACTIVATIONS[activation]
  except KeyError:
    raise ValueError(
      f"Unknown hidden activation {activation!r}. Choose one of: "
      f"{', '.join(HIDDEN_ACTIVATIONS)}, or name your own as "
      "'package.module:attribute'."
    ) from None


@functools.cache  # one value per string, so compiled loops are reused
def _import(spec: str) -> HiddenActivation:
  module_name, _, attribute = spec.partition(":")
  try:
    module = importlib.import_module(module_name)
  except ImportError as e:
    raise ValueError(
      f"hidden activation {spec!r}: cannot import module {module_name!r} "
      f"({e}). Check the spelling and that it is importable (on PYTHONPATH)."
    ) from None
  try:
    value = getattr(module, attribute)
  except AttributeError:
    raise ValueError(
      f"hidden activation {spec!r}: module {module_name!r} has no attribute "
      f"{attribute!r}."
    ) from None
  if isinstance(value, HiddenActivation):
    value = dataclasses.replace(value, name=spec)
  elif callable(value):
    value = HiddenActivation(name=spec, fn=value)
  else:
    raise ValueError(
      f"hidden activation {spec!r} is a {type(value).__name__}, not a "
      "HiddenActivation or an element-wise function."
    )
  _check_elementwise(spec, value)
  return value


def _check_elementwise(spec: str, activation: HiddenActivation) -> None:
  """Traces the activation (and its slope) on a small float32 array, without
  computing: it must map an array to an array of the same shape, so that a
  wrong import string is an error here and not in the middle of a run."""
  probe = jax.ShapeDtypeStruct((2, 3), jnp.float32)
  try:
    outputs = [jax.eval_shape(activation, probe)]
    outputs.append(jax.eval_shape(activation.slope, probe))
  except Exception as e:  # noqa: BLE001 - any failure of user code is the error
    raise ValueError(
      f"hidden activation {spec!r} is not an element-wise function of one "
      f"array: calling it on a (2, 3) array failed ({type(e).__name__}: "
      f"{str(e).splitlines()[0] if str(e) else e!r})."
    ) from None
  for out in outputs:
    if getattr(out, "shape", None) != probe.shape:
      raise ValueError(
        f"hidden activation {spec!r} is not element-wise: it maps a (2, 3) "
        f"array to {getattr(out, 'shape', type(out).__name__)}, not to an "
        "array of the same shape."
      )


def hidden_activation_spec(activation: HiddenActivation) -> str:
  """The string that resolves to ``activation`` again (for config files)."""
  return activation.name
