"""No settings: gunicorn's defaults, for the reference servers the benchmarks run."""
