r"""Sweep a grid of pairings x init scales x learning rates x seeds.

See lossjax/studies/sweep.py: vmapped chunks sharded over every device (all
processes' after jax.distributed), saved atomically and skipped on a rerun.
Writes config.json (--config repeats the sweep), sweep.json (its
fingerprint), chunks/, metrics.jsonl, summary.csv, heatmap.png and curves.png.

Examples:
  python -m experiments.sweep --task=neuron \
      --pairings=sigmoid_mse,sigmoid_bce --init_scales=0,0.5,1,1.5,2,2.5,3,3.5,4 \
      --lrs=0.01,0.03,0.1,0.3,1,3 --seeds=0 --epochs=300 --workdir=out/sweep_neuron
  python -m experiments.sweep --preset=mlp_mnist --workdir=out/sweep_mlp
  python -m experiments.sweep --preset=mlp_fashion --workdir=out/sweep_fashion
  # Two processes (e.g. two hosts); run one command per process:
  python -m experiments.sweep ... --coordinator_address=host0:1234 \
      --num_processes=2 --process_id=0
"""

import jax
from absl import flags

from lossjax import cli
from lossjax.studies import sweep

FLAGS = flags.FLAGS
flags.DEFINE_string(
  "coordinator_address",
  None,
  "host:port of process 0, for jax.distributed.initialize; unset for one process.",
)
flags.DEFINE_integer("num_processes", 1, "Number of processes.", lower_bound=1)
flags.DEFINE_integer("process_id", 0, "This process's index.", lower_bound=0)


def run(config: sweep.Config, workdir):
  """Joins the other processes (if any), then runs the sweep."""
  if FLAGS.num_processes > 1:
    if not FLAGS.coordinator_address or FLAGS.process_id >= FLAGS.num_processes:
      raise ValueError(
        "--num_processes > 1 needs --coordinator_address=host:port and a "
        "--process_id below --num_processes."
      )
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
      FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id
    )
  return sweep.run(config, workdir=workdir)


if __name__ == "__main__":
  cli.define(sweep)
  # Process 0 holds and writes the workdir; the others only train.
  cli.start(cli.main(sweep, run=run, writes=lambda: FLAGS.process_id == 0))
