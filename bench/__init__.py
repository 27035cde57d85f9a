"""Benchmarks: ``python -m bench`` runs them all, ``python -m bench NAME [options]`` one.

Each benchmark prints its figures with a baseline measured in the same run (so a slow or busy
machine shows in both) and the ratio to it. They are not tests: nothing fails on a threshold.
"""
