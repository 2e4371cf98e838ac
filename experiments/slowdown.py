r"""The single-neuron learning slowdown: quadratic cost versus cross-entropy.

One neuron, input x=1, target y=0, trained from w=b=v for each --inits
entry; see lossjax/studies/slowdown.py. Writes config.json, summary.json,
summary.md, curves.csv and slowdown.png to --workdir.

Examples:
  python -m experiments.slowdown --workdir=out/slowdown
  python -m experiments.slowdown --workdir=out/book --preset=nielsen_ch3
  python -m experiments.slowdown --workdir=out/mine \
      --pairings=sigmoid_mse,experiments.user_pairing:sigmoid_focal
"""

from lossjax import cli
from lossjax.studies import slowdown

if __name__ == "__main__":
  cli.run(slowdown)
