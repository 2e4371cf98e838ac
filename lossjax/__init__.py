"""lossjax: why the pairing of output activation and cost function matters.

Pairings of output activation and cost as values (an open registry: built-in
names, your own :class:`Pairing`, or an import string), per-example costs
and their closed-form gradients (checked against ``jax.grad``), an MLP with
any hidden activation (sigmoid, tanh, relu, identity or your own) and
hand-written backpropagation, initialisers, and a ``jit``/``vmap`` training
loop. The studies live in :mod:`lossjax.studies`.
"""

from lossjax.core.activations import (
  sigmoid,
  sigmoid_prime,
  softmax,
  softmax_jacobian,
)
from lossjax.core.hidden import (
  HIDDEN_ACTIVATIONS,
  HiddenActivation,
  resolve_hidden_activation,
)
from lossjax.core.init import (
  INITIALIZERS,
  constant_init,
  gaussian_init,
  glorot_init,
  he_init,
  init_mlp,
  large_init,
  normalized_init,
)
from lossjax.core.losses import (
  activation_slope,
  loss,
  loss_by_index,
  output_activation,
  output_delta,
  target_vectors,
)
from lossjax.core.mlp import (
  Params,
  backprop,
  forward,
  forward_from_first,
  mean_loss,
  mlp_logits,
)
from lossjax.core.neuron import dc_da_grads, neuron_output, neuron_params
from lossjax.core.pairings import (
  PAIRINGS,
  Pairing,
  check_closed_form,
  rescaled_mse,
  resolve_pairing,
  smoothed_nll,
)
from lossjax.training.train import (
  choose_window,
  fit,
  fit_many,
  train_epochs,
  train_epochs_many,
)
from lossjax.training.train_state import (
  OPTIMIZERS,
  Optimizer,
  TrainState,
  init_train_state,
  learning_rate_of,
)

__all__ = [
  "HIDDEN_ACTIVATIONS",
  "HiddenActivation",
  "INITIALIZERS",
  "OPTIMIZERS",
  "PAIRINGS",
  "Optimizer",
  "Pairing",
  "Params",
  "TrainState",
  "activation_slope",
  "backprop",
  "check_closed_form",
  "choose_window",
  "rescaled_mse",
  "smoothed_nll",
  "constant_init",
  "dc_da_grads",
  "fit",
  "fit_many",
  "forward",
  "forward_from_first",
  "he_init",
  "resolve_hidden_activation",
  "gaussian_init",
  "init_train_state",
  "glorot_init",
  "init_mlp",
  "large_init",
  "loss",
  "loss_by_index",
  "learning_rate_of",
  "mean_loss",
  "mlp_logits",
  "neuron_output",
  "neuron_params",
  "normalized_init",
  "output_activation",
  "output_delta",
  "resolve_pairing",
  "sigmoid",
  "sigmoid_prime",
  "softmax",
  "softmax_jacobian",
  "target_vectors",
  "train_epochs",
  "train_epochs_many",
]
