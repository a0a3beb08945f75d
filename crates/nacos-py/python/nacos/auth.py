"""Credentials for access-key signing, as nacos-sdk-python 2.x passes them
(``NacosClient(credentials_provider=...)``)."""

from abc import ABC, abstractmethod


class Credentials(object):
    """An access key, its secret and an optional security token."""

    def __init__(self, access_key_id, access_key_secret, security_token=None):
        self._access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        self._security_token = security_token

    def get_access_key_id(self):
        return self._access_key_id

    def get_access_key_secret(self):
        return self._access_key_secret

    def get_security_token(self):
        return self._security_token


class CredentialsProvider(ABC):
    """Gives the credentials to sign with. This package asks once, when the client is
    created."""

    @abstractmethod
    def get_credentials(self):
        """Returns a :class:`Credentials`."""


class StaticCredentialsProvider(CredentialsProvider):
    """The same credentials every time."""

    def __init__(self, access_key_id="", access_key_secret="", security_token=""):
        self._credentials = Credentials(access_key_id, access_key_secret, security_token)

    def get_credentials(self):
        return self._credentials
