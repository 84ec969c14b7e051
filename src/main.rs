//! The `respite` binary: parse the command line and configuration, set up
//! logging and the runtime, and serve until SIGTERM or SIGINT (a second
//! signal exits at once). SIGHUP reloads the `--config` file.

use std::process::ExitCode;

use std::sync::Arc;

use clap::Parser;
use respite::cli::{resolve_config, Cli, Command, ServeArgs};
use respite::config::live::Origin;
use respite::config::Config;
use respite::logging::{self, LogControl};
use respite::RunOptions;
use tokio::net::TcpListener;
use tokio::sync::Notify;

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
    let log = logging::init(&config.log);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.worker_threads(worker_threads(config.server.worker_threads));
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(config, &args, log)) {
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
    logging::init(&config.log);
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

async fn serve(
    config: Config,
    args: &ServeArgs,
    log: Option<LogControl>,
) -> Result<(), respite::StartError> {
    // Listen for signals before accepting anyone: a SIGTERM that arrives
    // once clients can connect must shut down gracefully, not kill us.
    let signals = Signals::install()?;
    let options = RunOptions {
        origin: origin(args),
        reload: Some(signals.reload.clone()),
        log,
    };
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
    respite::run_with(config, listener, options, signals.shutdown()).await
}

/// Where the configuration came from, when a `--config` file was given:
/// a reload resolves every layer again (file, environment, flags).
fn origin(args: &ServeArgs) -> Option<Origin> {
    let file = args.config.clone()?;
    let args = args.clone();
    Some(Origin::new(file, move || {
        resolve_config(&args, &|k| std::env::var(k).ok())
    }))
}

/// SIGTERM and SIGINT, registered up front; SIGHUP becomes a reload
/// request.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    reload: Arc<Notify>,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let reload = Arc::new(Notify::new());
        let mut hup = signal(SignalKind::hangup())?;
        let notify = reload.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the configuration");
                notify.notify_one();
            }
        });
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            reload,
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
