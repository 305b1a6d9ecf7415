"""Benchmarks of the sampler (speed, learning efficiency); not part of the installed package."""
