//! Healthchecks: while a container with a `healthcheck` runs, the engine runs its test
//! inside it (as `exec` does) at its interval, and keeps the container's health:
//! `starting` until a first success, `healthy`, or `unhealthy` after `retries` failures
//! in a row (failures within the start period don't count). Published ports balance
//! over healthy replicas only; `depends_on` with `condition: service_healthy` waits for
//! it.

use super::containers::{self, exit_code};
use super::protocol::ExecRequest;
use super::server::{blocking, Engine};
use super::state::{ContainerRecord, Phase};
use crate::plan::container::HealthPlan;
use crate::runtime::process;
use crate::runtime::{StdioSource, StdioSpec};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::watch;

/// A container's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    /// As `ps` shows it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// The health of the running containers that have a healthcheck, by ID.
pub(crate) struct Healths {
    states: Mutex<HashMap<String, Health>>,
    /// Bumped at each change, for waiters.
    changed: watch::Sender<u64>,
}

impl Default for Healths {
    fn default() -> Healths {
        Healths {
            states: Mutex::new(HashMap::new()),
            changed: watch::channel(0).0,
        }
    }
}

impl Healths {
    fn states(&self) -> MutexGuard<'_, HashMap<String, Health>> {
        self.states
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Container `id`'s health; `None` when it has no healthcheck or does not run.
    pub(crate) fn of(&self, id: &str) -> Option<Health> {
        self.states().get(id).copied()
    }

    fn set(&self, id: &str, health: Option<Health>) {
        {
            let mut states = self.states();
            match health {
                Some(health) => states.insert(id.to_string(), health),
                None => states.remove(id),
            };
        }
        self.changed
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// Something to wait on for the next change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

/// Starts checking the container `record` (just started), if it has a healthcheck.
pub(crate) fn watch(engine: &Arc<Engine>, record: &ContainerRecord) {
    let Some(plan) = record.plan.healthcheck.clone() else {
        return;
    };
    let Some(exit) = engine.containers.exit_of(&record.id) else {
        return;
    };
    engine.healths.set(&record.id, Some(Health::Starting));
    let (engine, record) = (engine.clone(), record.clone());
    tokio::spawn(async move {
        tokio::select! {
            () = check(&engine, &record, &plan) => {}
            _ = exit_code(exit) => {}
        }
        engine.healths.set(&record.id, None);
    });
}

/// Runs the checks until the container ends (the caller stops waiting then).
async fn check(engine: &Arc<Engine>, record: &ContainerRecord, plan: &HealthPlan) {
    let started = Instant::now();
    let mut failures = 0;
    let mut health = Health::Starting;
    loop {
        let starting = health == Health::Starting && started.elapsed() < plan.start_period;
        let pause = if health == Health::Starting {
            plan.start_interval.min(plan.interval)
        } else {
            plan.interval
        };
        tokio::time::sleep(pause).await;
        let passed = probe(engine, record, plan).await;
        let next = if passed {
            failures = 0;
            Health::Healthy
        } else if starting {
            health
        } else {
            failures += 1;
            if failures >= plan.retries {
                Health::Unhealthy
            } else {
                health
            }
        };
        if next != health {
            health = next;
            engine.healths.set(&record.id, Some(health));
            engine.ports.healthy(record, health == Health::Healthy);
        }
    }
}

/// Runs the test once in the container: whether it exited with 0 within the timeout.
async fn probe(engine: &Arc<Engine>, record: &ContainerRecord, plan: &HealthPlan) -> bool {
    let Phase::Running { pid, .. } = record.phase else {
        return false;
    };
    let request = ExecRequest {
        project: record.project.clone(),
        service: record.service.clone(),
        index: record.number.unwrap_or(1),
        command: plan.argv.clone(),
        env: Vec::new(),
        user: None,
        workdir: None,
        tty: false,
        privileged: false,
    };
    let Ok(spec) = containers::exec_spec(record, pid, &request) else {
        return false;
    };
    let shared = engine.clone();
    let started = blocking(move || {
        let stdio = StdioSpec {
            stdin: StdioSource::Null,
            stdout: StdioSource::Null,
            stderr: StdioSource::Null,
        };
        Ok(shared.runtime.exec(&spec, stdio).ok())
    })
    .await;
    let Ok(Some(running)) = started else {
        return false;
    };
    let probe_pid = running.pid();
    let waited = tokio::time::timeout(plan.timeout, blocking(move || Ok(running.wait().ok())));
    match waited.await {
        Ok(Ok(Some(status))) => status.code() == 0,
        Ok(_) => false,
        Err(_) => {
            // Too slow: it fails, and goes.
            let _ = process::signal(probe_pid, nix::libc::SIGKILL);
            false
        }
    }
}
