//! respite: a caching proxy that speaks the Redis protocol.
//!
//! Applications connect to respite as they would to Redis. Commands are
//! forwarded to an upstream Redis over shared, pipelined connections, or
//! over a dedicated connection while a client holds connection state; a
//! few connection commands are answered locally. [`run`] is the whole
//! server, and what the tests call.
//!
//! Layers, outermost first: [`server`] (sockets, limits, shutdown) →
//! [`command`] (what a command means and where it goes) → [`upstream`]
//! (connections to Redis) → [`protocol`] (bytes, no sockets).

pub mod cache;
pub mod cli;
pub mod command;
pub mod config;
pub mod error;
pub mod logging;
pub mod materials;
pub mod metrics;
pub mod protocol;
pub mod server;
pub mod store;
pub mod tools;
pub mod upstream;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use command::slowlog::SlowLog;
use command::{CacheLayer, ClientRegistry, Ctx, Stats};
use config::live::LiveConfig;
pub use config::Config;
pub use error::StartError;
use upstream::Upstream;

/// What the program running respite passes besides the configuration.
/// The default (no file, no reloads, no log handle) is what tests use.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// Where the configuration came from: `RESPITE CONFIG REWRITE` writes
    /// its file and a reload reads it again. `None`: neither is possible.
    pub origin: Option<config::live::Origin>,
    /// Each notification reloads the configuration from `origin` (the
    /// binary notifies on SIGHUP).
    pub reload: Option<Arc<Notify>>,
    /// The log filter, so `log.level` can change while respite runs.
    pub log: Option<logging::LogControl>,
}

/// Serve clients on `listener` until `shutdown` completes, then stop
/// accepting and let in-flight replies reach their clients within the
/// configured grace period. The admin port is bound from the config.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    run_with(config, listener, RunOptions::default(), shutdown).await
}

/// [`run`] with [`RunOptions`] (the binary's way in).
pub async fn run_with(
    config: Config,
    listener: TcpListener,
    options: RunOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    config.validate()?;
    let admin = match config.server.admin_addr()? {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind {
                    addr: addr.to_string(),
                    source,
                })?,
        ),
        None => None,
    };
    run_full(config, listener, admin, options, shutdown).await
}

pub async fn run_with_admin(
    config: Config,
    listener: TcpListener,
    admin: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    run_full(config, listener, admin, RunOptions::default(), shutdown).await
}

/// [`run_with_admin`] with [`RunOptions`].
pub async fn run_full(
    config: Config,
    listener: TcpListener,
    admin: Option<TcpListener>,
    options: RunOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    config.validate()?;
    metrics::init();
    let upstream = Upstream::new(&config)?;
    let cache = Arc::new(CacheLayer::new(&config, upstream.state().tracking.clone()));
    if cache.enabled {
        upstream.start_tracking(cache.clone());
    }
    let ctx = Arc::new(Ctx {
        upstream,
        cache,
        clients: ClientRegistry::default(),
        stats: Stats::default(),
        commands: command::CommandStats::default(),
        health: command::health::HealthCache::default(),
        stats_baseline: command::stats::Baseline::default(),
        started: Instant::now(),
        listen: listener.local_addr()?,
        materials: Arc::new(materials::Materials::new(&config.materials)),
        live: LiveConfig::new(config.clone(), options.origin),
        slowlog: SlowLog::new(&config.slowlog),
        log: options.log,
        config,
    });
    ctx.upstream.warm_up();
    ctx.materials
        .open_in_background(ctx.config.materials.clone());
    let probe = ctx.config.l1.lag_probe_interval_ms;
    if ctx.cache.enabled && probe > 0 {
        let mux = ctx.upstream.mux(protocol::Proto::Resp2, 0).clone();
        ctx.cache
            .spawn_lag_probe(mux, std::time::Duration::from_millis(probe));
    }
    let token = CancellationToken::new();
    let c = ctx.clone();
    let mut tasks = vec![
        tokio::spawn(metrics::upkeep(token.clone())),
        tokio::spawn(every(
            command::info::SAMPLE_EVERY,
            token.clone(),
            move || c.stats.sample(),
        )),
    ];
    tasks.extend(admin.map(|a| tokio::spawn(server::admin::serve(ctx.clone(), a, token.clone()))));
    if let Some(reload) = options.reload {
        tasks.push(tokio::spawn(reload_on(ctx.clone(), reload, token.clone())));
    }
    let server = tokio::spawn(server::serve(ctx.clone(), listener, token.clone()));
    shutdown.await;
    token.cancel();
    // Every task holding the server ends before run returns, so its stores
    // are closed by the time the caller goes on.
    for task in std::iter::once(server).chain(tasks) {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "server task failed");
        }
    }
    Ok(())
}

/// Call `f` every `period` until `stop` is cancelled (a tick that comes
/// late is skipped, not made up).
pub(crate) async fn every(
    period: std::time::Duration,
    stop: CancellationToken,
    mut f: impl FnMut(),
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => f(),
        }
    }
}

/// Reload the configuration on each notification, until shutdown.
async fn reload_on(ctx: Arc<Ctx>, reload: Arc<Notify>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            // The outcome is logged by `reload` itself.
            _ = reload.notified() => drop(ctx.reload()),
        }
    }
}
