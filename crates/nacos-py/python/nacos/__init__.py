"""nacos-sdk-python's ``NacosClient`` naming API, served by a Rust Nacos client.

``import nacos`` and ``nacos.NacosClient(...)`` work as with nacos-sdk-python 1.0.0/2.0.x for
the naming calls; see the distribution's README for what differs and why.
"""

from . import client
from .client import DEFAULT_GROUP_NAME, DEFAULTS, NacosClient, ServiceInstances
from .exception import NacosException, NacosRequestException

__version__ = client.VERSION

__all__ = [
    "NacosClient",
    "NacosException",
    "NacosRequestException",
    "ServiceInstances",
    "DEFAULTS",
    "DEFAULT_GROUP_NAME",
]
