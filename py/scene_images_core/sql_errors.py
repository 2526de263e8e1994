"""The errors the SQL layer raises itself (argument checks, access, versions, jobs), by SQLSTATE.

Together with errors.ERRORS this is the whole error table: the README's, the Python client's
exception classes and the names PL/Python puts in front of messages all come from here.
"""

from __future__ import annotations

from .errors import ERRORS

SQL_ERRORS: dict[str, tuple[str, str]] = {
    "22004": ("NullArgument", "a required argument is NULL"),
    "22023": ("InvalidArgument", "an argument is malformed: scene_id, metadata, bulk requests, settings, job completion facts"),
    "23514": ("ConstraintViolation", "a row breaks a check constraint of scene_images"),
    "42501": ("PermissionDenied", "the caller does not own the project, or may not call the function"),
    "54000": ("LimitExceeded", "a size or count limit: prompt or metadata size, metadata depth, pending jobs per "
                               "project, items per bulk call (configure_scene_image_limits)"),
    "SIP01": ("ProjectNotFound", "the project does not exist"),
    "SIV01": ("VersionNotFound", "the scene has no such version"),
    "SIJ01": ("JobNotFound", "the job does not exist"),
    "SIJ02": ("JobNotRetryable",
              "only failed jobs can be retried, and only within 24 hours of their final failure (then enqueue again)"),
    "SIJ03": ("JobLeaseExpired", "the worker holding a job's last attempt stopped without an answer"),
    "SIJ04": ("JobNotHeld", "the job is not held by this worker and login with a live lease (a stale or forged report)"),
}


def error_name(sqlstate: str | None) -> str | None:
    """The class name of a documented SQLSTATE (ours or the ingest errors'), else None."""
    if sqlstate in SQL_ERRORS:
        return SQL_ERRORS[sqlstate][0]
    return next((cls.__name__ for cls in ERRORS if cls.sqlstate == sqlstate), None)
