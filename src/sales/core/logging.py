"""Structured JSON logs; the request id is bound per request by the middleware.

Logs never carry SQL parameter values (issue 9 item 6): the engine hides them from SQLAlchemy's messages
(`hide_parameters`), and a database error is described by its class, SQLSTATE and SQL only, because the
drivers put values in their own messages too (PostgreSQL's `DETAIL: Key (email)=(...)`, asyncpg's "invalid
input for query argument $1: '+91-98...'").
"""
from __future__ import annotations

import logging
import traceback
from types import TracebackType

import structlog
from sqlalchemy import exc as sa_exc

# Modules whose exceptions come from a database driver (SQLAlchemy wraps them; their text may hold values).
_DRIVER_MODULES = ("asyncpg", "sqlite3", "aiosqlite", "sqlalchemy.dialects")


def _is_database_error(exc: BaseException) -> bool:
    return isinstance(exc, sa_exc.StatementError) or type(exc).__module__.startswith(_DRIVER_MODULES)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts, outermost first (as Python links them for tracebacks)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and not any(current is seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain


# What drivers say about an error without quoting data: (attribute, how it is shown).
_SAFE_FACTS = (("sqlstate", "SQLSTATE {}"), ("constraint_name", "constraint {}"), ("sqlite_errorname", "{}"))


def _database_facts(chain: list[BaseException]) -> str:
    facts: list[str] = []
    for error in chain:
        for attribute, template in _SAFE_FACTS:
            value = getattr(error, attribute, None)
            if isinstance(value, str) and value and template.format(value) not in facts:
                facts.append(template.format(value))
    return ", ".join(facts)


def describe_exception(exc: BaseException) -> str:
    """`Type: message` for logs and stored errors; a database error without its message or parameters."""
    chain = _chain(exc)
    if not _is_database_error(exc):
        return f"{type(exc).__name__}: {exc}"
    drivers = [type(e).__name__ for e in chain[1:] if _is_database_error(e)]
    driver = drivers[-1] if drivers else None  # the innermost: the driver's own, most specific class
    details = ", ".join(filter(None, [driver, _database_facts(chain)]))
    text = type(exc).__name__ + (f" ({details})" if details else "")
    statement = getattr(exc, "statement", None)
    if statement:
        text += f" [SQL: {' '.join(str(statement).split())[:500]}]"
    return text


def format_exception(exc_info: tuple[type[BaseException], BaseException, TracebackType | None]) -> str:
    """traceback.format_exception, except that database errors (and the driver errors under them) show
    describe_exception's text instead of their messages."""
    chain = _chain(exc_info[1])
    first_database_error = next((i for i, e in enumerate(chain) if _is_database_error(e)), len(chain))
    parts: list[str] = []
    for position in range(len(chain) - 1, -1, -1):  # innermost first, as Python prints a chain
        error = chain[position]
        if position > first_database_error:
            message = f"{type(error).__module__}.{type(error).__qualname__} (message withheld)"
        elif position == first_database_error:
            message = describe_exception(error)
        else:
            message = "".join(traceback.format_exception_only(error)).rstrip()
        parts.append("Traceback (most recent call last):\n" + "".join(traceback.format_tb(error.__traceback__))
                     + message + "\n")
        if position > 0:
            parts.append("\nThe above exception was the direct cause of the following exception:\n\n"
                         if chain[position - 1].__cause__ is error else
                         "\nDuring handling of the above exception, another exception occurred:\n\n")
    return "".join(parts)


class _DatabaseValuesHidden(logging.Filter):
    """For stdlib loggers (uvicorn prints the app's unhandled errors): the traceback as format_exception
    renders it, set before any handler formats the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception(record.exc_info)  # type: ignore[arg-type]
        return True


_HIDE_VALUES = _DatabaseValuesHidden()
# Stdlib loggers that print our exceptions: uvicorn re-raises what the app's 500 handler answered.
_STDLIB_LOGGERS = ("uvicorn.error", "asyncio")


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.ExceptionRenderer(format_exception),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # No file given: each line goes to the sys.stdout of the moment (what tests capture).
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )
    for name in _STDLIB_LOGGERS:
        logging.getLogger(name).addFilter(_HIDE_VALUES)
