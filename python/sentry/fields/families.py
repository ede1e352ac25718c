"""Imports every field family module so that each registers its fields."""

from sentry.fields import (  # noqa: F401
    container,
    evt,
    fd,
    group,
    k8s,
    ka,
    ka_pod,
    proc,
    thread,
    user,
)
