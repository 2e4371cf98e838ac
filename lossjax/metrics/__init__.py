"""What is measured: calibration, label-set metrics, the evaluators a
training loop calls each epoch, and the intervals the conclusions rest on."""
