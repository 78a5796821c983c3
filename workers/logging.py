"""Structured logs: JSON lines through structlog, for our own logs and for the Temporal SDK's.

Every line inside an activity or workflow carries ``workflow_id`` and ``run_id``. Log ids and counts,
never names, e-mail addresses or diary text.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

# Neither the Temporal SDK nor OpenTelemetry is imported here (about 0.3 s): a command that uses neither
# (``matching run``) does not pay for them. Until a module has imported them, no activity runs and no span
# is recorded, so the processors below look them up in sys.modules.


def _temporal_context(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Add the workflow and run ids: from the SDK's ``extra`` on its loggers, or the running activity."""
    record = event.get("_record")
    if record is not None:
        for key in ("temporal_workflow", "temporal_activity"):
            info = getattr(record, key, None)
            if isinstance(info, dict):
                event.setdefault("workflow_id", info.get("workflow_id"))
                event.setdefault("run_id", info.get("run_id"))
                if "activity_type" in info:
                    event.setdefault("activity_type", info["activity_type"])
                if "workflow_type" in info:
                    event.setdefault("workflow_type", info["workflow_type"])
    activity = sys.modules.get("temporalio.activity")
    if activity is not None and activity.in_activity():
        info_a = activity.info()
        event.setdefault("workflow_id", info_a.workflow_id)
        event.setdefault("run_id", info_a.workflow_run_id)
        event.setdefault("activity_type", info_a.activity_type)
        event.setdefault("attempt", info_a.attempt)
    return event


_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=|\]|$)", re.DOTALL | re.MULTILINE)


def redact(text: str) -> str:
    """``text`` without pydantic's ``input_value=...`` (it quotes the input: e-mail addresses, diary text)."""
    return _INPUT_VALUE.sub("input_value=<redacted>", text) if "input_value=" in text else text


def _without_input_values(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Strip pydantic's ``input_value=...`` from every text of the line, the exception's included."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact(value)
    return event


def _trace_context(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Add the current OpenTelemetry ``trace_id`` and ``span_id`` (hex), when a span is being recorded."""
    otel_trace = sys.modules.get("opentelemetry.trace")
    if otel_trace is None:
        return event
    context = otel_trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event


class _Stderr(logging.StreamHandler[Any]):
    """Writes to whatever ``sys.stderr`` is at the time (it may be replaced, as test runners do)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "asyncpg")


def configure(level: str = "INFO", file: Path | None = None) -> None:
    """JSON lines on stderr (or appended to ``file``), for structlog and stdlib loggers alike."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _temporal_context,
        _trace_context,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _without_input_values,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
    )
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = _Stderr()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # These log SQL statements WITH their parameters (names, e-mail addresses, diary text) at INFO/DEBUG:
    # never below WARNING, whatever ENTRYPOINT_LOG_LEVEL says.
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    if "temporalio" in sys.modules:
        plain_sdk_messages()


def plain_sdk_messages() -> None:
    """The SDK appends workflow info to the message text by default; it is in the fields instead. Done by
    :func:`configure` when the SDK is already imported, and by whatever then runs workflows or activities
    (``workers.worker.build_worker``)."""
    from temporalio import activity, workflow

    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
