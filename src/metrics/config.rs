//! `[metrics]`: whether the endpoint runs, and where it listens.

use std::net::SocketAddr;

use serde::Deserialize;
use serde::Deserializer;
use serde::Serialize;

/// Loopback only: the endpoint is for a Prometheus on the board or reached through an
/// SSH tunnel or a local proxy, unless the config says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `GET /metrics` (off by default).
    pub enabled: bool,
    /// `IP:PORT` to listen on. A non-loopback address exposes the board's readings to
    /// its network; port 0 takes a free port (READY's status line names it).
    #[serde(deserialize_with = "listen_addr")]
    pub listen: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: DEFAULT_LISTEN.parse().expect("the default address parses"),
        }
    }
}

fn listen_addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "{text:?} is not an IP:PORT address: write e.g. \"{DEFAULT_LISTEN}\" (loopback), \
             \"[::1]:9464\", or \"0.0.0.0:9464\" to expose the metrics to the network (a \
             host name is not resolved)"
        ))
    })
}
