"""``NacosClient``: nacos-sdk-python's naming calls, with its signatures and defaults.

Each method brings its arguments to one form (metadata as a dict of strings, clusters as a
list, a grouped ``group@@service`` name split) and hands them to the Rust client
(``nacos._native.Core``), which validates them, sends the request with the GIL released and
keeps heartbeats and subscriptions on its own threads. Nothing here speaks to a server.
"""

import atexit
import json
import logging
import os
import threading
import weakref
from logging.handlers import TimedRotatingFileHandler

from . import _native
from .exception import NacosException
from .listener import Event

try:
    from importlib.metadata import PackageNotFoundError, version as _dist_version
except ImportError:  # pragma: no cover (Python 3.7 and older are not supported)
    _dist_version = None

logger = logging.getLogger("nacos")

try:
    VERSION = _dist_version("nacos-naming-py")
except Exception:  # not installed as a distribution (a source tree on sys.path)
    VERSION = "0.0.0"

DEFAULT_GROUP_NAME = "DEFAULT_GROUP"
DEFAULT_NAMESPACE = ""

# The old client's settings, read when a client is created. TIMEOUT (seconds per request and
# server) applies to naming calls; SUBSCRIBE_POLL_INTERVAL (seconds between two polls of a
# subscribed service; None: the server's cacheMillis, 10 s) is this package's; the others are
# the old config API's and kept for code that reads them.
DEFAULTS = {
    "APP_NAME": "Nacos-SDK-Python",
    "TIMEOUT": 3,
    "PULLING_TIMEOUT": 30,
    "PULLING_CONFIG_SIZE": 3000,
    "CALLBACK_THREAD_NUM": 10,
    "FAILOVER_BASE": "nacos-data/data",
    "SNAPSHOT_BASE": "nacos-data/snapshot",
    "SUBSCRIBE_POLL_INTERVAL": None,
}

OPTIONS = {"default_timeout", "pulling_timeout", "pulling_config_size", "callback_thread_num",
           "failover_base", "snapshot_base", "no_snapshot", "proxies"}

GROUP_SEPARATOR = "@@"

# Every live client, to stop them at interpreter exit and to reset them in a forked child.
_CLIENTS = weakref.WeakSet()
_LOG_FILES = set()


class ServiceInstances(list):
    """What ``list_naming_instance`` returns: the list of instance dicts, which is what the
    seed's examples iterate over, that also answers the service fields the old client's dict
    had: ``result["hosts"]``, ``result.get("hosts", [])``, ``result["cacheMillis"]``,
    ``result["name"]``, ``"hosts" in result``, ``result.keys()``.

    A list first, because iterating over instances is the common use and ``len(result)`` is
    then the number of instances; string keys reach the service's fields, which a list never
    has, so code written for either form keeps working. ``dict(result.items())`` gives the
    old dict.
    """

    def __init__(self, service):
        super(ServiceInstances, self).__init__(service.get("hosts") or [])
        self._service = service

    def __getitem__(self, key):
        if isinstance(key, str):
            return self._service[key]
        return super(ServiceInstances, self).__getitem__(key)

    def __contains__(self, item):
        if isinstance(item, str):
            return item in self._service
        return super(ServiceInstances, self).__contains__(item)

    def get(self, key, default=None):
        """The service field ``key`` (``hosts``, ``cacheMillis``, ``name``...)."""
        return self._service.get(key, default)

    def keys(self):
        """The service fields' names."""
        return self._service.keys()

    def items(self):
        """The service fields."""
        return self._service.items()

    def values(self):
        """The service fields' values."""
        return self._service.values()


class SubscribedLocalInstance(object):
    """The ``instance`` argument of an old-style listener: ``instance`` is the instance dict."""

    def __init__(self, key, instance):
        self.key = key
        self.instance = instance
        self.instance_id = _instance_key(instance)
        self.md5 = None


def _instance_key(instance):
    return instance.get("instanceId") or "%s#%s#%s" % (
        instance.get("ip"), instance.get("port"), instance.get("clusterName"))


def _call_listener(fn, *args):
    """Calls a user's listener; its exception goes to ``sys.unraisablehook``, like any
    callback's that nobody can return an error to, and stops nothing."""
    try:
        fn(*args)
    except BaseException as error:  # noqa: B902 (a listener must never stop the others)
        _native.report_unraisable(error, fn)


class _SeedListener(object):
    """``listener_fn(event)`` with the service-change event dict (the seed's form)."""

    def __init__(self, fn):
        self.target = fn

    def matches(self, target):
        return target is self.target or target == self.target

    def __call__(self, event):
        _call_listener(self.target, event)


class _LegacyListener(object):
    """An old-style listener object (``SubscribeListener``), called as
    ``launch(event_type, SubscribedLocalInstance)`` once per changed instance.

    As the old client meant to, the list found when subscribing is where changes count from
    and is not announced. With ``healthy_only`` an instance turning unhealthy is DELETED and
    one turning healthy again ADDED.
    """

    def __init__(self, listener, service_name, healthy_only):
        self.target = listener
        self.service_name = service_name
        self.healthy_only = healthy_only
        self.first = True
        self.visible = set()

    def matches(self, target):
        if isinstance(target, str):
            return getattr(self.target, "listener_name", None) == target
        return target is self.target or target == self.target

    def __call__(self, event):
        changes = []
        shown = lambda i: i.get("healthy", True) or not self.healthy_only  # noqa: E731
        for instance in event["added"]:
            if shown(instance):
                changes.append((Event.ADDED, instance))
        for instance in event["modified"]:
            key = _instance_key(instance)
            if shown(instance):
                changes.append((Event.MODIFIED if key in self.visible else Event.ADDED, instance))
            elif key in self.visible:
                changes.append((Event.DELETED, instance))
        for instance in event["removed"]:
            if _instance_key(instance) in self.visible:
                changes.append((Event.DELETED, instance))
        for kind, instance in changes:
            if kind == Event.DELETED:
                self.visible.discard(_instance_key(instance))
            else:
                self.visible.add(_instance_key(instance))
        if self.first:
            self.first = False
            return
        for kind, instance in changes:
            slc = SubscribedLocalInstance(self.service_name, instance)
            _call_listener(self.target.launch, kind, slc)


class _Subscription(object):
    __slots__ = ("listener", "token", "namespace_id", "group_name")

    def __init__(self, listener, token, namespace_id, group_name):
        self.listener = listener
        self.token = token
        self.namespace_id = namespace_id
        self.group_name = group_name


def _is_legacy_listener(obj):
    return hasattr(obj, "launch") and hasattr(obj, "listener_name")


def _text(name, value, required=True):
    if value is None:
        if required:
            raise NacosException("invalid %s: must be given" % name)
        return None
    if not isinstance(value, str):
        raise NacosException("invalid %s: must be a string, not %s" % (name, type(value).__name__))
    return value


def _service(service_name, group_name):
    """``(service, group)``: a grouped ``group@@service`` name wins over ``group_name``, as
    the server read it when the old client sent it as it was."""
    service_name = _text("service_name", service_name)
    if GROUP_SEPARATOR in service_name:
        group, _, name = service_name.partition(GROUP_SEPARATOR)
        return name, group
    return service_name, _text("group_name", group_name, required=False) or None


def _port(port):
    if isinstance(port, bool):
        raise NacosException("invalid port: must be a number, not a bool")
    try:
        number = int(port)
    except (TypeError, ValueError):
        raise NacosException("invalid port: %r is not a number" % (port,))
    if not 0 < number < 65536:
        raise NacosException("invalid port: %d is not between 1 and 65535" % number)
    return number


def _number(name, value):
    if isinstance(value, bool):
        raise NacosException("invalid %s: must be a number, not a bool" % name)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise NacosException("invalid %s: %r is not a number" % (name, value))


def _metadata(metadata):
    """A dict of strings from a dict or a JSON object text (both forms the old client took);
    ``None`` for none or an empty one."""
    if metadata is None or metadata == "":
        return None
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError as e:
            raise NacosException("invalid metadata: not JSON: %s" % e)
    if not isinstance(metadata, dict):
        raise NacosException("invalid metadata: must be a dict or a JSON object")
    if not metadata:
        return None
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}


def _cluster_list(clusters):
    """A list of cluster names from a comma-separated string (the old client's form) or a
    list (the seed's)."""
    if clusters is None or clusters == "":
        return []
    if isinstance(clusters, str):
        clusters = clusters.split(",")
    return [_text("clusters", c).strip() for c in clusters if c is None or c.strip()]


def _flag(name, value):
    if value is None:
        return None
    if isinstance(value, str):
        # The old client sent its arguments as text; "false" must not read as True.
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise NacosException("invalid %s: %r is not a boolean" % (name, value))
    return bool(value)


class NacosClient(object):
    """A Nacos naming client with nacos-sdk-python's ``NacosClient`` API.

    ``server_addresses`` is a comma-separated list of ``host:port`` (``http://`` or
    ``https://`` prefixes allowed). Nothing is sent when the client is created, unless a
    ``username`` and ``password`` are given: it logs in then. What this client does not
    support raises :class:`NacosException` here, never later: an ``endpoint`` address server
    without ``server_addresses``, and credentials with a security token.

    Logging goes to the ``logging`` logger ``nacos``; ``log_level`` sets that logger's level,
    and ``logDir`` (with ``log_rotation_backup_count``, default 7) adds a daily rotated file
    ``nacos-client-python.log`` there. Without ``logDir`` no file is written.

    The client may be used from any number of threads. It is stopped when the interpreter
    exits (or by :meth:`shutdown`); in the child of ``os.fork()`` it starts afresh, without the
    parent's heartbeats and subscriptions.
    """

    def __init__(self, server_addresses=None, endpoint=None, namespace=None, ak=None,
                 sk=None, username=None, password=None, logDir=None, log_level=None,
                 log_rotation_backup_count=None, credentials_provider=None):
        _configure_logging(logDir, log_level, log_rotation_backup_count)
        if server_addresses is None or not str(server_addresses).strip():
            if endpoint is not None and str(endpoint).strip():
                raise NacosException(
                    "endpoint (an address server) is not supported by this client: "
                    "pass the Nacos servers as server_addresses")
            raise NacosException("server_addresses is required")
        if endpoint:
            logger.warning("endpoint %s ignored: server_addresses is given", endpoint)
        if credentials_provider is not None:
            credentials = credentials_provider.get_credentials()
            ak = credentials.get_access_key_id() or None
            sk = credentials.get_access_key_secret() or None
            if credentials.get_security_token():
                raise NacosException(
                    "credentials with a security token (STS) are not supported by this client")
        self.server_addresses = _text("server_addresses", server_addresses).strip()
        self.endpoint = endpoint
        self.namespace = namespace or DEFAULT_NAMESPACE
        self.ak = ak
        self.username = username
        self.default_timeout = DEFAULTS["TIMEOUT"]
        self.auth_enabled = bool(ak and sk)
        self.logDir = logDir
        self._settings = (self.server_addresses, self.namespace or None, ak or None, sk or None,
                          username or None, password or None,
                          _number("TIMEOUT", self.default_timeout), _poll_interval())
        self._lock = threading.Lock()
        self._subscriptions = {}
        self._core = _native.Core(*self._settings)
        _CLIENTS.add(self)
        logger.info("nacos client for %s, namespace %r", self.server_addresses, self.namespace)

    # The Rust client; in a forked child, a new one on first use.
    def _client(self):
        core = self._core
        if core is None:
            with self._lock:
                if self._core is None:
                    self._core = _native.Core(*self._settings)
                core = self._core
        return core

    def set_options(self, **kwargs):
        """Sets options of the old client by name; they concern its config API and are
        stored as attributes only. Unknown names are logged and ignored."""
        for key, value in kwargs.items():
            if key not in OPTIONS:
                logger.warning("[set_options] unknown option: %s, ignored", key)
                continue
            setattr(self, key, value)

    def add_naming_instance(self, service_name, ip, port, cluster_name=None, weight=1.0,
                            metadata=None, enable=True, healthy=True, ephemeral=True,
                            group_name=DEFAULT_GROUP_NAME, heartbeat_interval=None, **kwargs):
        """Registers an instance; returns ``True``.

        ``metadata`` is a dict or a JSON object text. ``enabled=`` (the seed's name) is taken
        for ``enable``. With ``heartbeat_interval`` (seconds) an ephemeral instance is kept
        alive by the client's heartbeat threads from now until ``remove_naming_instance``,
        and registered again if a server loses it; without it nothing is beaten, as with the
        old client (call ``send_heartbeat``, or the server expires the instance).

        Raises :class:`NacosException` for an invalid argument (before anything is sent) or a
        server's refusal, :class:`NacosRequestException` when no server answers.
        """
        enable = _pop_enabled(kwargs, enable)
        name, group = _service(service_name, group_name)
        interval = None if heartbeat_interval is None else _number(
            "heartbeat_interval", heartbeat_interval)
        self._client().register(
            name, _text("ip", ip), _port(port), _text("cluster_name", cluster_name, False),
            _number("weight", 1.0 if weight is None else weight), _metadata(metadata),
            _flag("enable", enable) is not False, _flag("healthy", healthy) is not False,
            _flag("ephemeral", ephemeral) is not False, group, interval)
        return True

    def remove_naming_instance(self, service_name, ip, port, cluster_name=None, ephemeral=True,
                               group_name=DEFAULT_GROUP_NAME):
        """Deregisters an instance and stops its heartbeats; returns ``True``.

        Raises :class:`NacosException` for an invalid argument or a server's refusal,
        :class:`NacosRequestException` when no server answers.
        """
        name, group = _service(service_name, group_name)
        self._client().deregister(
            name, _text("ip", ip), _port(port), _text("cluster_name", cluster_name, False),
            _flag("ephemeral", ephemeral) is not False, group)
        return True

    def modify_naming_instance(self, service_name, ip, port, cluster_name=None, weight=None,
                               metadata=None, enable=None, ephemeral=True,
                               group_name=DEFAULT_GROUP_NAME, **kwargs):
        """Changes an instance's weight, metadata or enabled flag (``enabled=`` is taken for
        ``enable``); what is ``None`` stays as it is. Returns ``True``.

        Raises :class:`NacosException` for an invalid argument or a server's refusal,
        :class:`NacosRequestException` when no server answers.
        """
        enable = _pop_enabled(kwargs, enable)
        name, group = _service(service_name, group_name)
        self._client().modify(
            name, _text("ip", ip), _port(port), _text("cluster_name", cluster_name, False),
            None if weight is None else _number("weight", weight), _metadata(metadata),
            _flag("enable", enable), _flag("ephemeral", ephemeral) is not False, group)
        return True

    def list_naming_instance(self, service_name, clusters=None, namespace_id=None,
                             group_name=None, healthy_only=False):
        """The instances of a service, as a :class:`ServiceInstances`: a list of instance
        dicts that also answers the service fields (``result["hosts"]``,
        ``result["cacheMillis"]``...) the old client's dict had.

        ``clusters`` is a list or a comma-separated string. Raises :class:`NacosException`
        for an invalid argument or a server's refusal, :class:`NacosRequestException` when no
        server answers.
        """
        name, group = _service(service_name, group_name)
        service = self._client().list(
            name, _cluster_list(clusters), _text("namespace_id", namespace_id, False) or None,
            group, bool(_flag("healthy_only", healthy_only)))
        return ServiceInstances(service)

    def get_naming_instance(self, service_name, ip, port, cluster_name=None, **kwargs):
        """One instance's dict (``ip``, ``port``, ``healthy``, ``metadata``...).

        Also takes ``group_name=`` (the old client always read ``DEFAULT_GROUP`` unless the
        service name was grouped). Raises :class:`NacosException` for an invalid argument or
        a server's refusal (an unknown instance included), :class:`NacosRequestException`
        when no server answers.
        """
        group_name = kwargs.pop("group_name", None)
        _no_more(kwargs)
        name, group = _service(service_name, group_name)
        return self._client().get(
            name, _text("ip", ip), _port(port), _text("cluster_name", cluster_name, False),
            group)

    def send_heartbeat(self, service_name, ip, port, cluster_name=None, weight=1.0,
                       metadata=None, ephemeral=True, group_name=DEFAULT_GROUP_NAME):
        """Sends one heartbeat; returns the server's answer as a dict with
        ``clientBeatInterval`` (milliseconds), ``code`` and ``lightBeatEnabled``.

        Raises :class:`NacosException` for an invalid argument or a server's refusal,
        :class:`NacosRequestException` when no server answers.
        """
        name, group = _service(service_name, group_name)
        return self._client().beat(
            name, _text("ip", ip), _port(port), _text("cluster_name", cluster_name, False),
            _number("weight", 1.0 if weight is None else weight), _metadata(metadata),
            _flag("ephemeral", ephemeral) is not False, group)

    def subscribe(self, listener_fn, listener_interval=7, *args, **kwargs):
        """Calls a listener with each change of a service, in either form:

        - the seed's: ``subscribe(service_name, listener_fn, cluster_name=None,
          group_name=None)`` (positional or by keyword), with ``listener_fn(event)``
          receiving the service-change dict (``name``, ``groupName``, ``clusters``,
          ``hosts``, ``lastRefTime``..., plus ``added``, ``removed`` and ``modified``
          lists); the first call carries the current list;
        - the old client's: ``subscribe(listener, listener_interval=7, service_name, ...)``
          with a ``SubscribeListener`` (or a list or tuple of them) and the arguments of
          ``list_naming_instance``; each listener is called as ``fn(event_type, instance)``
          per ADDED, MODIFIED or DELETED instance, counting from the list found when
          subscribing.

        Changes arrive by UDP push from servers that push and by polling at the server's
        ``cacheMillis`` in any case, so ``listener_interval`` is not used. Listeners run on
        the client's notifier threads, one call at a time per listener; an exception in one
        goes to ``sys.unraisablehook`` and stops nothing.
        """
        if isinstance(listener_fn, str):
            # The seed's form, positionally: subscribe(service_name, listener_fn, ...).
            if "service_name" in kwargs:
                raise TypeError("subscribe: 'service_name' given twice")
            return self._subscribe_seed(
                listener_fn, kwargs.pop("listener_fn", listener_interval), args, kwargs)
        if _is_legacy_listener(listener_fn) or isinstance(listener_fn, (list, tuple)):
            return self._subscribe_legacy(listener_fn, args, kwargs)
        if callable(listener_fn):
            service_name = kwargs.pop("service_name", None)
            if service_name is None and args:
                service_name, args = args[0], args[1:]
            return self._subscribe_seed(service_name, listener_fn, args, kwargs)
        raise NacosException(
            "subscribe: listener_fn must be a function or a SubscribeListener, not %s"
            % type(listener_fn).__name__)

    def _subscribe_seed(self, service_name, listener_fn, args, kwargs):
        names = ("cluster_name", "group_name")
        options = _bind("subscribe", names, args, kwargs)
        if not callable(listener_fn):
            raise NacosException("invalid listener_fn: must be callable")
        cluster = options.get("cluster_name")
        clusters = [] if cluster is None else [_text("cluster_name", cluster)]
        self._add_subscription(service_name, _SeedListener(listener_fn), clusters, None,
                               options.get("group_name"))

    def _subscribe_legacy(self, listeners, args, kwargs):
        names = ("service_name", "clusters", "namespace_id", "group_name", "healthy_only")
        options = _bind("subscribe", names, args, kwargs)
        service_name = options.get("service_name")
        if not service_name:
            raise NacosException("`service_name` is required in subscribe")
        if not isinstance(listeners, (list, tuple)):
            listeners = [listeners]
        healthy_only = bool(_flag("healthy_only", options.get("healthy_only", False)))
        for listener in listeners:
            if not _is_legacy_listener(listener):
                raise NacosException("subscribe: %r is not a SubscribeListener" % (listener,))
            self._add_subscription(
                service_name, _LegacyListener(listener, service_name, healthy_only),
                _cluster_list(options.get("clusters")),
                _text("namespace_id", options.get("namespace_id"), False) or None,
                options.get("group_name"))

    def _add_subscription(self, service_name, listener, clusters, namespace_id, group_name):
        name, group = _service(service_name, group_name)
        token = self._client().subscribe(name, listener, clusters, namespace_id, group)
        with self._lock:
            self._subscriptions.setdefault(_text("service_name", service_name), []).append(
                _Subscription(listener, token, namespace_id, group))

    def unsubscribe(self, service_name, listener_name=None, **kwargs):
        """Removes listeners of ``service_name``: the one given as ``listener_name`` (a
        listener's name, as in the old client) or ``listener_fn`` (a function or a listener
        object, the seed's name for the same argument), or every one when neither is given.
        After it returns, a removed listener is not called again (a call already running
        finishes). Unsubscribing what is not subscribed does nothing.
        """
        target = kwargs.pop("listener_fn", None)
        _no_more(kwargs)
        if target is None:
            target = listener_name
        with self._lock:
            subscriptions = self._subscriptions.get(service_name, [])
            chosen = [s for s in subscriptions if target is None or s.listener.matches(target)]
            kept = [s for s in subscriptions if s not in chosen]
            if kept:
                self._subscriptions[service_name] = kept
            else:
                self._subscriptions.pop(service_name, None)
        name, _ = _service(service_name, None)
        for subscription in chosen:
            self._client().unsubscribe(name, subscription.token, subscription.namespace_id,
                                       subscription.group_name)

    def stop_subscribe(self):
        """Ends every subscription and stops the threads that served them."""
        with self._lock:
            self._subscriptions.clear()
        self._client().stop_subscribe()

    def shutdown(self):
        """Stops the client: heartbeats and subscriptions end and its threads are joined
        (at most a few seconds for a listener still running). Requests still work afterwards;
        registering with ``heartbeat_interval`` and subscribing raise. Also done at
        interpreter exit."""
        with self._lock:
            self._subscriptions.clear()
        self._client().shutdown()

    def _unsupported(self, *args, **kwargs):
        raise NacosException(
            "the config API (get_config, publish_config, ...) is not part of this package: "
            "it serves the naming calls only")

    get_config = publish_config = remove_config = get_configs = _unsupported
    add_config_watcher = add_config_watchers = remove_config_watcher = _unsupported


def _poll_interval():
    interval = DEFAULTS.get("SUBSCRIBE_POLL_INTERVAL")
    return None if interval is None else _number("SUBSCRIBE_POLL_INTERVAL", interval)


def _pop_enabled(kwargs, enable):
    """``enabled=`` (the seed's spelling) for ``enable``; refuses any other extra keyword."""
    enabled = kwargs.pop("enabled", None)
    _no_more(kwargs)
    return enable if enabled is None else enabled


def _no_more(kwargs):
    if kwargs:
        raise TypeError("unexpected keyword argument %r" % sorted(kwargs)[0])


def _bind(call, names, args, kwargs):
    """The optional arguments ``names`` of ``call``, given positionally or by keyword."""
    if len(args) > len(names):
        raise TypeError("%s: too many positional arguments" % call)
    options = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            raise TypeError("%s: unexpected keyword argument %r" % (call, key))
        if key in options:
            raise TypeError("%s: %r given twice" % (call, key))
        options[key] = value
    return options


def _configure_logging(log_dir, log_level, backup_count):
    if log_level is not None:
        logger.setLevel(log_level)
    if log_dir is not None and str(log_dir).strip():
        path = os.path.join(os.path.expanduser(str(log_dir)), "nacos-client-python.log")
        if path not in _LOG_FILES:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            handler = TimedRotatingFileHandler(
                path, when="midnight", backupCount=7 if backup_count is None else backup_count,
                encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s"))
            logger.addHandler(handler)
            _LOG_FILES.add(path)
    _native.set_log_level()


def _stop_all_at_exit():
    """Stops every client while Python can still run their listeners, then tells the Rust
    threads to keep out of Python: the interpreter never finalizes under a running thread."""
    for client in list(_CLIENTS):
        core = client._core
        if core is not None:
            try:
                core.shutdown()
            except Exception as e:  # exiting: report, and stop the others still
                logger.warning("stopping a nacos client at exit: %s", e)
    _native.interpreter_exiting()


def _reset_in_child():
    """After ``os.fork()``, in the child: the parent's threads do not exist here, so each
    client leaves its Rust client untouched (never stopped, never freed) and makes a new one
    on its next call."""
    for client in list(_CLIENTS):
        core = client._core
        client._core = None
        client._lock = threading.Lock()
        client._subscriptions = {}
        if core is not None:
            core.abandon_after_fork()


atexit.register(_stop_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
