"""Sentry: runtime security for Linux hosts and Kubernetes.

Layers, each a folder, each importing only those below it:
capture (bytes in) -> events (decoding) -> inspect (state) -> fields -> rules
-> outputs/server -> cli.
"""

__version__ = "0.1.0"
