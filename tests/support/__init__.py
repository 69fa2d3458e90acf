"""Helpers the tests and the benchmarks share: real servers on 127.0.0.1 and headless Chromium.

The benchmarks (bench/) put this folder's parent on sys.path to import them too.
"""
