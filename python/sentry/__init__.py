"""Sentry: runtime security for Linux hosts and Kubernetes.

Layers, each a folder, each importing only those below it:
events (table, decoding) -> capture (files, drivers) -> inspect (state) -> fields -> rules
-> outputs -> server -> service (daemon) -> cli.
"""

__version__ = "0.1.0"
