//! The service dependency graph: which services must be up before which others.
//!
//! Every relation that needs another service running first is an edge from the
//! dependent to its dependency: `depends_on`, `network_mode: service:x`,
//! `volumes_from`, `links`, `ipc: service:x` and `pid: service:x`. The graph is checked
//! once when it is built (no unknown targets, no cycles), so every query afterwards
//! works on an acyclic graph. Everything here is pure.

use crate::spec::model::{DependsCondition, Project, Service};
use crate::spec::node::KeyPath;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::collections::{btree_map, BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// How one service refers to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DepKind {
    /// `depends_on`, with its `condition` (`service_started`, `service_healthy`,
    /// `service_completed_successfully`), `required` and `restart`.
    DependsOn {
        condition: String,
        required: bool,
        restart: bool,
    },
    /// `network_mode: service:<name>`.
    NetworkMode,
    /// `volumes_from: [<name>]`.
    VolumesFrom,
    /// `links: [<name>]`.
    Link,
    /// `ipc: service:<name>`.
    Ipc,
    /// `pid: service:<name>`.
    Pid,
}

impl DepKind {
    /// The compose key this relation comes from.
    pub fn key(&self) -> &'static str {
        match self {
            DepKind::DependsOn { .. } => "depends_on",
            DepKind::NetworkMode => "network_mode",
            DepKind::VolumesFrom => "volumes_from",
            DepKind::Link => "links",
            DepKind::Ipc => "ipc",
            DepKind::Pid => "pid",
        }
    }

    /// The edge label in [`ServiceGraph::to_dot`]: the key, and for `depends_on` its
    /// condition plus `restart` / `optional` when set.
    pub fn label(&self) -> String {
        match self {
            DepKind::DependsOn {
                condition,
                required,
                restart,
            } => {
                let mut details = vec![condition.as_str()];
                if *restart {
                    details.push("restart");
                }
                if !*required {
                    details.push("optional");
                }
                format!("depends_on ({})", details.join(", "))
            }
            other => other.key().to_string(),
        }
    }

    /// A `depends_on` with `required: false` may name a service that is not in the
    /// project (for example one disabled by its profile).
    fn is_optional(&self) -> bool {
        matches!(
            self,
            DepKind::DependsOn {
                required: false,
                ..
            }
        )
    }
}

/// One service's reference to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// The service depended on.
    pub service: String,
    pub kind: DepKind,
}

/// A problem that prevents building the graph.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A service refers to a service that is not in the project.
    #[error("service {from:?} refers to undefined service {to:?} ({relation})")]
    Unknown {
        from: String,
        to: String,
        /// The compose key of the reference (`depends_on`, `network_mode`, ...).
        relation: &'static str,
    },
    /// Services that (transitively) depend on themselves; `path` starts and ends with
    /// the same service.
    #[error("dependency cycle: {}", path.join(" -> "))]
    Cycle { path: Vec<String> },
    /// The same service name was given twice.
    #[error("service {service:?} is defined twice")]
    Duplicate { service: String },
}

/// Every problem found while building the graph (never empty): unknown references in
/// service order, then one cycle per group of services that depend on each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphErrors(pub Vec<GraphError>);

impl fmt::Display for GraphErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for GraphErrors {}

/// The services of a project and the relations between them, known to be acyclic.
#[derive(Clone, Debug)]
pub struct ServiceGraph {
    /// An edge goes from a service to a service it depends on. Nodes are added in name
    /// order, so node index order is name order.
    graph: DiGraph<String, DepKind>,
    index: BTreeMap<String, NodeIndex>,
}

impl ServiceGraph {
    /// Builds the graph of `services` (each with the services it refers to).
    ///
    /// A reference to a service that is not in `services` is an error, except for a
    /// `depends_on` with `required: false`, which is dropped. Cycles are errors; one is
    /// reported for each group of services that depend on each other, starting from the
    /// group's first service by name and as short as possible.
    pub fn new(
        services: impl IntoIterator<Item = (String, Vec<Dependency>)>,
    ) -> Result<Self, GraphErrors> {
        let mut errors = Vec::new();
        let mut sorted: BTreeMap<String, Vec<Dependency>> = BTreeMap::new();
        for (name, deps) in services {
            match sorted.entry(name) {
                btree_map::Entry::Vacant(entry) => {
                    entry.insert(deps);
                }
                btree_map::Entry::Occupied(entry) => errors.push(GraphError::Duplicate {
                    service: entry.key().clone(),
                }),
            }
        }

        let mut graph = DiGraph::with_capacity(sorted.len(), 0);
        let mut index = BTreeMap::new();
        let mut nodes = Vec::with_capacity(sorted.len());
        for (name, deps) in sorted {
            let node = graph.add_node(name.clone());
            index.insert(name, node);
            nodes.push((node, deps));
        }
        for (from, deps) in nodes {
            for dep in deps {
                match index.get(&dep.service) {
                    Some(&to) => {
                        graph.add_edge(from, to, dep.kind);
                    }
                    None if dep.kind.is_optional() => {}
                    None => errors.push(GraphError::Unknown {
                        from: graph[from].clone(),
                        relation: dep.kind.key(),
                        to: dep.service,
                    }),
                }
            }
        }

        errors.extend(
            cycles(&graph)
                .into_iter()
                .map(|path| GraphError::Cycle { path }),
        );
        if errors.is_empty() {
            Ok(ServiceGraph { graph, index })
        } else {
            Err(GraphErrors(errors))
        }
    }

    /// Groups of services that may start in parallel, in start order: every service's
    /// dependencies are in earlier groups, and each service is as early as possible.
    /// Names are sorted within a group.
    pub fn start_layers(&self) -> Vec<Vec<String>> {
        self.layers(Direction::Outgoing)
    }

    /// Groups of services that may stop in parallel, in stop order: every service's
    /// dependents are in earlier groups, and each service is as early as possible (a
    /// service nothing depends on stops in the first group). Names are sorted within a
    /// group.
    pub fn stop_layers(&self) -> Vec<Vec<String>> {
        self.layers(Direction::Incoming)
    }

    /// `names` and everything they depend on, directly or not: what starting them
    /// pulls in. Names that are not services of the graph are left out.
    pub fn with_dependencies(&self, names: &[String]) -> BTreeSet<String> {
        self.reachable(names.iter().map(String::as_str), Direction::Outgoing)
    }

    /// The services that depend on `name`, directly or not (without `name` itself).
    pub fn dependents(&self, name: &str) -> BTreeSet<String> {
        let mut found = self.reachable([name], Direction::Incoming);
        found.remove(name);
        found
    }

    /// The graph in Graphviz's dot language: services in name order, then edges from
    /// dependent to dependency in (from, to, label) order, labelled by relation.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph services {\n");
        for name in self.index.keys() {
            out.push_str(&format!("  {};\n", dot_quote(name)));
        }
        let mut edges: Vec<(&str, &str, String)> = self
            .graph
            .edge_references()
            .map(|e| {
                (
                    self.graph[e.source()].as_str(),
                    self.graph[e.target()].as_str(),
                    e.weight().label(),
                )
            })
            .collect();
        edges.sort();
        for (from, to, label) in edges {
            out.push_str(&format!(
                "  {} -> {} [label={}];\n",
                dot_quote(from),
                dot_quote(to),
                dot_quote(&label)
            ));
        }
        out.push_str("}\n");
        out
    }

    /// Kahn's algorithm by levels: a service is placed once all its neighbours in
    /// `waits_for` direction are placed.
    /// O(services + relations).
    fn layers(&self, waits_for: Direction) -> Vec<Vec<String>> {
        let mut seen = Neighbors::new(self.graph.node_count());
        let mut waiting: Vec<usize> = self
            .graph
            .node_indices()
            .map(|n| seen.distinct(&self.graph, n, waits_for).count())
            .collect();
        let mut ready: Vec<NodeIndex> = self
            .graph
            .node_indices()
            .filter(|n| waiting.get(n.index()) == Some(&0))
            .collect();
        let mut layers = Vec::new();
        while !ready.is_empty() {
            ready.sort();
            let mut next = Vec::new();
            for &node in &ready {
                for other in seen.distinct(&self.graph, node, waits_for.opposite()) {
                    if let Some(count) = waiting.get_mut(other.index()) {
                        *count -= 1;
                        if *count == 0 {
                            next.push(other);
                        }
                    }
                }
            }
            layers.push(ready.iter().map(|&n| self.graph[n].clone()).collect());
            ready = next;
        }
        layers
    }

    /// The services reachable from `starts` (included) following edges in `direction`.
    fn reachable<'a>(
        &self,
        starts: impl IntoIterator<Item = &'a str>,
        direction: Direction,
    ) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<NodeIndex> = starts
            .into_iter()
            .filter_map(|name| self.index.get(name).copied())
            .collect();
        while let Some(node) = stack.pop() {
            if seen.insert(node) {
                stack.extend(self.graph.neighbors_directed(node, direction));
            }
        }
        seen.into_iter().map(|n| self.graph[n].clone()).collect()
    }
}

impl ServiceGraph {
    /// Builds the graph of a project's services from what each one refers to (see
    /// [`dependencies_of`]), with the same checks as [`ServiceGraph::new`].
    pub fn from_project(project: &Project) -> Result<ServiceGraph, GraphErrors> {
        ServiceGraph::new(
            project
                .services
                .iter()
                .map(|(name, service)| (name.clone(), dependencies_of(service))),
        )
    }
}

/// The services `service` refers to, in the order of [`located_dependencies`].
pub fn dependencies_of(service: &Service) -> Vec<Dependency> {
    let mut found = Vec::new();
    visit_dependencies(service, |_, dependency| found.push(dependency));
    found
}

/// The services `service` refers to, each with where it is written, relative to the
/// service (`depends_on.db`, `network_mode`, `volumes_from[1]`, `links[0]`, `ipc`,
/// `pid`), in that order of keys and then in written order. `volumes_from:
/// container:x`, `network_mode: host` and the like name no service and give no edge;
/// neither does a `service:` prefix with an empty name.
pub fn located_dependencies(service: &Service) -> Vec<(KeyPath, Dependency)> {
    let mut found = Vec::new();
    visit_dependencies(service, |at, dependency| {
        found.push((at.key_path(), dependency))
    });
    found
}

/// Where in a service a reference to another service is written.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DependencyAt<'a> {
    DependsOn(&'a str),
    NetworkMode,
    VolumesFrom(usize),
    Link(usize),
    Ipc,
    Pid,
}

impl DependencyAt<'_> {
    /// The key path, relative to the service.
    pub(crate) fn key_path(self) -> KeyPath {
        let root = KeyPath::root();
        match self {
            DependencyAt::DependsOn(name) => root.key("depends_on").key(name),
            DependencyAt::NetworkMode => root.key("network_mode"),
            DependencyAt::VolumesFrom(i) => root.key("volumes_from").index(i),
            DependencyAt::Link(i) => root.key("links").index(i),
            DependencyAt::Ipc => root.key("ipc"),
            DependencyAt::Pid => root.key("pid"),
        }
    }
}

/// Calls `found` with each service `service` refers to and where, in the order of
/// [`located_dependencies`] (which describes them).
pub(crate) fn visit_dependencies<'a>(
    service: &'a Service,
    mut found: impl FnMut(DependencyAt<'a>, Dependency),
) {
    let mut push = |at: DependencyAt<'a>, name: &str, kind: DepKind| {
        if !name.is_empty() {
            let dependency = Dependency {
                service: name.to_string(),
                kind,
            };
            found(at, dependency);
        }
    };
    for (name, depends_on) in &service.depends_on {
        let condition = match depends_on.condition {
            DependsCondition::ServiceStarted => "service_started",
            DependsCondition::ServiceHealthy => "service_healthy",
            DependsCondition::ServiceCompletedSuccessfully => "service_completed_successfully",
        };
        push(
            DependencyAt::DependsOn(name),
            name,
            DepKind::DependsOn {
                condition: condition.to_string(),
                required: depends_on.required,
                restart: depends_on.restart,
            },
        );
    }
    if let Some(name) = shared_service(service.network_mode.as_deref()) {
        push(DependencyAt::NetworkMode, name, DepKind::NetworkMode);
    }
    for (i, entry) in service.volumes_from.iter().enumerate() {
        let source = VolumesFrom::parse(entry);
        if !source.container {
            push(
                DependencyAt::VolumesFrom(i),
                source.name,
                DepKind::VolumesFrom,
            );
        }
    }
    for (i, link) in service.links.iter().enumerate() {
        push(DependencyAt::Link(i), link_target(link), DepKind::Link);
    }
    if let Some(name) = shared_service(service.ipc.as_deref()) {
        push(DependencyAt::Ipc, name, DepKind::Ipc);
    }
    if let Some(name) = shared_service(service.pid.as_deref()) {
        push(DependencyAt::Pid, name, DepKind::Pid);
    }
}

/// The service named by a `service:<name>` value of `network_mode`, `ipc` or `pid`.
fn shared_service(mode: Option<&str>) -> Option<&str> {
    mode?.strip_prefix("service:")
}

/// The service a `links` entry (`db` or `db:alias`) refers to.
pub fn link_target(link: &str) -> &str {
    link.split_once(':').map_or(link, |(name, _)| name)
}

/// Neighbours without repeats (two services may be related in several ways), found
/// without allocating: each node keeps the number of the last query that listed it.
struct Neighbors {
    listed_by: Vec<usize>,
    query: usize,
}

impl Neighbors {
    fn new(nodes: usize) -> Self {
        Neighbors {
            listed_by: vec![0; nodes],
            query: 0,
        }
    }

    /// The neighbours of `node` in `direction`, each once, `node` itself left out.
    fn distinct<'a>(
        &'a mut self,
        graph: &'a DiGraph<String, DepKind>,
        node: NodeIndex,
        direction: Direction,
    ) -> impl Iterator<Item = NodeIndex> + 'a {
        self.query += 1;
        let query = self.query;
        graph
            .neighbors_directed(node, direction)
            .filter(move |&other| {
                other != node
                    && self
                        .listed_by
                        .get_mut(other.index())
                        .is_some_and(|listed| std::mem::replace(listed, query) != query)
            })
    }
}

/// One `volumes_from` entry taken apart: `name`, `service:name` or `container:name`,
/// each optionally followed by `:ro` or `:rw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VolumesFrom<'a> {
    /// `container:<name>`: a container outside the project, not a service.
    pub container: bool,
    pub name: &'a str,
    /// What follows the name's `:`, as written (`ro` and `rw` are the valid ones).
    pub mode: Option<&'a str>,
}

impl<'a> VolumesFrom<'a> {
    /// Takes an entry apart; any text is accepted (the mode is checked by validation).
    pub fn parse(entry: &'a str) -> Self {
        let (container, rest) = match entry.strip_prefix("container:") {
            Some(rest) => (true, rest),
            None => (false, entry.strip_prefix("service:").unwrap_or(entry)),
        };
        let (name, mode) = match rest.split_once(':') {
            Some((name, mode)) => (name, Some(mode)),
            None => (rest, None),
        };
        VolumesFrom {
            container,
            name,
            mode,
        }
    }
}

/// One cycle per strongly connected component that has one (several services, or one
/// service that refers to itself), ordered by the component's first service by name.
/// Each cycle is the shortest one through that first service, preferring neighbours
/// by name, so the result is deterministic.
fn cycles(graph: &DiGraph<String, DepKind>) -> Vec<Vec<String>> {
    // Most graphs have no cycle: a topological sort (iterative, a self-reference counts
    // as a cycle) says so without a component list per service.
    if petgraph::algo::toposort(graph, None).is_ok() {
        return Vec::new();
    }
    let mut found: Vec<Vec<String>> = petgraph::algo::tarjan_scc(graph)
        .into_iter()
        .filter_map(|component| {
            let start = *component.iter().min()?;
            let cyclic = component.len() > 1 || graph.contains_edge(start, start);
            if !cyclic {
                return None;
            }
            let members: BTreeSet<NodeIndex> = component.into_iter().collect();
            shortest_cycle(graph, start, &members)
                .map(|path| path.into_iter().map(|n| graph[n].clone()).collect())
        })
        .collect();
    found.sort();
    found
}

/// Breadth-first search from `start` back to itself within `members`.
fn shortest_cycle(
    graph: &DiGraph<String, DepKind>,
    start: NodeIndex,
    members: &BTreeSet<NodeIndex>,
) -> Option<Vec<NodeIndex>> {
    let mut parent: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let successors: BTreeSet<NodeIndex> = graph
            .neighbors_directed(node, Direction::Outgoing)
            .filter(|n| members.contains(n))
            .collect();
        for next in successors {
            if next == start {
                // Walk back to `start` (the root, which has no parent).
                let mut path = vec![node];
                let mut at = node;
                while let Some(&p) = parent.get(&at) {
                    path.push(p);
                    at = p;
                }
                path.reverse();
                path.push(start);
                return Some(path);
            }
            if let btree_map::Entry::Vacant(entry) = parent.entry(next) {
                entry.insert(node);
                queue.push_back(next);
            }
        }
    }
    None
}

/// A dot ID in double quotes.
fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::DependsOn;

    fn dep(service: &str, condition: &str) -> Dependency {
        Dependency {
            service: service.to_string(),
            kind: DepKind::DependsOn {
                condition: condition.to_string(),
                required: true,
                restart: false,
            },
        }
    }

    fn on(service: &str, kind: DepKind) -> Dependency {
        Dependency {
            service: service.to_string(),
            kind,
        }
    }

    fn graph(services: Vec<(&str, Vec<Dependency>)>) -> Result<ServiceGraph, GraphErrors> {
        ServiceGraph::new(services.into_iter().map(|(n, d)| (n.to_string(), d)))
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn layers(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter()
            .map(|l| l.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    fn error_text(result: Result<ServiceGraph, GraphErrors>) -> String {
        match result {
            Ok(_) => "built".to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn diamond_starts_bottom_up_and_stops_top_down() {
        let g = graph(vec![
            (
                "a",
                vec![dep("b", "service_started"), dep("c", "service_healthy")],
            ),
            ("c", vec![dep("d", "service_started")]),
            (
                "b",
                vec![on("d", DepKind::Link), on("d", DepKind::VolumesFrom)],
            ),
            ("d", vec![]),
        ])
        .unwrap();
        assert_eq!(g.start_layers(), layers(&[&["d"], &["b", "c"], &["a"]]));
        assert_eq!(g.stop_layers(), layers(&[&["a"], &["b", "c"], &["d"]]));
    }

    #[test]
    fn independent_services_share_one_layer() {
        let g = graph(vec![("z", vec![]), ("x", vec![]), ("y", vec![])]).unwrap();
        assert_eq!(g.start_layers(), layers(&[&["x", "y", "z"]]));
        assert_eq!(g.stop_layers(), layers(&[&["x", "y", "z"]]));
    }

    #[test]
    fn each_service_is_placed_as_early_as_possible() {
        // c is unrelated: it starts with b and stops with a.
        let g = graph(vec![
            ("a", vec![on("b", DepKind::NetworkMode)]),
            ("b", vec![]),
            ("c", vec![]),
        ])
        .unwrap();
        assert_eq!(g.start_layers(), layers(&[&["b", "c"], &["a"]]));
        assert_eq!(g.stop_layers(), layers(&[&["a", "c"], &["b"]]));
    }

    #[test]
    fn empty_graph_has_no_layers() {
        let g = graph(vec![]).unwrap();
        assert!(g.start_layers().is_empty());
        assert_eq!(g.to_dot(), "digraph services {\n}\n");
    }

    #[test]
    fn cycle_of_three_shows_the_whole_path() {
        let result = graph(vec![
            ("c", vec![dep("a", "service_started")]),
            ("b", vec![on("c", DepKind::Ipc)]),
            ("a", vec![on("b", DepKind::Pid)]),
        ]);
        assert_eq!(error_text(result), "dependency cycle: a -> b -> c -> a");
    }

    #[test]
    fn self_cycle() {
        let result = graph(vec![("a", vec![on("a", DepKind::NetworkMode)])]);
        assert_eq!(
            result.unwrap_err().0,
            vec![GraphError::Cycle {
                path: vec!["a".to_string(), "a".to_string()]
            }]
        );
    }

    #[test]
    fn the_shortest_cycle_through_the_first_service_is_reported() {
        let result = graph(vec![
            (
                "a",
                vec![dep("b", "service_started"), dep("c", "service_started")],
            ),
            ("b", vec![dep("c", "service_started")]),
            ("c", vec![dep("a", "service_started")]),
        ]);
        assert_eq!(error_text(result), "dependency cycle: a -> c -> a");
    }

    #[test]
    fn every_problem_is_reported_unknown_references_first() {
        let result = graph(vec![
            ("y", vec![on("x", DepKind::Link)]),
            ("x", vec![on("y", DepKind::Link)]),
            ("b", vec![on("a", DepKind::VolumesFrom)]),
            ("a", vec![on("b", DepKind::VolumesFrom)]),
            ("web", vec![dep("db", "service_healthy")]),
            ("solo", vec![on("solo", DepKind::Ipc)]),
        ]);
        assert_eq!(
            error_text(result),
            "service \"web\" refers to undefined service \"db\" (depends_on)\n\
             dependency cycle: a -> b -> a\n\
             dependency cycle: solo -> solo\n\
             dependency cycle: x -> y -> x"
        );
    }

    #[test]
    fn optional_dependency_on_a_missing_service_is_dropped() {
        let optional = Dependency {
            service: "metrics".to_string(),
            kind: DepKind::DependsOn {
                condition: "service_started".to_string(),
                required: false,
                restart: false,
            },
        };
        let g = graph(vec![("web", vec![optional])]).unwrap();
        assert_eq!(g.start_layers(), layers(&[&["web"]]));
    }

    #[test]
    fn unknown_network_mode_target_is_an_error() {
        let result = graph(vec![("web", vec![on("vpn", DepKind::NetworkMode)])]);
        assert_eq!(
            result.unwrap_err().0,
            vec![GraphError::Unknown {
                from: "web".to_string(),
                to: "vpn".to_string(),
                relation: "network_mode",
            }]
        );
    }

    #[test]
    fn duplicate_service_is_an_error() {
        let result = graph(vec![("web", vec![]), ("web", vec![])]);
        assert_eq!(error_text(result), "service \"web\" is defined twice");
    }

    #[test]
    fn closure_and_dependents_are_transitive() {
        let g = graph(vec![
            ("web", vec![dep("api", "service_started")]),
            ("api", vec![dep("db", "service_healthy")]),
            ("worker", vec![dep("db", "service_healthy")]),
            ("db", vec![]),
            ("cache", vec![]),
        ])
        .unwrap();
        let web = vec!["web".to_string(), "nope".to_string()];
        assert_eq!(g.with_dependencies(&web), names(&["api", "db", "web"]));
        assert_eq!(
            g.with_dependencies(&["worker".to_string(), "cache".to_string()]),
            names(&["cache", "db", "worker"])
        );
        assert_eq!(g.dependents("db"), names(&["api", "web", "worker"]));
        assert_eq!(g.dependents("api"), names(&["web"]));
        assert_eq!(g.dependents("web"), names(&[]));
        assert_eq!(g.dependents("nope"), names(&[]));
    }

    #[test]
    fn dot_output_is_sorted_and_labelled() {
        let g = graph(vec![
            (
                "web",
                vec![
                    on("db", DepKind::Link),
                    Dependency {
                        service: "db".to_string(),
                        kind: DepKind::DependsOn {
                            condition: "service_healthy".to_string(),
                            required: true,
                            restart: true,
                        },
                    },
                    dep("cache", "service_started"),
                ],
            ),
            ("vpn", vec![]),
            ("app", vec![on("vpn", DepKind::NetworkMode)]),
            ("db", vec![]),
            ("cache", vec![]),
        ])
        .unwrap();
        assert_eq!(
            g.to_dot(),
            "digraph services {\n\
             \x20 \"app\";\n\
             \x20 \"cache\";\n\
             \x20 \"db\";\n\
             \x20 \"vpn\";\n\
             \x20 \"web\";\n\
             \x20 \"app\" -> \"vpn\" [label=\"network_mode\"];\n\
             \x20 \"web\" -> \"cache\" [label=\"depends_on (service_started)\"];\n\
             \x20 \"web\" -> \"db\" [label=\"depends_on (service_healthy, restart)\"];\n\
             \x20 \"web\" -> \"db\" [label=\"links\"];\n\
             }\n"
        );
    }

    #[test]
    fn labels_name_the_relation() {
        let optional = DepKind::DependsOn {
            condition: "service_completed_successfully".to_string(),
            required: false,
            restart: false,
        };
        assert_eq!(
            optional.label(),
            "depends_on (service_completed_successfully, optional)"
        );
        assert_eq!(DepKind::VolumesFrom.label(), "volumes_from");
        assert_eq!(DepKind::Ipc.label(), "ipc");
        assert_eq!(DepKind::Pid.label(), "pid");
    }

    #[test]
    fn dot_quotes_are_escaped() {
        assert_eq!(dot_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    fn depends(condition: DependsCondition, required: bool, restart: bool) -> DependsOn {
        DependsOn {
            condition,
            required,
            restart,
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dependencies_of_reads_every_relation_in_key_order() {
        let service = Service {
            depends_on: BTreeMap::from([
                (
                    "db".to_string(),
                    depends(DependsCondition::ServiceHealthy, true, true),
                ),
                (
                    "migrate".to_string(),
                    depends(DependsCondition::ServiceCompletedSuccessfully, false, false),
                ),
                (
                    "cache".to_string(),
                    depends(DependsCondition::ServiceStarted, true, false),
                ),
            ]),
            network_mode: Some("service:vpn".to_string()),
            volumes_from: strings(&[
                "data",
                "service:logs:ro",
                "container:legacy",
                "container:old:rw",
                "shared:rw",
            ]),
            links: strings(&["api", "auth:login"]),
            ipc: Some("service:ipcd".to_string()),
            pid: Some("service:pidd".to_string()),
            ..Service::default()
        };
        let depends_on = |condition: &str, required, restart| DepKind::DependsOn {
            condition: condition.to_string(),
            required,
            restart,
        };
        let located: Vec<(String, Dependency)> = located_dependencies(&service)
            .into_iter()
            .map(|(path, dependency)| (path.to_string(), dependency))
            .collect();
        assert_eq!(
            located,
            vec![
                (
                    "depends_on.cache".to_string(),
                    on("cache", depends_on("service_started", true, false))
                ),
                (
                    "depends_on.db".to_string(),
                    on("db", depends_on("service_healthy", true, true))
                ),
                (
                    "depends_on.migrate".to_string(),
                    on(
                        "migrate",
                        depends_on("service_completed_successfully", false, false)
                    )
                ),
                ("network_mode".to_string(), on("vpn", DepKind::NetworkMode)),
                (
                    "volumes_from[0]".to_string(),
                    on("data", DepKind::VolumesFrom)
                ),
                (
                    "volumes_from[1]".to_string(),
                    on("logs", DepKind::VolumesFrom)
                ),
                (
                    "volumes_from[4]".to_string(),
                    on("shared", DepKind::VolumesFrom)
                ),
                ("links[0]".to_string(), on("api", DepKind::Link)),
                ("links[1]".to_string(), on("auth", DepKind::Link)),
                ("ipc".to_string(), on("ipcd", DepKind::Ipc)),
                ("pid".to_string(), on("pidd", DepKind::Pid)),
            ]
        );
        let plain: Vec<Dependency> = located.into_iter().map(|(_, d)| d).collect();
        assert_eq!(dependencies_of(&service), plain);
    }

    #[test]
    fn modes_that_name_no_service_give_no_edge() {
        let service = Service {
            network_mode: Some("host".to_string()),
            ipc: Some("shareable".to_string()),
            pid: Some("container:abc".to_string()),
            volumes_from: strings(&["container:x", "service:", ":ro"]),
            links: strings(&[":alias"]),
            ..Service::default()
        };
        assert_eq!(dependencies_of(&service), vec![]);
        let bridged = Service {
            network_mode: Some("service:".to_string()),
            ipc: Some("container:db".to_string()),
            ..Service::default()
        };
        assert_eq!(dependencies_of(&bridged), vec![]);
    }

    #[test]
    fn volumes_from_entries_are_taken_apart() {
        let parse = VolumesFrom::parse;
        let entry = |container, name, mode| VolumesFrom {
            container,
            name,
            mode,
        };
        assert_eq!(parse("db"), entry(false, "db", None));
        assert_eq!(parse("db:ro"), entry(false, "db", Some("ro")));
        assert_eq!(parse("service:db:rw"), entry(false, "db", Some("rw")));
        assert_eq!(parse("container:c1"), entry(true, "c1", None));
        assert_eq!(parse("container:c1:ro"), entry(true, "c1", Some("ro")));
        assert_eq!(parse("db:bogus"), entry(false, "db", Some("bogus")));
        assert_eq!(link_target("db:database"), "db");
        assert_eq!(link_target("db"), "db");
    }

    #[test]
    fn from_project_builds_edges_from_every_service() {
        let image = |extra: Service| Service {
            image: Some("busybox".to_string()),
            ..extra
        };
        let project = Project {
            name: "demo".to_string(),
            services: BTreeMap::from([
                (
                    "web".to_string(),
                    image(Service {
                        depends_on: BTreeMap::from([(
                            "db".to_string(),
                            depends(DependsCondition::ServiceHealthy, true, false),
                        )]),
                        links: strings(&["cache:redis"]),
                        ..Service::default()
                    }),
                ),
                (
                    "sidecar".to_string(),
                    image(Service {
                        network_mode: Some("service:web".to_string()),
                        volumes_from: strings(&["db:ro"]),
                        ..Service::default()
                    }),
                ),
                ("db".to_string(), image(Service::default())),
                ("cache".to_string(), image(Service::default())),
            ]),
            ..Project::default()
        };
        let g = ServiceGraph::from_project(&project).unwrap();
        assert_eq!(
            g.start_layers(),
            layers(&[&["cache", "db"], &["web"], &["sidecar"]])
        );
        assert_eq!(
            g.to_dot(),
            "digraph services {\n\
             \x20 \"cache\";\n\
             \x20 \"db\";\n\
             \x20 \"sidecar\";\n\
             \x20 \"web\";\n\
             \x20 \"sidecar\" -> \"db\" [label=\"volumes_from\"];\n\
             \x20 \"sidecar\" -> \"web\" [label=\"network_mode\"];\n\
             \x20 \"web\" -> \"cache\" [label=\"links\"];\n\
             \x20 \"web\" -> \"db\" [label=\"depends_on (service_healthy)\"];\n\
             }\n"
        );
    }

    #[test]
    fn from_project_reports_unknown_targets_and_cycles() {
        let project = Project {
            services: BTreeMap::from([
                (
                    "a".to_string(),
                    Service {
                        pid: Some("service:b".to_string()),
                        ..Service::default()
                    },
                ),
                (
                    "b".to_string(),
                    Service {
                        ipc: Some("service:a".to_string()),
                        links: strings(&["ghost"]),
                        ..Service::default()
                    },
                ),
            ]),
            ..Project::default()
        };
        assert_eq!(
            error_text(ServiceGraph::from_project(&project)),
            "service \"b\" refers to undefined service \"ghost\" (links)\n\
             dependency cycle: a -> b -> a"
        );
    }
}
