"""Sentry: runtime security for Linux hosts and Kubernetes.

Layers, each a folder (the pipeline one module), each importing only those below it:
events (table, decoding) -> capture (files, drivers) -> inspect (state) -> fields -> rules
-> pipeline (the run loop: pipeline.py) -> outputs -> server -> service (daemon) -> cli.
"""

from sentry.version import version as _version

__version__ = _version()
