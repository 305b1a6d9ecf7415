"""Adaptive start-point sampling for mjlab: a multi-motion tracking command and a registered G1 task."""
