"""The training loops: the generic ``jit``/``vmap`` loop, the exact windowed
SGD, a study's groups of runs, and the sharded sweeps."""
