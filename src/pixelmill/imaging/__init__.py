"""Pure image operations on NumPy pixel arrays (RGB/RGBA ``uint8``): no I/O, no runs, no database.

Nodes and the ``local/cv`` provider call these; every function is deterministic for its inputs
(randomness comes from an explicit seed).
"""
