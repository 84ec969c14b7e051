//! The `respite` binary: parse the command line and configuration, set up
//! logging and the runtime, and serve until SIGTERM or SIGINT (a second
//! signal exits at once).

use std::process::ExitCode;

use clap::Parser;
use respite::cli::{resolve_config, Cli, Command};
use respite::config::{Config, LogFormat};
use tokio::net::TcpListener;

fn main() -> ExitCode {
    let args = match Cli::parse().into_command() {
        Command::Serve(args) => args,
        tool => return run_tool(tool),
    };
    let config = match resolve_config(&args, &|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if args.print_config {
        return match config.to_toml_string() {
            Ok(s) => {
                print!("{s}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        };
    }
    init_logging(&config);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.worker_threads(worker_threads(config.server.worker_threads));
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("respite: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `import`, `seed`, `reindex`: load the config, run on a runtime, print
/// the summary.
fn run_tool(cmd: Command) -> ExitCode {
    let tool = match &cmd {
        Command::Import(a) => &a.tool,
        Command::Seed(a) => &a.tool,
        Command::Reindex(a) => &a.tool,
        Command::Serve(_) => return ExitCode::from(2),
    };
    let config = match tool.resolve(&|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(respite::tools::run(cmd, config)) {
        Ok(report) => {
            print!("{report}");
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("respite: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), respite::StartError> {
    // Listen for signals before accepting anyone: a SIGTERM that arrives
    // once clients can connect must shut down gracefully, not kill us.
    let signals = Signals::install()?;
    let addr = config.server.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| respite::StartError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    tracing::info!(
        listen = %listener.local_addr()?,
        upstream = %config.upstream_target()?.host,
        "respite listening"
    );
    respite::run(config, listener, signals.shutdown()).await
}

/// SIGTERM and SIGINT, registered up front.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }

    /// Completes on the first signal; a second one exits at once.
    async fn shutdown(mut self) {
        self.next().await;
        tracing::info!("signal received, shutting down (send again to exit now)");
        tokio::spawn(async move {
            self.next().await;
            tracing::warn!("second signal, exiting now");
            std::process::exit(130);
        });
    }
}

/// Runtime threads: as configured, or by default one fewer than the cores
/// (at least one). respite usually shares the machine with Redis, which
/// wants a core of its own; on 2 cores a second worker only adds
/// cross-thread wake-ups (BENCHMARKS.md shows the difference).
fn worker_threads(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.saturating_sub(1).max(1)
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
