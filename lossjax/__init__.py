"""lossjax: why the pairing of output activation and cost function matters.

Pure functions for activations, per-example costs and their closed-form
gradients (checked against ``jax.grad`` in the tests), a sigmoid MLP with
hand-written backpropagation, initialisers, and a ``jit``/``vmap``-compiled
training loop.
"""

from lossjax.activations import (
  sigmoid,
  sigmoid_prime,
  softmax,
  softmax_jacobian,
)
from lossjax.init import (
  INITIALIZERS,
  constant_init,
  gaussian_init,
  glorot_init,
  init_mlp,
  large_init,
  normalized_init,
)
from lossjax.losses import (
  PAIRINGS,
  check_pairing,
  loss,
  loss_by_index,
  output_activation,
  output_delta,
  target_vectors,
)
from lossjax.mlp import Params, backprop, forward, mean_loss, mlp_logits
from lossjax.neuron import dc_da_grads, neuron_output, neuron_params
from lossjax.train import (
  OPTIMIZERS,
  TrainState,
  fit,
  fit_many,
  init_train_state,
  make_optimizer,
  train_epochs,
  train_epochs_many,
)

__all__ = [
  "INITIALIZERS",
  "OPTIMIZERS",
  "PAIRINGS",
  "Params",
  "TrainState",
  "backprop",
  "check_pairing",
  "constant_init",
  "dc_da_grads",
  "fit",
  "fit_many",
  "forward",
  "gaussian_init",
  "init_train_state",
  "glorot_init",
  "init_mlp",
  "large_init",
  "loss",
  "loss_by_index",
  "make_optimizer",
  "mean_loss",
  "mlp_logits",
  "neuron_output",
  "neuron_params",
  "normalized_init",
  "output_activation",
  "output_delta",
  "sigmoid",
  "sigmoid_prime",
  "softmax",
  "softmax_jacobian",
  "target_vectors",
  "train_epochs",
  "train_epochs_many",
]
