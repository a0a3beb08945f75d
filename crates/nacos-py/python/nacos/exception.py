"""The exceptions of the package, as nacos-sdk-python names them."""


class NacosException(Exception):
    """A call failed: an invalid argument (nothing was sent), a server's refusal, or an
    answer that could not be read. The message is the client's own description.

    A server's refusal also carries ``status`` (the HTTP status, ``403`` for a missing
    permission) and ``server`` (``host:port``); both are ``None`` otherwise.
    """

    status = None
    server = None


class NacosRequestException(NacosException):
    """No server answered: every server was unreachable or timed out. The message names
    each server tried and why it failed."""
