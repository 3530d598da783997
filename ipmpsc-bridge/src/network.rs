//! [`Network`]: how a bridge process finds the others, as a zenoh session configuration.

use zenoh::Wait;

use crate::Result;

/// Where a bridge listens and whom it connects to: builds the zenoh peer session that an
/// [`Exporter`](crate::Exporter) or [`Importer`](crate::Importer) runs on.
///
/// Two machines need one side to listen (`tcp/0.0.0.0:7447`) and the other to connect to
/// it (`tcp/host2:7447`); either side may listen. A side that connects before the other
/// listens keeps trying (every 100 ms at first, then every second), also after the other
/// side restarts.
///
/// # Examples
///
/// ```
/// let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
/// let session = ipmpsc_bridge::Network::isolated()
///     .listen(format!("tcp/127.0.0.1:{port}"))
///     .open()?;
/// drop(session);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Network {
    listen: Vec<String>,
    connect: Vec<String>,
    isolated: bool,
}

impl Network {
    /// zenoh's defaults: besides the endpoints given, peers on the local network find each
    /// other by multicast scouting.
    pub fn new() -> Network {
        Network::default()
    }

    /// Only the endpoints given: no multicast scouting, so two bridges on one machine (or a
    /// test) meet no one they were not told about.
    pub fn isolated() -> Network {
        Network {
            isolated: true,
            ..Network::default()
        }
    }

    /// Listens on `endpoint`, a zenoh locator such as `tcp/0.0.0.0:7447`.
    pub fn listen(mut self, endpoint: impl Into<String>) -> Network {
        self.listen.push(endpoint.into());
        self
    }

    /// Connects to `endpoint`, a zenoh locator such as `tcp/192.168.1.20:7447`.
    pub fn connect(mut self, endpoint: impl Into<String>) -> Network {
        self.connect.push(endpoint.into());
        self
    }

    /// The zenoh configuration: peer mode, the endpoints, scouting as chosen, and quick
    /// reconnection.
    ///
    /// # Errors
    /// [`Error::Zenoh`](crate::Error::Zenoh) for an endpoint zenoh does not accept.
    pub fn config(&self) -> Result<zenoh::Config> {
        let mut config = zenoh::Config::default();
        config.insert_json5("mode", r#""peer""#)?;
        // JSON (a subset of JSON5), with each endpoint's string escaped.
        let list = |v: &[String]| serde_json::to_string(v).expect("strings serialize");
        if !self.listen.is_empty() {
            config.insert_json5("listen/endpoints", &list(&self.listen))?;
        }
        if !self.connect.is_empty() {
            config.insert_json5("connect/endpoints", &list(&self.connect))?;
        }
        // Look for a peer that is not there yet (or restarts) every 100 ms at first.
        config.insert_json5(
            "connect/retry",
            r#"{ "period_init_ms": 100, "period_max_ms": 1000, "period_increase_factor": 2 }"#,
        )?;
        if self.isolated {
            config.insert_json5("scouting/multicast/enabled", "false")?;
        }
        Ok(config)
    }

    /// Opens the zenoh session.
    ///
    /// # Errors
    /// [`Error::Zenoh`](crate::Error::Zenoh): a bad endpoint, a port in use.
    pub fn open(&self) -> Result<zenoh::Session> {
        Ok(zenoh::open(self.config()?).wait()?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn endpoints_with_quotes_reach_zenoh_as_given() {
        let config = super::Network::isolated()
            .listen("tcp/[::1]:7447")
            .connect("tcp/a\"b:1")
            .config()
            .unwrap();
        assert_eq!(
            config.get_json("listen/endpoints").unwrap(),
            r#"["tcp/[::1]:7447"]"#
        );
        assert_eq!(
            config.get_json("connect/endpoints").unwrap(),
            r#"["tcp/a\"b:1"]"#
        );
    }

    #[test]
    fn a_bad_endpoint_is_an_error_not_a_panic() {
        let err = super::Network::isolated().listen("nonsense").open();
        assert!(err.is_err());
    }
}
