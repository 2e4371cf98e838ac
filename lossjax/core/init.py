"""Parameter initialisers for :mod:`lossjax.core.mlp` networks.

Each initialiser returns a list of ``(w, b)`` with ``w`` shaped
``(n_in, n_out)``. :func:`init_mlp` picks one by name and multiplies every
weight and bias by ``scale``, the knob the sweeps turn: for the single neuron
with ``method="constant"`` it sets ``w = b = scale``, as in the seed's
``w = b = 0`` versus ``w = b = 2``.
"""

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from lossjax.core.mlp import Params

Initializer = Callable[[jax.Array, Sequence[int]], Params]


def _check_sizes(sizes: Sequence[int]) -> list[int]:
  sizes = [int(n) for n in sizes]
  if len(sizes) < 2 or min(sizes) < 1:
    raise ValueError(
      f"layer sizes must be at least [n_in, n_out] with every size >= 1; got "
      f"{sizes}."
    )
  return sizes


def _layers(
  key: jax.Array,
  sizes: Sequence[int],
  w_init: jax.nn.initializers.Initializer,
  b_init: jax.nn.initializers.Initializer,
  dtype: jnp.dtype,
) -> Params:
  sizes = _check_sizes(sizes)
  params = []
  for layer_key, n_in, n_out in zip(
    jax.random.split(key, len(sizes) - 1), sizes[:-1], sizes[1:], strict=True
  ):
    w_key, b_key = jax.random.split(layer_key)
    params.append(
      (w_init(w_key, (n_in, n_out), dtype), b_init(b_key, (n_out,), dtype))
    )
  return params


def constant_init(
  sizes: Sequence[int], *, value: ArrayLike, dtype: jnp.dtype = jnp.float32
) -> Params:
  """Every weight and bias equal to ``value`` (the seed's ``w = b = 2``)."""
  sizes = _check_sizes(sizes)
  return [
    (jnp.full((n_in, n_out), value, dtype), jnp.full((n_out,), value, dtype))
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
  ]


def gaussian_init(
  key: jax.Array,
  sizes: Sequence[int],
  *,
  stddev: float = 1.0,
  dtype: jnp.dtype = jnp.float32,
) -> Params:
  """Weights ``N(0, stddev^2)``, biases zero."""
  return _layers(
    key,
    sizes,
    jax.nn.initializers.normal(stddev),
    jax.nn.initializers.zeros,
    dtype,
  )


def normalized_init(
  key: jax.Array, sizes: Sequence[int], *, dtype: jnp.dtype = jnp.float32
) -> Params:
  """Weights ``N(0, 1/n_in)``, biases ``N(0, 1)``: the book's default.

  Dividing the weight variance by the fan-in keeps ``z`` of order 1, so hidden
  sigmoids start unsaturated.
  """
  fan_in_normal = jax.nn.initializers.variance_scaling(1.0, "fan_in", "normal")
  return _layers(
    key, sizes, fan_in_normal, jax.nn.initializers.normal(1.0), dtype
  )


def large_init(
  key: jax.Array, sizes: Sequence[int], *, dtype: jnp.dtype = jnp.float32
) -> Params:
  """Weights and biases ``N(0, 1)``: the book's "large weight" initialiser.

  With ``n_in`` inputs of order 1, ``z`` has standard deviation about
  ``sqrt(n_in)``, so sigmoid units start saturated.
  """
  unit_normal = jax.nn.initializers.normal(1.0)
  return _layers(key, sizes, unit_normal, unit_normal, dtype)


def glorot_init(
  key: jax.Array, sizes: Sequence[int], *, dtype: jnp.dtype = jnp.float32
) -> Params:
  """Glorot & Bengio's normalised initialisation (uniform), biases zero."""
  return _layers(
    key,
    sizes,
    jax.nn.initializers.glorot_uniform(),
    jax.nn.initializers.zeros,
    dtype,
  )


def he_init(
  key: jax.Array, sizes: Sequence[int], *, dtype: jnp.dtype = jnp.float32
) -> Params:
  """He et al.'s initialisation for relu layers: N(0, 2/n_in), biases zero."""
  return _layers(
    key,
    sizes,
    jax.nn.initializers.he_normal(),
    jax.nn.initializers.zeros,
    dtype,
  )


INITIALIZERS: tuple[str, ...] = (
  "constant",
  "gaussian",
  "normalized",
  "large",
  "glorot",
  "he",
)
"""Names accepted by :func:`init_mlp`."""


def init_mlp(
  method: str,
  key: jax.Array,
  sizes: Sequence[int],
  *,
  scale: ArrayLike = 1.0,
  dtype: jnp.dtype = jnp.float32,
) -> Params:
  """Initialises an MLP by name, then multiplies every parameter by ``scale``.

  Args:
    method: one of :data:`INITIALIZERS`. ``"constant"`` sets every weight and
      bias to 1 before scaling, so ``scale=v`` means ``w = b = v``.
    key: PRNG key (unused by ``"constant"``).
    sizes: layer sizes ``[n_in, hidden..., n_out]``.
    scale: multiplier for weights and biases; may be traced, so a ``vmap``
      over scales shares one compilation.
    dtype: floating dtype of the parameters.

  Returns:
    A list of ``(w, b)``.
  """
  if method == "constant":
    params = constant_init(sizes, value=1.0, dtype=dtype)
  elif method == "gaussian":
    params = gaussian_init(key, sizes, dtype=dtype)
  elif method == "normalized":
    params = normalized_init(key, sizes, dtype=dtype)
  elif method == "large":
    params = large_init(key, sizes, dtype=dtype)
  elif method == "glorot":
    params = glorot_init(key, sizes, dtype=dtype)
  elif method == "he":
    params = he_init(key, sizes, dtype=dtype)
  else:
    raise ValueError(
      f"Unknown initialiser {method!r}. Choose one of: "
      f"{', '.join(INITIALIZERS)}."
    )
  scale = jnp.asarray(scale, dtype)
  return [(w * scale, b * scale) for w, b in params]
