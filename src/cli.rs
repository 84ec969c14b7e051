//! Command-line interface: the flags and (future) subcommands respite
//! accepts, and the final, highest-precedence layer of configuration.
//!
//! `respite` with no subcommand serves; `respite serve` is the explicit
//! spelling. Later subcommands (`import`, `seed`, `reindex`) join
//! [`Command`]. Flags take precedence over the environment, the file and the
//! defaults (see [`crate::config`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{parse_admin_addr, parse_redis_url, parse_socket_addr, Config, ConfigError};

/// Top-level command line. Serve flags may be given without a subcommand
/// (the common case) or after `serve`, but not both at once.
#[derive(Parser, Debug)]
#[command(
    name = "respite",
    version,
    about = "A caching proxy that speaks the Redis protocol",
    long_about = "A caching proxy that speaks the Redis protocol.\n\n\
        Configuration precedence, lowest first: built-in defaults < --config \
        file < environment (REDIS_URL, REDIS_PASSWORD, REDIS_DB, \
        REDIS_MAX_CONNECTIONS, REDIS_TIMEOUT) < flags. \
        conf/respite.toml documents every key and its default.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; serving when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Serve flags given without a subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// The action to run: the explicit subcommand, or `Serve` with the
    /// top-level flags when none was given. Lets `main` match on one enum.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

/// respite's actions.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the proxy (the default)
    Serve(ServeArgs),
    /// Load materials from a CSV or JSON Lines file into the catalogue
    Import(ImportArgs),
    /// Generate a demo construction-materials catalogue
    Seed(SeedArgs),
    /// Rebuild the vector store from the relational store
    Reindex(ReindexArgs),
}

/// What the catalogue tools share: the configuration (for the stores) and
/// the upstream whose cached copies they invalidate.
#[derive(Args, Debug, Clone, Default, PartialEq)]
pub struct ToolArgs {
    /// TOML configuration file (its [materials] section names the stores)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Upstream Redis whose cached materials are invalidated as batches land
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
}

impl ToolArgs {
    /// The effective configuration, as `serve` would resolve it.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let serve = ServeArgs {
            config: self.config.clone(),
            upstream: self.upstream.clone(),
            ..ServeArgs::default()
        };
        resolve_config(&serve, env)
    }
}

/// `respite import FILE`.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct ImportArgs {
    /// A .csv (header row of field names) or .jsonl file
    pub file: PathBuf,
    /// Records per batch; each batch is one transaction
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
    /// Stores and upstream
    #[command(flatten)]
    pub tool: ToolArgs,
}

/// `respite seed --count N`.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct SeedArgs {
    /// How many materials to generate
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub count: u64,
    /// Generator seed: the same seed gives the same catalogue
    #[arg(long, default_value_t = crate::materials::bulk::DEMO_SEED)]
    pub seed: u64,
    /// Records per batch
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
    /// Stores and upstream
    #[command(flatten)]
    pub tool: ToolArgs,
}

/// `respite reindex`.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct ReindexArgs {
    /// Records per batch
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
    /// Stores and upstream
    #[command(flatten)]
    pub tool: ToolArgs,
}

/// Flags for serving. Every override is optional so that, when a flag is
/// absent, the file/env/default value stands; the defaults shown in help
/// are those of [`Config::default`].
#[derive(Args, Debug, Clone, Default, PartialEq)]
pub struct ServeArgs {
    /// TOML configuration file (conf/respite.toml documents every key)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address clients connect to, IP:PORT [default: 127.0.0.1:6380]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// Upstream URL override (`upstream.url`, also `REDIS_URL`).
    #[arg(
        long,
        value_name = "URL",
        help = "Upstream Redis, redis://[user[:password]@]host[:port][/db] [default: redis://127.0.0.1:6379]"
    )]
    pub upstream: Option<String>,

    /// Metrics/health HTTP address, IP:PORT, or "off" to disable [default: 127.0.0.1:9121]
    #[arg(long, value_name = "ADDR")]
    pub admin: Option<String>,

    /// Print the effective configuration as TOML (passwords masked as ***) and exit
    #[arg(long)]
    pub print_config: bool,
}

fn flag_error(flag: &str, reason: String) -> ConfigError {
    ConfigError::Flag {
        flag: flag.to_string(),
        reason,
    }
}

impl ServeArgs {
    /// Apply flag overrides (highest precedence) onto a loaded config, then
    /// re-validate. Each flag's value is checked first so an error names
    /// the flag rather than the key it feeds.
    pub fn apply(&self, cfg: &mut Config) -> Result<(), ConfigError> {
        if let Some(listen) = &self.listen {
            parse_socket_addr(listen).map_err(|reason| flag_error("--listen", reason))?;
            cfg.server.listen = listen.clone();
        }
        if let Some(upstream) = &self.upstream {
            parse_redis_url(upstream).map_err(|reason| flag_error("--upstream", reason))?;
            cfg.upstream.url = upstream.clone();
        }
        if let Some(admin) = &self.admin {
            parse_admin_addr(admin).map_err(|reason| flag_error("--admin", reason))?;
            cfg.server.admin = admin.clone();
        }
        cfg.validate()
    }
}

/// Full resolution used by main: load file/env, apply flags. Validation
/// runs once, after all layers, so a flag can override a bad file value.
pub fn resolve_config(
    args: &ServeArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut cfg = Config::load_unvalidated(args.config.as_deref(), env)?;
    args.apply(&mut cfg)?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::collections::HashMap;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("respite").chain(args.iter().copied()))
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn serve_args(args: &[&str]) -> ServeArgs {
        match parse(args).map(Cli::into_command) {
            Ok(Command::Serve(a)) => a,
            Ok(other) => panic!("{args:?} is not serve: {other:?}"),
            Err(e) => panic!("{args:?} should parse: {e}"),
        }
    }

    #[test]
    fn tools_parse_with_defaults() {
        let Ok(Command::Import(a)) = parse(&["import", "x.csv"]).map(Cli::into_command) else {
            panic!("import should parse");
        };
        assert_eq!((a.file, a.batch), (PathBuf::from("x.csv"), 1000));
        let Ok(Command::Seed(a)) = parse(&["seed", "--count", "5"]).map(Cli::into_command) else {
            panic!("seed should parse");
        };
        assert_eq!(a.count, 5);
        assert!(parse(&["seed", "--count", "0"]).is_err());
        assert!(parse(&["reindex", "--batch", "0"]).is_err());
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_arguments_means_serve_with_defaults() {
        let cli = parse(&[]).expect("empty command line parses");
        assert!(cli.command.is_none());
        assert_eq!(cli.into_command(), Command::Serve(ServeArgs::default()));
        let cfg = resolve_config(&ServeArgs::default(), &no_env).expect("defaults resolve");
        assert_eq!(cfg, Config::default());
    }

    #[test]
    fn flags_at_top_level_and_after_serve() {
        let expected = ServeArgs {
            config: Some(PathBuf::from("/etc/respite.toml")),
            listen: Some("0.0.0.0:7000".into()),
            upstream: Some("redis://up:1".into()),
            admin: Some("off".into()),
            print_config: true,
        };
        let flags = [
            "--config",
            "/etc/respite.toml",
            "--listen",
            "0.0.0.0:7000",
            "--upstream",
            "redis://up:1",
            "--admin",
            "off",
            "--print-config",
        ];
        assert_eq!(serve_args(&flags), expected);
        let mut with_sub = vec!["serve"];
        with_sub.extend(flags);
        assert_eq!(serve_args(&with_sub), expected);
    }

    #[test]
    fn top_level_flags_conflict_with_subcommand() {
        assert!(parse(&["--listen", "127.0.0.1:1", "serve"]).is_err());
    }

    #[test]
    fn help_and_version_are_available() {
        let help = parse(&["--help"]).err().map(|e| e.kind());
        assert_eq!(help, Some(clap::error::ErrorKind::DisplayHelp));
        let version = parse(&["--version"]).err().map(|e| e.kind());
        assert_eq!(version, Some(clap::error::ErrorKind::DisplayVersion));
        let text = Cli::command().render_help().to_string();
        for flag in [
            "--config",
            "--listen",
            "--upstream",
            "--admin",
            "--print-config",
        ] {
            assert!(text.contains(flag), "help lacks {flag}:\n{text}");
        }
    }

    #[test]
    fn precedence_defaults_file_env_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("respite.toml");
        std::fs::write(
            &path,
            "[server]\nlisten = \"127.0.0.1:7000\"\nadmin = \"127.0.0.1:7100\"\n\
             [upstream]\nurl = \"redis://file:1\"\npool_size = 3\ndb = 1\n",
        )
        .expect("write config");
        let path_str = path.to_str().expect("utf-8 temp path");
        let env = env_of(&[("REDIS_URL", "redis://env:2"), ("REDIS_DB", "2")]);

        // File over defaults.
        let cfg =
            resolve_config(&serve_args(&["--config", path_str]), &no_env).expect("file resolves");
        assert_eq!(cfg.server.listen, "127.0.0.1:7000");
        assert_eq!(cfg.upstream.url, "redis://file:1");
        assert_eq!(cfg.server.maxclients, 10_000);

        // Env over file.
        let cfg = resolve_config(&serve_args(&["--config", path_str]), &env).expect("env resolves");
        assert_eq!(cfg.upstream.url, "redis://env:2");
        assert_eq!(cfg.upstream.db, 2);
        assert_eq!(cfg.upstream.pool_size, 3);

        // Flags over env and file.
        let args = serve_args(&[
            "--config",
            path_str,
            "--upstream",
            "redis://flag:3",
            "--listen",
            "127.0.0.1:7001",
            "--admin",
            "off",
        ]);
        let cfg = resolve_config(&args, &env).expect("flags resolve");
        assert_eq!(cfg.upstream.url, "redis://flag:3");
        assert_eq!(cfg.server.listen, "127.0.0.1:7001");
        assert_eq!(cfg.server.admin, "off");
        assert_eq!(
            cfg.upstream.db, 2,
            "env still beats the file for keys without flags"
        );
        assert_eq!(cfg.upstream.pool_size, 3);
        let target = cfg.upstream_target().expect("target");
        assert_eq!(
            (target.host.as_str(), target.port, target.db),
            ("flag", 3, 2)
        );
    }

    #[test]
    fn flag_can_fix_a_bad_file_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("respite.toml");
        std::fs::write(&path, "[server]\nlisten = \"nope\"\n").expect("write config");
        let mut args = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        let err = resolve_config(&args, &no_env).expect_err("bad file value");
        assert!(
            err.to_string().starts_with("config error: server.listen: "),
            "{err}"
        );
        args.listen = Some("127.0.0.1:0".into());
        assert!(resolve_config(&args, &no_env).is_ok());
    }

    #[test]
    fn bad_flags_name_the_flag() {
        for (args, flag) in [
            (&["--listen", "nope"][..], "--listen"),
            (&["--admin", "nope"][..], "--admin"),
            (&["--upstream", "rediss://h"][..], "--upstream"),
        ] {
            let err = resolve_config(&serve_args(args), &no_env).expect_err("bad flag");
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("config error: {flag}: ")), "{msg}");
        }
        let err = resolve_config(&serve_args(&["--upstream", "rediss://h"]), &no_env)
            .expect_err("rediss");
        assert!(err.to_string().contains("TLS not supported yet"), "{err}");
    }

    #[test]
    fn print_config_output_round_trips() {
        let args = serve_args(&[
            "--upstream",
            "redis://:hunter2@h:1/3",
            "--listen",
            "127.0.0.1:7002",
            "--print-config",
        ]);
        assert!(args.print_config);
        let env = env_of(&[("REDIS_TIMEOUT", "2.5"), ("REDIS_PASSWORD", "envsecret")]);
        let cfg = resolve_config(&args, &env).expect("resolves");
        let text = cfg.to_toml_string().expect("renders");
        assert!(
            !text.contains("hunter2") && !text.contains("envsecret"),
            "{text}"
        );
        let back = Config::from_toml_str(&text).expect("printed config parses");
        back.validate().expect("printed config validates");
        let mut expected = cfg.clone();
        expected.upstream.url = "redis://:***@h:1/3".into();
        expected.upstream.password = "***".into();
        assert_eq!(back, expected);
        assert_eq!(back.upstream.command_timeout_ms, 2500);
        assert_eq!(back.server.listen, "127.0.0.1:7002");
    }
}
