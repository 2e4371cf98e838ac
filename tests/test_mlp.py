"""Hand-written backpropagation (BP1-BP4) against jax.grad, and MLP shapes."""

import functools

import chex
import jax
import jax.numpy as jnp
from absl.testing import absltest, parameterized

import lossjax
from lossjax.core.mlp import mlp_logits_in_chunks
from tests.test_losses import random_targets
from tests.x64 import X64TestCase

DEPTH_SIZES = {
  1: [6, 4],
  2: [6, 5, 4],
  3: [6, 7, 5, 4],
  4: [6, 3, 8, 5, 4],
}


class BackpropTest(X64TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.product(
    depth=(1, 2, 3, 4),
    pairing=lossjax.PAIRINGS,
    activation=lossjax.HIDDEN_ACTIVATIONS,
  )
  def test_backprop_equals_autodiff(self, depth, pairing, activation):
    sizes = DEPTH_SIZES[depth]
    keys = jax.random.split(jax.random.key(depth), 3)
    params = lossjax.init_mlp("normalized", keys[0], sizes, dtype=jnp.float64)
    # Centred inputs, so relu units sit on both sides of their kink.
    x = jax.random.uniform(keys[1], (9, sizes[0]), jnp.float64, -1.0, 1.0)
    targets = random_targets(keys[2], pairing, (9, sizes[-1]))
    kwargs = dict(pairing=pairing, activation=activation)
    expected = jax.grad(functools.partial(lossjax.mean_loss, **kwargs))(
      params, x, targets
    )
    actual = self.variant(functools.partial(lossjax.backprop, **kwargs))(
      params, x, targets
    )
    chex.assert_trees_all_equal_structs(actual, params)
    chex.assert_trees_all_close(actual, expected, rtol=1e-10, atol=1e-13)

  def test_a_user_activation_without_derivative_uses_autodiff(self):
    # experiments.user_pairing:softplus is a plain function: BP2 takes its
    # slope from jax.jvp.
    sizes = DEPTH_SIZES[3]
    keys = jax.random.split(jax.random.key(5), 3)
    params = lossjax.init_mlp("normalized", keys[0], sizes, dtype=jnp.float64)
    x = jax.random.normal(keys[1], (9, sizes[0]), jnp.float64)
    labels = jax.random.randint(keys[2], (9,), 0, sizes[-1])
    kwargs = dict(
      pairing="softmax_nll", activation="experiments.user_pairing:softplus"
    )
    chex.assert_trees_all_close(
      lossjax.backprop(params, x, labels, **kwargs),
      jax.grad(functools.partial(lossjax.mean_loss, **kwargs))(
        params, x, labels
      ),
      rtol=1e-10,
      atol=1e-13,
    )
    with self.assertRaises(AssertionError):  # the check can fail
      chex.assert_trees_all_close(
        lossjax.backprop(params, x, labels, **kwargs),
        lossjax.backprop(params, x, labels, pairing="softmax_nll"),
        rtol=1e-6,
      )

  def test_backprop_with_labels_and_extra_batch_axes(self):
    params = lossjax.init_mlp(
      "large", jax.random.key(0), [4, 6, 3], dtype=jnp.float64
    )
    x = jax.random.normal(jax.random.key(1), (2, 5, 4), jnp.float64)
    labels = jax.random.randint(jax.random.key(2), (2, 5), 0, 3)
    for pairing in lossjax.PAIRINGS:
      chex.assert_trees_all_close(
        lossjax.backprop(params, x, labels, pairing=pairing),
        jax.grad(lossjax.mean_loss)(params, x, labels, pairing=pairing),
        rtol=1e-10,
        atol=1e-13,
      )


class MlpTest(parameterized.TestCase):
  def test_logits_shape_and_hidden_sigmoid(self):
    params = lossjax.init_mlp("normalized", jax.random.key(0), [3, 5, 2])
    x = jnp.ones((7, 3))
    logits = lossjax.mlp_logits(params, x)
    chex.assert_shape(logits, (7, 2))
    (w1, b1), (w2, b2) = params
    chex.assert_trees_all_close(
      logits, jax.nn.sigmoid(x @ w1 + b1) @ w2 + b2, rtol=1e-6
    )

  def test_wrong_input_width(self):
    params = lossjax.init_mlp("normalized", jax.random.key(0), [3, 2])
    with self.assertRaisesRegex(ValueError, "expects 3 inputs"):
      lossjax.mlp_logits(params, jnp.ones((4, 5)))

  def test_layers_that_do_not_chain(self):
    params = [(jnp.ones((3, 4)), jnp.ones(4)), (jnp.ones((5, 2)), jnp.ones(2))]
    with self.assertRaisesRegex(ValueError, "layer 1.*do not chain"):
      lossjax.mlp_logits(params, jnp.ones((1, 3)))

  def test_empty_params(self):
    with self.assertRaisesRegex(ValueError, "params is empty"):
      lossjax.mlp_logits([], jnp.ones((1, 3)))


class LogitsInChunksTest(X64TestCase):
  @parameterized.parameters((7, 3), (7, 7), (6, 2), (5, 2000), (1, 1))
  def test_chunks_give_the_whole_splits_logits(self, n, chunk):
    keys = jax.random.split(jax.random.key(n), 3)
    models = jax.vmap(
      lambda k: lossjax.init_mlp("normalized", k, [6, 5, 4], dtype=jnp.float64)
    )(keys[:2])
    x = jax.random.uniform(keys[2], (n, 6), jnp.float64)
    whole = jax.vmap(lambda p: lossjax.mlp_logits(p, x, activation="tanh"))
    chunked = jax.vmap(
      lambda p: mlp_logits_in_chunks(p, x, activation="tanh", chunk=chunk)
    )
    chex.assert_trees_all_close(
      jax.jit(chunked)(models), whole(models), rtol=1e-14, atol=0
    )

  def test_no_examples(self):
    params = lossjax.init_mlp("normalized", jax.random.key(0), [3, 2])
    chex.assert_shape(mlp_logits_in_chunks(params, jnp.ones((0, 3))), (0, 2))

  def test_bad_chunk_and_input(self):
    params = lossjax.init_mlp("normalized", jax.random.key(0), [3, 2])
    with self.assertRaisesRegex(ValueError, "chunk is 0"):
      mlp_logits_in_chunks(params, jnp.ones((4, 3)), chunk=0)
    with self.assertRaisesRegex(ValueError, "expected \\(examples, inputs\\)"):
      mlp_logits_in_chunks(params, jnp.ones((2, 4, 3)))


if __name__ == "__main__":
  absltest.main()
