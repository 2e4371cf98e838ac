"""The comparison's presets (``--preset``): the README's studies as data.

Each is a dict of :class:`lossjax.studies.compare.Config` field values,
applied before the flags given.
"""

from lossjax import config_fields

# A ranking the README states rests on at least 5 seeds
# (lossjax.metrics.stats.MIN_SEEDS); the gradient preset states none and keeps 3.
PRESETS = {
  # "Neural Networks and Deep Learning", chapters 1 and 3: 50,000 training
  # images, batch 10, 30 epochs, N(0, 1) weights and biases. The book reports
  # one run per setting; ten seeds say how often a setting gets stuck.
  "nielsen": {
    "pairings": ["sigmoid_mse", "sigmoid_bce"],
    "hidden": [[30], [100]],
    "lrs": [["sigmoid_mse", 3.0], ["sigmoid_bce", 0.5]],
    "batch_size": 10,
    "epochs": 30,
    "init": "large",
    "seeds": list(range(10)),
  },
  # Seed 000's question, "are the gradients the same?": the four pairings
  # from the book's large initialisation, with the output error at epochs 0
  # and 1 (the book's rates: 3.0 for the quadratic costs, 0.5 for the rest).
  "pairings": {
    "hidden": [[30]],
    "init": "large",
    "epochs": 10,
    "seeds": [0, 1, 2],
  },
  # Issue 19: does the output pairing still decide the speed of learning
  # when the hidden layers do not saturate? relu hidden layers, each
  # pairing on its own 4-rate grid (selected on validation), from the book's
  # N(0, 1) initialisation (run it again with --init=normalized).
  "relu": {
    "pairings": ["sigmoid_mse", "sigmoid_bce", "softmax_nll", "identity_mse"],
    "hidden": [[30]],
    "hidden_activation": "relu",
    "lrs": config_fields.rate_grid(
      (("sigmoid_mse",), (0.1, 0.3, 1.0, 3.0)),
      (("sigmoid_bce", "softmax_nll"), (0.015, 0.05, 0.15, 0.5)),
      (("identity_mse",), (0.001, 0.003, 0.01, 0.03)),
    ),
    "init": "large",
    "epochs": 10,
    "seeds": list(range(5)),
  },
  # "Is the student right?": 7 pairings, each on its own 5-rate grid,
  # normalised initialisation, the rate selected on validation.
  "square_loss": {
    "pairings": [
      "sigmoid_mse",
      "softmax_mse",
      "sigmoid_bce",
      "softmax_nll",
      "smoothed_nll(eps=0.1)",
      "identity_mse",
      "rescaled_mse(k=3,m=5)",
    ],
    "hidden": [[100]],
    "lrs": config_fields.rate_grid(
      (("sigmoid_mse", "softmax_mse"), (0.3, 1.0, 3.0, 10.0, 30.0)),
      (
        ("sigmoid_bce", "softmax_nll", "smoothed_nll(eps=0.1)"),
        (0.03, 0.1, 0.3, 1.0, 3.0),
      ),
      (("identity_mse",), (0.003, 0.01, 0.03, 0.1, 0.3)),
      (("rescaled_mse(k=3,m=5)",), (0.001, 0.003, 0.01, 0.03, 0.1)),
    ),
    "batch_size": 10,
    "epochs": 30,
    "init": "normalized",
    "seeds": list(range(5)),
  },
}

PRESETS["multilabel"] = {
  # Issue 18: seed 001's guideline on data where an image can carry several
  # labels: 1 to 3 MNIST digits side by side ([2352, 100, 10]), each
  # pairing on a 2-rate grid (its single-label optimum in
  # --preset=square_loss and the next rate up or down), selected on
  # validation exact-set accuracy. The single-label half of the guideline is
  # --preset=square_loss (the same pairings, [784, 100, 10]).
  "data": {"multilabel": 3},
  "pairings": [
    "sigmoid_bce",
    "softmax_nll",
    "sigmoid_mse",
    "softmax_mse",
    "identity_mse",
  ],
  "hidden": [[100]],
  "lrs": config_fields.rate_grid(
    (("sigmoid_mse", "softmax_mse"), (1.0, 3.0)),
    (("sigmoid_bce", "softmax_nll"), (0.1, 0.3)),
    (("identity_mse",), (0.03, 0.1)),
  ),
  "batch_size": 10,
  "epochs": 30,
  "init": "normalized",
  "seeds": list(range(5)),
}
