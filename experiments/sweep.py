r"""Sweep a grid of pairings x init scales x learning rates x seeds.

lossjax/studies/sweep.py: vmapped chunks over every device (all processes'
after jax.distributed), saved atomically and skipped on a rerun; --help.

Examples:
  python -m experiments.sweep --task=neuron --pairings=sigmoid_mse,sigmoid_bce \
      --init_scales=0,1,2,4 --lrs=0.1,1 --seeds=0 --epochs=300 --workdir=out/s
  python -m experiments.sweep --preset=mlp_mnist --workdir=out/sweep_mlp
  # Two processes (e.g. two hosts); one command per process:
  python -m experiments.sweep ... --coordinator_address=host0:1234 \
      --num_processes=2 --process_id=0
"""

from lossjax import cli
from lossjax.studies import sweep

if __name__ == "__main__":
  cli.run(sweep, distributed=True)
