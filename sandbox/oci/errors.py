"""OCI's error replies: `{"code", "message"}` with the status OCI uses for that code."""


class OciError(Exception):
    status = 500
    code = "InternalServerError"

    def __init__(self, message: str, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict:
        return {"code": self.code, "message": self.message}


def shown(value) -> str:
    """A value as an error message shows it: quoted, or that none was given (never Python's `None`)."""
    return "(none given)" if value is None else f"'{value}'"


def _error(name: str, status: int, code: str | None = None) -> type[OciError]:
    return type(name, (OciError,), {"status": status, "code": code or name})


InvalidParameter = _error("InvalidParameter", 400)
MissingParameter = _error("MissingParameter", 400)
NotAuthenticated = _error("NotAuthenticated", 401)
NotAuthorizedOrNotFound = _error("NotAuthorizedOrNotFound", 404)
Conflict = _error("Conflict", 409)
IncorrectState = _error("IncorrectState", 409)
PreconditionFailed = _error("PreconditionFailed", 412, "NoEtagMatch")
TooManyRequests = _error("TooManyRequests", 429)
InternalServerError = _error("InternalServerError", 500)
ServiceUnavailable = _error("ServiceUnavailable", 503)

BY_STATUS = {cls.status: cls for cls in (InvalidParameter, NotAuthenticated, NotAuthorizedOrNotFound,
                                         Conflict, PreconditionFailed, TooManyRequests,
                                         InternalServerError, ServiceUnavailable)}
