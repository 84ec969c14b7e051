//! docker/ checked against the code it ships, without a Docker engine: the
//! compose file parses and declares the stack as production runs it, the
//! config files load through respite's own loader with the environment
//! compose gives them, the ports agree everywhere (image, compose,
//! respite's config, Prometheus), Grafana's provisioning points at what is
//! mounted, and every metric the dashboard queries exists in a real
//! `/metrics` scrape of respite with the catalogue on.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::common::prometheus::{family_of, Scrape};
use crate::common::*;
use clap::Parser;
use respite::cli::{Cli, Command};
use respite::config::materials::VectorBackend;
use respite::Config;
use serde_yaml_ng::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn docker(rel: &str) -> PathBuf {
    repo().join("docker").join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(rel: &str) -> Value {
    let mut v: Value = serde_yaml_ng::from_str(&read(&docker(rel)))
        .unwrap_or_else(|e| panic!("docker/{rel} is not YAML: {e}"));
    // Compose resolves `<<: *anchor` merge keys; so must we.
    v.apply_merge().expect("merge keys");
    v
}

fn compose() -> Value {
    yaml("compose.yaml")
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    let s = &compose["services"][name];
    assert!(s.is_mapping(), "compose has no service {name}");
    s
}

/// A sequence of scalars as strings (numbers and booleans as written).
fn strings(v: &Value) -> Vec<String> {
    let seq = v.as_sequence().map(Vec::as_slice).unwrap_or_default();
    seq.iter().map(scalar).collect()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// A healthcheck's `test`, as one string (list form joined by spaces).
fn healthcheck(s: &Value) -> String {
    let test = &s["healthcheck"]["test"];
    match test {
        Value::Sequence(_) => strings(test).join(" "),
        other => scalar(other),
    }
}

/// The environment compose gives a service (map form).
fn environment(s: &Value) -> HashMap<String, String> {
    let map = s["environment"].as_mapping().cloned().unwrap_or_default();
    map.iter().map(|(k, v)| (scalar(k), scalar(v))).collect()
}

/// `${VAR:-default}` as compose would expand it with VAR unset.
fn expand_default(v: &str) -> String {
    match v.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        Some(inner) => inner.split_once(":-").map_or("", |(_, d)| d).to_string(),
        None => v.to_string(),
    }
}

/// The argument after `flag` in a command line.
fn arg_after(args: &[String], flag: &str) -> Option<String> {
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1).cloned()
}

/// `host:container[:mode]` volume mounts of a service: host → container.
fn mounts(s: &Value) -> Vec<(String, String)> {
    strings(&s["volumes"])
        .iter()
        .map(|m| {
            let mut parts = m.split(':');
            let host = parts.next().unwrap_or_default().to_string();
            (host, parts.next().unwrap_or_default().to_string())
        })
        .collect()
}

#[test]
fn compose_declares_the_production_stack() {
    let c = compose();
    for name in [
        "redis",
        "postgres",
        "qdrant",
        "respite",
        "prometheus",
        "grafana",
    ] {
        service(&c, name);
    }
    let redis = strings(&service(&c, "redis")["command"]);
    let after = |flag: &str| arg_after(&redis, flag);
    assert_eq!(redis.first().map(String::as_str), Some("redis-server"));
    assert_eq!(after("--appendonly").as_deref(), Some("yes"));
    assert_eq!(after("--maxmemory").as_deref(), Some("512mb"));
    assert_eq!(after("--maxmemory-policy").as_deref(), Some("allkeys-lru"));
    let password = after("--requirepass").expect("--requirepass has a value");
    assert!(!expand_default(&password).is_empty());
    for name in ["redis", "postgres", "qdrant", "respite"] {
        assert!(!healthcheck(service(&c, name)).is_empty(), "{name}");
    }
    for (name, s) in c["services"].as_mapping().expect("services") {
        for dep in s["depends_on"].as_mapping().into_iter().flatten() {
            service(&c, &scalar(dep.0));
        }
        for dep in strings(&s["depends_on"]) {
            service(&c, &dep);
        }
        for (host, _) in mounts(s).iter().filter(|m| m.0.starts_with("./")) {
            assert!(docker(host).exists(), "{name:?} mounts missing {host}");
        }
    }
}

#[test]
fn the_respite_service_builds_from_the_repo_and_checks_health() {
    let c = compose();
    let r = service(&c, "respite");
    let context = docker(&scalar(&r["build"]["context"]));
    assert!(
        context.join("Cargo.toml").exists(),
        "context is the repo root"
    );
    let dockerfile = context.join(scalar(&r["build"]["dockerfile"]));
    assert!(dockerfile.exists(), "{}", dockerfile.display());
    let ports = strings(&r["ports"]);
    for port in ["6380:6380", "9121:9121"] {
        assert!(ports.iter().any(|p| p.starts_with(port)), "{ports:?}");
    }
    let check = healthcheck(r);
    assert!(check.contains("/dev/tcp/127.0.0.1/9121") && check.contains("GET /health"));
    let env = environment(r);
    assert_eq!(env["REDIS_URL"], "redis://redis:6379");
    let redis = strings(&service(&c, "redis")["command"]);
    assert_eq!(
        arg_after(&redis, "--requirepass").as_deref(),
        Some(env["REDIS_PASSWORD"].as_str()),
        "respite and Redis take the password from one place"
    );
    let config = mounts(r);
    assert!(config.contains(&("./respite.toml".into(), "/etc/respite/respite.toml".into())));
}

/// The image: every path it copies exists in the build context, it
/// exposes respite's ports, and its default command reads the config
/// compose mounts.
#[test]
fn the_dockerfile_copies_what_exists_and_exposes_the_ports() {
    let text = read(&docker("Dockerfile"));
    let mut exposed = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(copy) = line.strip_prefix("COPY ") {
            if copy.starts_with("--from") {
                continue;
            }
            let words: Vec<&str> = copy.split_whitespace().collect();
            for src in &words[..words.len() - 1] {
                assert!(repo().join(src).exists(), "COPY {src}: not in the repo");
            }
        }
        if let Some(ports) = line.strip_prefix("EXPOSE ") {
            exposed.extend(ports.split_whitespace().map(str::to_string));
        }
    }
    assert_eq!(exposed, ["6380", "9121"]);
    assert!(text.contains(r#"CMD ["--config", "/etc/respite/respite.toml"]"#));
    assert!(text.contains("COPY docker/respite.standalone.toml /etc/respite/respite.toml"));
}

/// A Dockerfile instruction's JSON (exec-form) arguments.
fn exec_form(dockerfile: &str, instruction: &str) -> Vec<String> {
    let prefix = format!("{instruction} ");
    let line = dockerfile.lines().find_map(|l| l.strip_prefix(&prefix));
    let line = line.unwrap_or_else(|| panic!("no {instruction} in the Dockerfile"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{instruction} {line}: {e}"))
}

/// Parse a command line with respite's own CLI.
fn cli(args: &[String]) -> Command {
    let cli = Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    cli.into_command()
}

#[test]
fn the_commands_compose_and_the_image_run_are_respites() {
    let text = read(&docker("Dockerfile"));
    let entry = exec_form(&text, "ENTRYPOINT");
    assert_eq!(entry, ["respite"]);
    let run = [entry.clone(), exec_form(&text, "CMD")].concat();
    let Command::Serve(serve) = cli(&run) else {
        panic!("the image serves by default")
    };
    let config = PathBuf::from("/etc/respite/respite.toml");
    assert_eq!(serve.config.as_deref(), Some(config.as_path()));
    let c = compose();
    let seed = [entry, strings(&service(&c, "seed")["command"])].concat();
    let Command::Seed(args) = cli(&seed) else {
        panic!("the seed service seeds")
    };
    assert_eq!(args.tool.config.as_deref(), Some(config.as_path()));
}

/// Load a docker/ config as respite would: the file, then `env`, validated.
fn load(rel: &str, env: &HashMap<String, String>) -> Config {
    let lookup = |var: &str| env.get(var).cloned();
    Config::load(Some(&docker(rel)), &lookup)
        .unwrap_or_else(|e| panic!("docker/{rel} does not load: {e}"))
}

#[test]
fn the_config_files_load_with_respites_own_loader() {
    let c = compose();
    let env: HashMap<String, String> = environment(service(&c, "respite"))
        .into_iter()
        .map(|(k, v)| (k, expand_default(&v)))
        .collect();
    let stack = load("respite.toml", &env);
    assert_eq!(stack.server.listen, "0.0.0.0:6380");
    assert_eq!(stack.server.admin, "0.0.0.0:9121");
    let upstream = stack.upstream_target().expect("upstream");
    assert_eq!((upstream.host.as_str(), upstream.port), ("redis", 6379));
    assert_eq!(
        upstream.password.as_deref(),
        Some(env["REDIS_PASSWORD"].as_str())
    );
    let pg = environment(service(&c, "postgres"));
    let url = format!(
        "postgres://{}:{}@postgres:5432/{}",
        pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"]
    );
    assert_eq!(stack.materials.relational.url, url);
    assert_eq!(stack.materials.vector.backend, VectorBackend::Qdrant);
    assert_eq!(stack.materials.vector.url, "http://qdrant:6334");
    assert!(
        stack.l1.lag_probe_interval_ms > 0,
        "the lag panel needs the probe"
    );

    let standalone = load("respite.standalone.toml", &HashMap::new());
    assert_eq!(standalone.server.listen, "0.0.0.0:6380");
    assert_eq!(standalone.server.admin, "0.0.0.0:9121");
    let found: Vec<String> = std::fs::read_dir(docker(""))
        .expect("docker/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("respite") && n.ends_with(".toml"))
        .collect();
    assert_eq!(
        found.len(),
        2,
        "a new docker/respite*.toml needs a check: {found:?}"
    );
}

#[test]
fn prometheus_and_grafana_point_at_what_compose_runs() {
    let prom = yaml("prometheus.yml");
    let job = &prom["scrape_configs"][0];
    assert_eq!(scalar(&job["metrics_path"]), "/metrics");
    assert_eq!(
        strings(&job["static_configs"][0]["targets"]),
        ["respite:9121"]
    );

    let c = compose();
    let grafana = service(&c, "grafana");
    let dashboards = mounts(grafana)
        .into_iter()
        .find(|m| m.0 == "./grafana/dashboards")
        .map(|m| m.1)
        .expect("dashboards mounted");
    let provider = yaml("grafana/provisioning/dashboards/respite.yml");
    assert_eq!(
        scalar(&provider["providers"][0]["options"]["path"]),
        dashboards
    );
    let home = &environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"];
    assert_eq!(home, &format!("{dashboards}/respite.json"));

    let source = yaml("grafana/provisioning/datasources/prometheus.yml");
    let uid = scalar(&source["datasources"][0]["uid"]);
    assert_eq!(
        scalar(&source["datasources"][0]["url"]),
        "http://prometheus:9090"
    );
    let mut used = BTreeSet::new();
    collect(&dashboard(), "uid", &mut used);
    used.retain(|u| u != "-- Grafana --" && u != "respite-overview");
    assert_eq!(
        used,
        BTreeSet::from([uid]),
        "every panel uses the provisioned source"
    );
}

// ----- the dashboard's queries ------------------------------------------

fn dashboard() -> serde_json::Value {
    serde_json::from_str(&read(&docker("grafana/dashboards/respite.json")))
        .expect("the dashboard is JSON")
}

/// Every string under key `key`, anywhere in `v`.
fn collect(v: &serde_json::Value, key: &str, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match v.as_str() {
                    Some(s) if k == key => {
                        out.insert(s.to_string());
                    }
                    _ => collect(v, key, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect(v, key, out)),
        _ => {}
    }
}

/// What a PromQL expression refers to.
#[derive(Debug, Default, PartialEq)]
struct Refs {
    metrics: BTreeSet<String>,
    labels: BTreeSet<String>,
}

/// Aggregations, which may put `by (…)` between their name and `(`.
const AGGREGATIONS: [&str; 12] = [
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
];

/// Keywords that are followed by a list of label names.
const GROUPING: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

const OPERATORS: [&str; 5] = ["and", "or", "unless", "bool", "offset"];

/// Metric names and label names in a PromQL expression: identifiers that
/// are not functions, aggregations, keywords, numbers, Grafana variables,
/// strings, durations, or label names (which are collected apart).
fn refs(expr: &str) -> Refs {
    let b = expr.as_bytes();
    let mut refs = Refs::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i = match c {
            b'"' | b'\'' | b'`' => skip_string(b, i),
            b'[' => b[i..]
                .iter()
                .position(|&c| c == b']')
                .map_or(b.len(), |p| i + p + 1),
            b'{' => matchers(b, i + 1, &mut refs.labels),
            b'$' => ident_end(b, i + 1),
            c if c.is_ascii_digit() || c == b'.' => number_end(b, i),
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => word(expr, i, &mut refs),
            _ => i + 1,
        };
    }
    refs
}

fn ident_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
        i += 1;
    }
    i
}

fn number_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
        i += 1;
    }
    i
}

fn skip_string(b: &[u8], start: usize) -> usize {
    let quote = b[start];
    let mut i = start + 1;
    while i < b.len() && b[i] != quote {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

fn next_char(b: &[u8], mut i: usize) -> Option<u8> {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    b.get(i).copied()
}

/// `{name op "value", ...}` from just after `{`: label names into `labels`.
fn matchers(b: &[u8], mut i: usize, labels: &mut BTreeSet<String>) -> usize {
    while i < b.len() && b[i] != b'}' {
        if b[i].is_ascii_alphabetic() || b[i] == b'_' {
            let end = ident_end(b, i);
            labels.insert(String::from_utf8_lossy(&b[i..end]).into_owned());
            i = end;
        } else if b[i] == b'"' || b[i] == b'\'' || b[i] == b'`' {
            i = skip_string(b, i);
        } else {
            i += 1;
        }
    }
    i + 1
}

/// An identifier at `i`: a metric, unless it is a function, aggregation or
/// keyword; a grouping keyword's `( labels )` go to the labels.
fn word(expr: &str, i: usize, refs: &mut Refs) -> usize {
    let b = expr.as_bytes();
    let end = ident_end(b, i);
    let w = &expr[i..end];
    let next = next_char(b, end);
    if GROUPING.contains(&w) {
        if next == Some(b'(') {
            let open = end + b[end..].iter().position(|&c| c == b'(').unwrap_or(0);
            let close = open + b[open..].iter().position(|&c| c == b')').unwrap_or(0);
            for label in expr[open + 1..close].split(',').map(str::trim) {
                refs.labels.insert(label.to_string());
            }
            return close + 1;
        }
        return end;
    }
    let function = next == Some(b'(') || AGGREGATIONS.contains(&w);
    if !function && !OPERATORS.contains(&w) {
        refs.metrics.insert(w.to_string());
    }
    end
}

#[test]
fn promql_references_are_read_correctly() {
    let r = refs(
        r#"histogram_quantile(0.95, sum by (le, family) (rate(respite_command_duration_seconds_bucket{family=~"$family"}[$__rate_interval]))) / on (job) group_left up"#,
    );
    let metrics: Vec<&str> = r.metrics.iter().map(String::as_str).collect();
    assert_eq!(metrics, ["respite_command_duration_seconds_bucket", "up"]);
    let labels: Vec<&str> = r.labels.iter().map(String::as_str).collect();
    assert_eq!(labels, ["family", "job", "le"]);
    let r = refs(r#"sum(rate(a_total{x="b_total"}[5m])) > 1e3 and max without (y) (c)"#);
    let metrics: Vec<&str> = r.metrics.iter().map(String::as_str).collect();
    assert_eq!(metrics, ["a_total", "c"]);
}

/// Every query of the dashboard (panel targets and template variables).
fn queries() -> Vec<Refs> {
    let d = dashboard();
    let mut exprs = BTreeSet::new();
    collect(&d["panels"], "expr", &mut exprs);
    let mut out: Vec<Refs> = exprs.iter().map(|e| refs(e)).collect();
    let mut variables = BTreeSet::new();
    collect(&d["templating"], "definition", &mut variables);
    for v in variables {
        // Grafana's label_values(metric, label).
        let args = v
            .strip_prefix("label_values(")
            .and_then(|a| a.strip_suffix(')'));
        let (metric, label) = args
            .and_then(|a| a.split_once(','))
            .expect("label_values(m, l)");
        out.push(Refs {
            metrics: BTreeSet::from([metric.trim().to_string()]),
            labels: BTreeSet::from([label.trim().to_string()]),
        });
    }
    out
}

/// Series Prometheus itself adds to every scrape.
const PROMETHEUS_OWN: [&str; 1] = ["up"];
/// Labels Prometheus adds (`job`, `instance`) or that every histogram has.
const GIVEN_LABELS: [&str; 3] = ["job", "instance", "le"];

/// Each query's metrics exist in `scrape` and its labels are on them.
fn assert_queries_exist(scrape: &Scrape, body: &str) {
    for q in queries() {
        let families: Vec<&str> = q
            .metrics
            .iter()
            .filter(|m| !PROMETHEUS_OWN.contains(&m.as_str()))
            .map(|m| {
                family_of(m, &scrape.families)
                    .unwrap_or_else(|| panic!("the dashboard queries {m}, not exported:\n{body}"))
            })
            .collect();
        for label in q
            .labels
            .iter()
            .filter(|l| !GIVEN_LABELS.contains(&l.as_str()))
        {
            let carried = families.iter().any(|f| scrape.has_label(f, label));
            assert!(carried, "label {label} is on none of {families:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_dashboard_queries_is_exported() {
    let rig = CatalogueRig::start().await;
    let mut raw = rig.proxy.raw().await;
    let reply = raw.call(&[b"MSEARCH", b"cement", b"LIMIT", b"3"]).await;
    assert!(reply.starts_with('*'), "{reply}");
    let (body, scrape) = scrape(rig.admin).await;
    assert_queries_exist(&scrape, &body);

    // What the dashboard must show.
    let all: BTreeSet<String> = queries().into_iter().flat_map(|q| q.metrics).collect();
    for wanted in [
        "respite_materials_hits_total",
        "respite_l1_hits_total",
        "respite_commands_processed_total",
        "respite_command_duration_seconds_bucket",
        "respite_l1_bytes",
        "respite_upstream_connections",
        "respite_materials_store_up",
        "respite_invalidation_lag_seconds_bucket",
        "respite_upstream_rtt_seconds_bucket",
        "respite_store_duration_seconds_bucket",
    ] {
        assert!(all.contains(wanted), "no panel shows {wanted}");
    }
    rig.stop().await;
}
