//! The setters the request builders share, written once so that every builder checks and
//! documents a parameter the same way.
//!
//! Each setter validates its argument into the builder's `errors` (a `FirstError`, reported by
//! `send()`), and comes with a `set_` twin taking an `Option`, for callers holding optional
//! settings (a command line, a config file): `None` leaves the setting alone. A builder passes
//! its own wording of the parameter; the macro adds the `Defaults to …` line, which is the same
//! for every builder.

/// `set_$name(Option<T>)`: calls `$name` when `Some`, leaves the builder as it is when `None`.
macro_rules! option_twin {
    ($set:ident => $name:ident($ty:ty)) => {
        #[doc = concat!(
                                    "Sets [`", stringify!($name), "`](Self::", stringify!($name),
                                    ") when `Some`, leaves the default when `None`."
                                )]
        pub fn $set(self, $name: Option<$ty>) -> Self {
            match $name {
                Some(value) => self.$name(value),
                None => self,
            }
        }
    };
}

/// A string setter checked by `validate::$name` and stored at `self.$field` (wrapped in
/// `$wrap`, such as `Some`, when given), with its `set_` twin.
macro_rules! string_setters {
    (
        $(#[doc = $doc:expr])+
        $name:ident / $set:ident => $($field:ident).+ $(= $wrap:ident)?
    ) => {
        $(#[doc = $doc])+
        pub fn $name(mut self, $name: impl Into<String>) -> Self {
            let $name = $name.into();
            self.errors.check($crate::calls::validate::$name(&$name));
            self.$($field).+ = $($wrap)?($name);
            self
        }

        $crate::calls::builder_setters::option_twin!($set => $name(impl Into<String>));
    };
}

/// `group_name` and `namespace_id` (with their twins) of the service at `self.$service` (a
/// `ServiceKey`).
macro_rules! service_setters {
    (
        $($service:ident).+;
        $(#[doc = $group:expr])+ group_name;
        $(#[doc = $namespace:expr])+ namespace_id;
    ) => {
        $crate::calls::builder_setters::string_setters! {
            $(#[doc = $group])+
            #[doc = ""]
            #[doc = " Defaults to `DEFAULT_GROUP`."]
            group_name / set_group_name => $($service).+.group_name
        }

        $crate::calls::builder_setters::string_setters! {
            $(#[doc = $namespace])+
            #[doc = ""]
            #[doc = " Defaults to the client's namespace."]
            namespace_id / set_namespace_id => $($service).+.namespace_id = Some
        }
    };
}

/// `cluster_name`, `group_name` and `namespace_id` (with their twins) of the instance at
/// `self.$instance` (an `InstanceKey`), worded as most builders word them unless the builder
/// passes its own words.
macro_rules! instance_setters {
    ($($instance:ident).+) => {
        $crate::calls::builder_setters::instance_setters! {
            $($instance).+;
            /// The cluster the instance is in.
            cluster_name;
            /// The group of the service.
            group_name;
            /// The namespace the instance is in, for this call only.
            namespace_id;
        }
    };
    (
        $($instance:ident).+;
        $(#[doc = $cluster:expr])+ cluster_name;
        $(#[doc = $group:expr])+ group_name;
        $(#[doc = $namespace:expr])+ namespace_id;
    ) => {
        $crate::calls::builder_setters::string_setters! {
            $(#[doc = $cluster])+
            #[doc = ""]
            #[doc = " Defaults to `DEFAULT`."]
            cluster_name / set_cluster_name => $($instance).+.cluster_name
        }

        $crate::calls::builder_setters::service_setters! {
            $($instance).+.service;
            $(#[doc = $group])+ group_name;
            $(#[doc = $namespace])+ namespace_id;
        }
    };
}

/// `cluster_name` (adds one checked cluster to the filter at `self.$clusters`, a `Vec`) and
/// `clusters` (adds each), for the builders that filter by any number of clusters.
macro_rules! cluster_filter_setters {
    (
        $clusters:ident;
        $(#[doc = $one:expr])+ cluster_name;
        $(#[doc = $many:expr])+ clusters;
    ) => {
        $(#[doc = $one])+
        #[doc = ""]
        #[doc = " Defaults to every cluster."]
        pub fn cluster_name(mut self, cluster_name: impl Into<String>) -> Self {
            let cluster_name = cluster_name.into();
            self.errors
                .check($crate::calls::validate::cluster_name(&cluster_name));
            self.$clusters.push(cluster_name);
            self
        }

        $(#[doc = $many])+
        #[doc = ""]
        #[doc = " Defaults to every cluster."]
        pub fn clusters<I, S>(mut self, clusters: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            for cluster in clusters {
                self = self.cluster_name(cluster);
            }
            self
        }
    };
}

/// `weight` (checked by `validate::weight`, stored at `self.$field`) and its twin.
macro_rules! weight_setters {
    ($(#[doc = $doc:expr])+ $($field:ident).+) => {
        $(#[doc = $doc])+
        pub fn weight(mut self, weight: f64) -> Self {
            self.errors.check($crate::calls::validate::weight(weight));
            self.$($field).+ = weight;
            self
        }

        $crate::calls::builder_setters::option_twin!(set_weight => weight(f64));
    };
}

/// A flag stored at `self.$field`, with its twin.
macro_rules! bool_setters {
    ($(#[doc = $doc:expr])+ $name:ident / $set:ident => $($field:ident).+) => {
        $(#[doc = $doc])+
        pub fn $name(mut self, $name: bool) -> Self {
            self.$($field).+ = $name;
            self
        }

        $crate::calls::builder_setters::option_twin!($set => $name(bool));
    };
}

/// `metadata` (any pairs of strings, keys checked, stored at `self.$field`, wrapped in `$wrap`
/// when given) and its twin.
macro_rules! metadata_setters {
    ($(#[doc = $doc:expr])+ $($field:ident).+ $(= $wrap:ident)?) => {
        $(#[doc = $doc])+
        pub fn metadata<I, K, V>(mut self, metadata: I) -> Self
        where
            I: IntoIterator<Item = (K, V)>,
            K: Into<String>,
            V: Into<String>,
        {
            if let Some(m) = self
                .errors
                .take($crate::calls::params::collect_metadata(metadata))
            {
                self.$($field).+ = $($wrap)?(m);
            }
            self
        }

        /// Sets [`metadata`](Self::metadata) when `Some`, leaves the default when `None`.
        pub fn set_metadata<I, K, V>(self, metadata: Option<I>) -> Self
        where
            I: IntoIterator<Item = (K, V)>,
            K: Into<String>,
            V: Into<String>,
        {
            match metadata {
                Some(m) => self.metadata(m),
                None => self,
            }
        }
    };
}

pub(crate) use {
    bool_setters, cluster_filter_setters, instance_setters, metadata_setters, option_twin,
    service_setters, string_setters, weight_setters,
};
