//! What keeps running after a call returns: the heartbeat scheduler, subscriptions and the
//! threads that poll, receive pushes, notify listeners and keep the disk cache.

pub(crate) mod background;
pub(crate) mod disk_cache;
pub(crate) mod heartbeat;
pub(crate) mod held;
pub(crate) mod notifier;
pub(crate) mod poller;
pub(crate) mod push_receiver;
pub(crate) mod subscriber;
pub(crate) mod subscription;
pub(crate) mod worker;
