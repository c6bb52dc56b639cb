"""Domain errors. Each carries its wire ``code`` and HTTP status, so every transport maps them alike."""

from __future__ import annotations

from typing import Any


class TutorNBError(Exception):
    code = "INTERNAL_ERROR"
    http_status = 500

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class InvalidRequest(TutorNBError):
    code = "INVALID_REQUEST"
    http_status = 400


class InvalidSessionState(TutorNBError):
    code = "INVALID_SESSION_STATE"
    http_status = 400


class SessionNotFound(TutorNBError):
    code = "SESSION_NOT_FOUND"
    http_status = 404

    def __init__(self, session_id: str | None = None) -> None:
        # The id is echoed only when it is a valid id: never reflect arbitrary input.
        from tutornb.models import is_valid_session_id

        shown = session_id if is_valid_session_id(session_id) else None
        super().__init__(f"No session {shown!r}." if shown else "No such session.")


class NotFound(TutorNBError):
    code = "NOT_FOUND"
    http_status = 404


class PayloadTooLarge(TutorNBError):
    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class QuotaExceeded(TutorNBError):
    code = "QUOTA_EXCEEDED"
    http_status = 507


class RateLimited(TutorNBError):
    code = "RATE_LIMITED"
    http_status = 429


class StoreError(TutorNBError):
    """The store could not complete a write (I/O error, disk full); nothing was acknowledged."""

    code = "STORE_UNAVAILABLE"
    http_status = 503


class StoreFolderUnsafe(StoreError):
    """The store folder (or a file in it) is a link, someone else's, or not a plain file: another
    local user may have planted it, so nothing is opened, written or chmod'ed through it."""


class StoreVersionError(TutorNBError):
    """The store was written by a newer tutornb; refusing to open it protects the learner's data."""

    code = "STORE_TOO_NEW"
    http_status = 500


class InvalidPolicy(TutorNBError):
    """The server's ``TutorNBApp.policy`` does not fit the policy model: tutornb does not start
    rather than tutor under a policy the admin did not set."""

    code = "INVALID_POLICY"
    http_status = 503


class TutorUnavailable(TutorNBError):
    code = "TUTOR_UNAVAILABLE"
    http_status = 503
