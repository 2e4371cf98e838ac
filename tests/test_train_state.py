"""What every loop shares: the epoch's mini-batches and stacked states."""

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest

import lossjax
from lossjax.training.train_state import (
  epoch_batches,
  epoch_record,
  init_opt_states,
)


class EpochBatchesTest(absltest.TestCase):
  def test_a_permutation_without_the_remainder(self):
    key, batches = epoch_batches(jax.random.key(0), 10, 3)
    self.assertEqual(batches.shape, (3, 3))
    self.assertLen(set(np.asarray(batches).ravel().tolist()), 9)
    self.assertTrue(np.all((batches >= 0) & (batches < 10)))
    # The next epoch draws from the returned key: another order.
    _, again = epoch_batches(key, 10, 3)
    self.assertFalse(np.array_equal(batches, again))

  def test_full_batch_is_every_example_in_order(self):
    _, batches = epoch_batches(jax.random.key(0), 5, 5)
    np.testing.assert_array_equal(batches, [[0, 1, 2, 3, 4]])


class EpochRecordTest(absltest.TestCase):
  def test_means_over_steps(self):
    record = epoch_record(
      jnp.array([1.0, 3.0]),
      jnp.array([[1.0, 2.0], [3.0, 4.0]]),
      jnp.array([[0.0, 2.0], [2.0, 2.0]]),
    )
    np.testing.assert_allclose(record["cost"], 2.0)
    np.testing.assert_allclose(record["grad_norm"], [2.0, 3.0])
    np.testing.assert_allclose(record["bias_grad_norm"], [1.0, 2.0])


class InitOptStatesTest(absltest.TestCase):
  def test_the_rates_axes_are_the_configuration_axes(self):
    params = jax.vmap(
      jax.vmap(lambda k: lossjax.init_mlp("normalized", k, [3, 2]))
    )(jax.random.split(jax.random.key(0), (2, 3)))
    rates = jnp.arange(6.0).reshape(2, 3)
    optimizer = lossjax.Optimizer(weight_decay=0.1)
    state = init_opt_states(params, rates, optimizer=optimizer)
    np.testing.assert_array_equal(lossjax.learning_rate_of(state), rates)


if __name__ == "__main__":
  absltest.main()
