"""Where examples come from: MNIST-like datasets (offline IDX copies or
TFDS), their options as a typed config, label noise and multi-label
composites."""
