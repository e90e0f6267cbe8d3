"""The Selective FixMatch patch classifier (seed 001): network, teacher, picker, training."""
