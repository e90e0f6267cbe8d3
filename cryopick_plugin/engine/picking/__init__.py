"""Method-independent picking: working pixel size, peaks, metrics, thresholds."""
