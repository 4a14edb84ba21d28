"""Structured logging for every floatip process, through structlog.

One call at start-up (``configure``) makes the operator, the agent, the API server and the lab
log the same way: JSON lines for machines (the default in a cluster, where logs are shipped) or
aligned key=value lines for a person at a terminal. Standard-library loggers (kopf's, aiohttp's)
go through the same renderer so one process never mixes two formats.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

Format = Literal["json", "console"]


def configure(*, level: str = "INFO", fmt: Format | None = None, process: str = "") -> None:
    """Send every log record of this process to stderr as structured events.

    ``fmt`` defaults to console on a terminal and JSON elsewhere; ``process`` is bound to
    every event so that the lab's interleaved logs say who spoke.
    """
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    if process:
        structlog.contextvars.bind_contextvars(process=process)


def get(name: str) -> structlog.stdlib.BoundLogger:
    """A logger for one module: ``log = logs.get(__name__)``."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
