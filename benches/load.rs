//! Load + validate + graph for generated compose files of 250 to 2,000 services.
//!
//! Run with `cargo bench --bench load`. Two shapes of service: `rich` (25 lines each:
//! image, command, short and long ports, environment, a named volume and a bind mount,
//! two networks, labels, a healthcheck, limits, restart and up to three dependencies)
//! and `typical` (8 lines: image, one port, two variables, restart, one dependency).
//! Prints the median of several runs per size and the time per service, so linear
//! growth shows as a flat column. The goal is under 50 ms for 1,000 services on the
//! project's 2-core machine.

use rcompose::graph::ServiceGraph;
use rcompose::spec::{load, LoadOptions};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// A compose file with `n` services, each with an image, ports, environment, a named
/// volume, a bind mount, two networks, labels, a healthcheck and `depends_on` on up to
/// three earlier services (so the graph has many edges and many layers).
fn rich(n: usize) -> String {
    let mut s = String::from("name: bench\nservices:\n");
    for i in 0..n {
        let deps: Vec<String> = [1, 7, 31]
            .iter()
            .filter(|d| **d <= i)
            .map(|d| format!("      - svc{}\n", i - d))
            .collect();
        let depends_on = if deps.is_empty() {
            String::new()
        } else {
            format!("    depends_on:\n{}", deps.concat())
        };
        write!(
            s,
            r#"  svc{i}:
    image: registry.example/app/svc{i}:${{TAG:-1.0}}
    command: ["serve", "--port", "{port}"]
    ports:
      - "{published}:80"
      - target: 443
        protocol: tcp
    environment:
      ID: "{i}"
      MODE: production
      LOG: info
    volumes:
      - data{vol}:/var/lib/data
      - ./conf/{i}:/etc/app:ro
    networks: [front, back]
    labels:
      team: t{team}
      tier: backend
    healthcheck:
      test: ["CMD", "true"]
      interval: 10s
      timeout: 2s
      retries: 3
    mem_limit: 256m
    restart: unless-stopped
{depends_on}"#,
            port = 8000 + i % 1000,
            published = 10000 + i,
            vol = i % 50,
            team = i % 7,
        )
        .expect("write to a String");
    }
    s.push_str("networks:\n  front: {}\n  back:\n    internal: true\nvolumes:\n");
    for v in 0..50 {
        writeln!(s, "  data{v}: {{}}").expect("write to a String");
    }
    s
}

/// A compose file with `n` services of the size most compose files have.
fn typical(n: usize) -> String {
    let mut s = String::from("name: bench\nservices:\n");
    for i in 0..n {
        write!(
            s,
            "  svc{i}:\n    image: registry.example/app/svc{i}:${{TAG:-1.0}}\n    ports: [\"{}:80\"]\n    environment:\n      ID: \"{i}\"\n      MODE: production\n    restart: unless-stopped\n",
            10000 + i
        )
        .expect("write to a String");
        if i > 0 {
            writeln!(s, "    depends_on: [svc{}]", i - 1).expect("write to a String");
        }
    }
    s
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "{:>8} {:>8} {:>10} {:>15} {:>7}",
        "shape", "services", "median ms", "µs per service", "layers"
    );
    let shapes: [(&str, Generator); 2] = [("rich", rich), ("typical", typical)];
    for (shape, generate) in shapes {
        for n in [250, 500, 1000, 2000] {
            bench(dir.path(), shape, generate, n);
        }
    }
}

/// Makes the text of a compose file of `n` services.
type Generator = fn(usize) -> String;

/// Loads the generated file of `n` services several times and prints the median.
fn bench(dir: &std::path::Path, shape: &str, generate: Generator, n: usize) {
    {
        let file = dir.join(format!("compose-{shape}-{n}.yaml"));
        std::fs::write(&file, generate(n)).expect("write fixture");
        let opts = LoadOptions {
            files: vec![file],
            project_directory: dir.to_path_buf(),
            interpolate: true,
            ..Default::default()
        };
        let runs = if n <= 1000 { 15 } else { 7 };
        let mut times: Vec<Duration> = Vec::new();
        let mut layers = 0;
        for _ in 0..runs {
            let start = Instant::now();
            let loaded = load(&opts).expect("generated file loads");
            let graph = ServiceGraph::from_project(&loaded.project).expect("no cycles");
            layers = graph.start_layers().len();
            times.push(start.elapsed());
        }
        times.sort();
        let median = times[times.len() / 2];
        println!(
            "{shape:>8} {n:>8} {:>10.2} {:>15.1} {layers:>7}",
            median.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e6 / n as f64
        );
    }
}
