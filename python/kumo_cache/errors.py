"""Exceptions raised by the kumo cache client."""


class KumoCacheError(Exception):
    """Base class: an unexpected status or a transport failure."""

    def __init__(self, message, status=None, url=None):
        super().__init__(message)
        self.status = status
        self.url = url


class ObjectNotFound(KumoCacheError, KeyError):
    """404: the object is not in the cache."""

    def __str__(self):  # KeyError's str() would quote the message
        return Exception.__str__(self)


class Unauthorized(KumoCacheError, PermissionError):
    """401: token missing, malformed, forged, expired or for another issuer/audience."""


class Forbidden(KumoCacheError, PermissionError):
    """403: the token's namespace may not read/write this bucket."""


class RangeNotSatisfiable(KumoCacheError, ValueError):
    """416: the requested byte range lies outside the object."""


class TooManyRedirects(KumoCacheError):
    """More than max_redirects 307 hops."""
