r"""Throughput of training the book's network: NumPy loop versus lossjax.

See lossjax/studies/benchmark.py. Writes benchmark.json (with the table) to
--workdir and prints the table.

Example:
  python -m experiments.benchmark --workdir=out/benchmark
"""

from lossjax import cli
from lossjax.studies import benchmark

if __name__ == "__main__":
  cli.run(benchmark)
