"""Listener classes of nacos-sdk-python's ``subscribe(listener_fn, listener_interval, ...)``.

A :class:`SubscribeListener` wraps ``fn(event_type, instance)``, called once per changed
instance with ``event_type`` one of :class:`Event`'s names and ``instance`` a
``SubscribedLocalInstance`` (its ``instance`` attribute is the instance dict).
"""

from abc import ABC, abstractmethod


class Event(object):
    """What happened to an instance."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


class AbstractListener(ABC):
    """A listener with a name, which ``unsubscribe`` accepts."""

    def __init__(self, listener_name):
        self._listener_name = listener_name

    @property
    def listener_name(self):
        return self._listener_name

    @abstractmethod
    def launch(self, *args, **kwargs):
        """Called with each change."""


class AbstractListenerManager(ABC):
    """A set of listeners keyed by name."""

    @abstractmethod
    def manager_context(self):
        pass

    @abstractmethod
    def add_listener(self, listener):
        pass

    @abstractmethod
    def remove_listener(self, listener_name):
        pass

    @abstractmethod
    def empty_listeners(self):
        pass

    @abstractmethod
    def do_launch(self):
        pass


class SubscribeListener(AbstractListener):
    """Calls ``fn(event_type, instance, ...)`` for each change."""

    def __init__(self, fn, listener_name):
        super(SubscribeListener, self).__init__(listener_name)
        self._fn = fn

    def launch(self, event, *args, **kwargs):
        self._fn(event, *args, **kwargs)


class SimpleListenerManager(AbstractListenerManager):
    """Listeners by name; ``do_launch`` calls each."""

    def __init__(self):
        self._listeners = {}

    @property
    def manager_context(self):
        return self._listeners

    def merge_listeners(self, other_manager):
        if isinstance(other_manager, AbstractListenerManager):
            self._listeners.update(other_manager.manager_context)

    def all_listeners(self):
        return self._listeners

    def add_listener(self, listener):
        self._listeners[listener.listener_name] = listener
        return self

    def add_listeners(self, *listeners):
        for listener in listeners:
            self.add_listener(listener)
        return self

    def remove_listener(self, listener_name):
        self._listeners.pop(listener_name, None)
        return self

    def empty_listeners(self):
        self._listeners.clear()

    def do_launch(self, *args, **kwargs):
        for listener in list(self._listeners.values()):
            listener.launch(*args, **kwargs)
