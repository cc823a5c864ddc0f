//! Published ports: one host listener ([`Proxy`]) per `ports` entry of a service,
//! shared by all its replicas, balancing over those that run. A service's listeners
//! are bound before `up` makes anything (a taken port fails the `up` with nothing
//! made), kept while the service has containers, and closed with its last container.
//! The replicas behind each listener change at once when a container starts or ends.

use super::protocol::PortSummary;
use super::server::{error_chain, Engine, RequestError};
use super::state::{ContainerRecord, Phase};
use crate::plan::ports::{service_ports, HostPort, PortBinding, PortError, Protocol};
use crate::proxy::{Backends, Proxy, ProxyError};
use crate::spec::model::Project;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

/// A port that can't be published.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PortsError {
    #[error(transparent)]
    Spec(#[from] PortError),
    #[error("service {service}: cannot publish {binding}: {source}")]
    Bind {
        service: String,
        binding: String,
        #[source]
        source: ProxyError,
    },
}

/// The project and service a listener serves.
type ServiceKey = (String, String);

/// One service's listeners and the replicas behind them.
#[derive(Default)]
struct Service {
    /// In `ports` order.
    listeners: Vec<Listener>,
    /// Running replicas: container id -> its address.
    running: BTreeMap<String, Ipv4Addr>,
}

struct Listener {
    binding: PortBinding,
    /// Listens until stopped (or dropped).
    proxy: Proxy,
    backends: Backends,
    summary: PortSummary,
}

impl Service {
    fn update_backends(&self) {
        for listener in &self.listeners {
            let target = listener.binding.target;
            listener.backends.set(
                self.running
                    .values()
                    .map(|address| SocketAddr::from((*address, target)))
                    .collect(),
            );
        }
    }
}

/// The engine's published ports.
#[derive(Default)]
pub(crate) struct Ports {
    services: Mutex<HashMap<ServiceKey, Service>>,
}

impl Ports {
    fn services(&self) -> MutexGuard<'_, HashMap<ServiceKey, Service>> {
        self.services
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A container of `project`/`service` runs at `address` (its first network's); one
    /// with a healthcheck takes connections once healthy.
    pub(crate) fn started(&self, record: &ContainerRecord) {
        if record.plan.healthcheck.is_none() {
            self.healthy(record, true);
        }
    }

    /// A container with a healthcheck became healthy (takes connections) or not.
    pub(crate) fn healthy(&self, record: &ContainerRecord, healthy: bool) {
        if !healthy {
            self.stopped(&record.id);
            return;
        }
        let Some(endpoint) = record.endpoints.first() else {
            return;
        };
        let mut services = self.services();
        if let Some(service) = services.get_mut(&key_of(record)) {
            service.running.insert(record.id.clone(), endpoint.address);
            service.update_backends();
        }
    }

    /// Container `id` has ended: no connection goes to it any more.
    pub(crate) fn stopped(&self, id: &str) {
        for service in self.services().values_mut() {
            if service.running.remove(id).is_some() {
                service.update_backends();
            }
        }
    }

    /// Takes the listeners of `project`/`service` out (its last container has gone);
    /// the caller stops them.
    fn take(&self, project: &str, service: &str) -> Vec<Listener> {
        self.services()
            .remove(&(project.to_string(), service.to_string()))
            .map(|service| service.listeners)
            .unwrap_or_default()
    }
}

fn key_of(record: &ContainerRecord) -> ServiceKey {
    (record.project.clone(), record.service.clone())
}

/// Binds the listeners of `service` that are not bound yet (all its `ports` with
/// `network_mode` not `host`); what the service's containers show in `ps`. On error,
/// what this call bound is closed again.
pub(crate) async fn publish(
    engine: &Arc<Engine>,
    project: &Project,
    service: &str,
) -> Result<Vec<PortSummary>, RequestError> {
    let Some(definition) = project.services.get(service) else {
        return Ok(Vec::new());
    };
    if definition.network_mode.is_some() {
        // The host's network (Docker ignores `ports` there too), or another's.
        return Ok(Vec::new());
    }
    let bindings = service_ports(service, &definition.ports).map_err(PortsError::from)?;
    let key = (project.name.clone(), service.to_string());
    let known = engine.ports.services().get(&key).map(|existing| {
        let same = existing
            .listeners
            .iter()
            .map(|l| &l.binding)
            .eq(bindings.iter());
        let summaries: Vec<PortSummary> = existing
            .listeners
            .iter()
            .map(|l| l.summary.clone())
            .collect();
        (same, summaries)
    });
    match known {
        Some((true, summaries)) => return Ok(summaries),
        // Other `ports` now: the old listeners go first, so that their ports are free.
        Some((false, _)) => {
            for listener in engine.ports.take(&project.name, service) {
                listener.proxy.stop().await;
            }
        }
        None => {}
    }
    let mut listeners = Vec::with_capacity(bindings.len());
    for binding in bindings {
        listeners.push(bind(service, binding).await?);
    }
    let summaries = listeners.iter().map(|l| l.summary.clone()).collect();
    let mut services = engine.ports.services();
    let entry = services.entry(key).or_default();
    entry.listeners = listeners;
    entry.update_backends();
    Ok(summaries)
}

/// Binds one listener (on every address when the binding names none).
async fn bind(service: &str, binding: PortBinding) -> Result<Listener, RequestError> {
    let host_ip = binding.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let backends = Backends::default();
    let proxy = Proxy::bind(
        host_ip,
        &binding.host_port,
        binding.protocol,
        backends.clone(),
    )
    .await
    .map_err(|source| PortsError::Bind {
        service: service.to_string(),
        binding: describe(&binding),
        source,
    })?;
    let summary = PortSummary {
        host_ip: host_ip.to_string(),
        host_port: proxy.local_addr().port(),
        target: binding.target,
        protocol: binding.protocol.to_string(),
    };
    Ok(Listener {
        binding,
        proxy,
        backends,
        summary,
    })
}

/// `0.0.0.0:8080->80/tcp`, as written.
fn describe(binding: &PortBinding) -> String {
    let host = match binding.host_ip {
        Some(ip) => format!("{ip}:"),
        None => String::new(),
    };
    let port = match &binding.host_port {
        HostPort::Ephemeral => String::new(),
        HostPort::Fixed(port) => format!("{port}:"),
        HostPort::Range { start, end } => format!("{start}-{end}:"),
    };
    format!("{host}{port}{}/{}", binding.target, binding.protocol)
}

/// At the engine's start: the listeners of every service whose containers have
/// published ports, on the ports they had, with the running replicas behind them.
pub(crate) async fn restore(engine: &Arc<Engine>, records: &[ContainerRecord]) {
    let mut by_service: BTreeMap<ServiceKey, &ContainerRecord> = BTreeMap::new();
    for record in records.iter().filter(|r| !r.ports.is_empty()) {
        by_service.entry(key_of(record)).or_insert(record);
    }
    for (key, record) in by_service {
        let mut listeners = Vec::new();
        for summary in &record.ports {
            let binding = PortBinding {
                host_ip: summary.host_ip.parse().ok(),
                host_port: HostPort::Fixed(summary.host_port),
                target: summary.target,
                protocol: if summary.protocol == "udp" {
                    Protocol::Udp
                } else {
                    Protocol::Tcp
                },
            };
            match bind(&key.1, binding).await {
                Ok(listener) => listeners.push(listener),
                Err(err) => eprintln!(
                    "rcompose engine: project {} service {}: {}",
                    key.0,
                    key.1,
                    error_chain(&err)
                ),
            }
        }
        let mut service = Service {
            listeners,
            running: BTreeMap::new(),
        };
        for replica in records.iter().filter(|r| key_of(r) == key) {
            // One with a healthcheck waits for its first check (adoption restarts them).
            if let (Phase::Running { .. }, Some(endpoint), None) = (
                &replica.phase,
                replica.endpoints.first(),
                &replica.plan.healthcheck,
            ) {
                service.running.insert(replica.id.clone(), endpoint.address);
            }
        }
        service.update_backends();
        engine.ports.services().insert(key, service);
    }
}

/// Closes the listeners of `project`'s services that have no container left, and
/// returns once they no longer listen.
pub(crate) async fn close_unused(engine: &Engine, project: &str) -> Result<(), RequestError> {
    let records = engine.state.containers()?;
    let keys: Vec<ServiceKey> = engine
        .ports
        .services()
        .keys()
        .filter(|(p, _)| p == project)
        .cloned()
        .collect();
    for (project, service) in keys {
        if !records
            .iter()
            .any(|r| r.project == project && r.service == service)
        {
            for listener in engine.ports.take(&project, &service) {
                listener.proxy.stop().await;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_are_described_as_written() {
        let binding = |host_ip: Option<&str>, host_port, protocol| PortBinding {
            host_ip: host_ip.map(|ip| ip.parse().unwrap()),
            host_port,
            target: 80,
            protocol,
        };
        assert_eq!(
            describe(&binding(
                Some("127.0.0.1"),
                HostPort::Fixed(8080),
                Protocol::Tcp
            )),
            "127.0.0.1:8080:80/tcp"
        );
        assert_eq!(
            describe(&binding(None, HostPort::Ephemeral, Protocol::Udp)),
            "80/udp"
        );
        assert_eq!(
            describe(&binding(
                None,
                HostPort::Range {
                    start: 9000,
                    end: 9010
                },
                Protocol::Tcp
            )),
            "9000-9010:80/tcp"
        );
    }
}
