"""The pure maths: pairings of output activation and cost, their losses and
closed-form gradients, hidden activations, the MLP, initialisers and the
single neuron. Nothing here reads data, trains or writes."""
