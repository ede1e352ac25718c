"""Imports every field family module so that each registers its fields."""

from sentry.fields import (  # noqa: F401
    container,
    evt,
    fd,
    group,
    ka,
    proc,
    thread,
    user,
)
