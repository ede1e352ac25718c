"""From configuration to the running output channels (``*_output`` and ``outputs``)."""

from __future__ import annotations

from typing import IO

from sentry.errors import ConfigError
from sentry.outputs.channels import (
    Channel,
    Delivery,
    FileChannel,
    HttpChannel,
    ProgramChannel,
    StdoutChannel,
    SyslogChannel,
)
from sentry.outputs.dispatch import Outputs
from sentry.service.config import Config


def build_channels(cfg: Config, stdout: IO[str] | None = None) -> list[Channel]:
    """One channel per enabled ``*_output`` section; bad settings are ConfigErrors."""
    buffered = cfg.get("buffered_outputs")
    channels: list[Channel] = []
    try:
        if cfg.get("stdout_output.enabled"):
            channels.append(StdoutChannel(stdout, buffered))
        if cfg.get("file_output.enabled"):
            channels.append(
                FileChannel(
                    cfg.get("file_output.filename"), cfg.get("file_output.keep_alive"), buffered
                )
            )
        if cfg.get("syslog_output.enabled"):
            channels.append(
                SyslogChannel(cfg.get("syslog_output.socket"), cfg.get("syslog_output.facility"))
            )
        if cfg.get("program_output.enabled"):
            channels.append(
                ProgramChannel(
                    cfg.get("program_output.program"), cfg.get("program_output.keep_alive")
                )
            )
        if cfg.get("http_output.enabled"):
            h = cfg.section("http_output")
            channels.append(
                HttpChannel(
                    h["url"],
                    timeout=h["timeout"],
                    user_agent=h["user_agent"],
                    insecure=h["insecure"],
                    ca_cert=h["ca_cert"],
                    ca_path=h["ca_path"],
                    client_cert=h["client_cert"],
                    client_key=h["client_key"],
                )
            )
    except (ValueError, OSError) as err:
        raise ConfigError(str(err)) from None
    return channels


def deliver(cfg: Config, channel: Channel) -> Delivery:
    """``channel`` behind its queue and worker, as ``outputs.*`` says."""
    return Delivery(
        channel,
        queue_size=cfg.get("outputs.queue_size"),
        max_retries=cfg.get("outputs.max_retries"),
        backoff=cfg.get("outputs.retry_backoff"),
    )


def build_outputs(cfg: Config, stdout: IO[str] | None = None) -> Outputs:
    """The channels behind their delivery queues and the alert rate limit."""
    deliveries = [deliver(cfg, ch) for ch in build_channels(cfg, stdout)]
    return Outputs(deliveries, cfg.get("outputs.rate"), cfg.get("outputs.max_burst"))
