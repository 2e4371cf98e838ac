r"""Saturation in deep networks (Glorot & Bengio 2010; the book's ch. 5).

See lossjax/studies/saturation.py: sigmoid, tanh and relu hidden layers
(--hidden_activations). Writes config.json, metrics.jsonl, summary.json,
summary.md, layers_depth<D>_<activation>.png and grad_ratio.png.

Example:
  python -m experiments.saturation --workdir=out/saturation
"""

from lossjax import cli
from lossjax.studies import saturation

if __name__ == "__main__":
  cli.run(saturation)
