"""Container metadata for a live ``sentry run`` or ``sentry tail``: the runtime resolvers
(:mod:`sentry.inspect.runtimes`) and, for ``run``, the alert hold (:mod:`sentry.service.hold`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sentry.inspect.containers import ContainerTable
from sentry.inspect.runtimes.manager import EngineStats, Resolvers, clients_from_config
from sentry.rules.alert import Alert
from sentry.service.hold import ContainerAlertHold, HoldStats

if TYPE_CHECKING:
    from sentry.service.config import Config


class ContainerMetadata:
    """Resolvers writing into ``table``; with a ``sink``, also the hold of alerts."""

    def __init__(
        self, cfg: Config, table: ContainerTable, sink: Callable[[Alert], None] | None = None
    ):
        self.resolvers = Resolvers(table, clients_from_config(cfg))
        hold_ms = cfg.get("container_engines.alert_hold_ms")
        self.hold = (
            ContainerAlertHold(table, sink, hold_ms / 1000)
            if sink is not None and hold_ms > 0 and self.resolvers.engines
            else None
        )
        self.resolvers.start()

    def engine_stats(self) -> list[EngineStats]:
        return self.resolvers.stats()

    def hold_stats(self) -> HoldStats | None:
        return self.hold.stats if self.hold is not None else None

    def close(self) -> None:
        """Stop asking runtimes; release the alerts still held (before outputs drain)."""
        self.resolvers.stop()
        if self.hold is not None:
            self.hold.close()
