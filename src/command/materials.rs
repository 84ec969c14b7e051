//! The catalogue commands: `MSEARCH`, `MGET.MATERIAL`, `MSET.MATERIAL`,
//! `MDEL.MATERIAL`, `MINVALIDATE`, `MWARM`.
//!
//! Arguments are checked here, before anything runs, so a bad request gets
//! a clear `-ERR` and nothing happens. A request L1 can answer is answered
//! at once; anything else becomes a [`Task`] that the connection runs off
//! its loop, one after another per client, replying in order.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::{Ctx, Outcome, Session};
use crate::error::ReplyError;
use crate::materials::keys::SearchRequest;
use crate::materials::model::{valid_id, Material};
use crate::materials::{embed, Catalogue, Tiers};
use crate::protocol::encode::{self, ReplyWriter};
use crate::protocol::Proto;
use crate::store::SearchMode;

/// A reply computed off the connection's loop (the future encodes its
/// own errors).
pub type TaskFuture = Pin<Box<dyn Future<Output = Bytes> + Send>>;

/// Work the connection runs for a catalogue command, given the shared
/// context.
pub struct Task(pub Box<dyn FnOnce(Arc<Ctx>) -> TaskFuture + Send>);

impl Task {
    /// Work that needs only the shared context and yields the encoded reply.
    pub fn new<F, Fut>(f: F) -> Task
    where
        F: FnOnce(Arc<Ctx>) -> Fut + Send + 'static,
        Fut: Future<Output = Bytes> + Send + 'static,
    {
        Task(Box::new(move |ctx: Arc<Ctx>| -> TaskFuture {
            Box::pin(f(ctx))
        }))
    }
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Task")
    }
}

impl PartialEq for Task {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}

impl Eq for Task {}

/// Whether `name` (upper case) is a catalogue command.
pub fn is_catalogue(name: &[u8]) -> bool {
    matches!(
        name,
        b"MSEARCH"
            | b"MGET.MATERIAL"
            | b"MSET.MATERIAL"
            | b"MDEL.MATERIAL"
            | b"MINVALIDATE"
            | b"MWARM"
    )
}

/// Carry out a catalogue command.
pub fn run(
    ctx: &Ctx,
    s: &mut Session,
    name: &[u8],
    argv: &[Bytes],
    w: &mut ReplyWriter,
) -> Result<Outcome, ReplyError> {
    // Borrowed: an L1 hit does not touch the catalogue's reference count.
    let cat = ctx.materials.get()?;
    let args = argv.get(1..).unwrap_or_default();
    let proto = s.proto;
    let here = tiers(ctx);
    let idle = s.materials_pending == 0;
    match name {
        b"MSEARCH" => {
            let req = parse_search(cat, args)?;
            cat.recorder.search(args);
            if idle {
                if let Some(hit) = cat.search_from_l1(here, proto, &req) {
                    return Ok(replied(w, &hit));
                }
            }
            Ok(task(cat, move |cat, ctx| async move {
                cat.search(tiers(&ctx), proto, &req).await
            }))
        }
        b"MGET.MATERIAL" => {
            let ids = parse_ids(cat, args)?;
            cat.recorder.ids(&ids);
            if idle && cat.get_from_l1(here, &ids, w) {
                return Ok(Outcome::Replied);
            }
            let ids = owned(&ids);
            Ok(task(cat, move |cat, ctx| async move {
                cat.get(tiers(&ctx), proto, &ids).await
            }))
        }
        b"MSET.MATERIAL" => {
            let batch = parse_records(cat, args)?;
            Ok(task(cat, move |cat, ctx| async move {
                let n = cat.store(&batch).await?;
                let ids: Vec<String> = batch.into_iter().map(|m| m.id).collect();
                cat.invalidate(tiers(&ctx), &ids).await;
                Ok(int_reply(n as i64))
            }))
        }
        b"MDEL.MATERIAL" => {
            let ids = owned(&parse_ids(cat, args)?);
            Ok(task(cat, move |cat, ctx| async move {
                let n = cat.delete(&ids).await?;
                cat.invalidate(tiers(&ctx), &ids).await;
                Ok(int_reply(n as i64))
            }))
        }
        b"MINVALIDATE" => {
            let pattern = match args {
                [p] if !p.is_empty() => p.clone(),
                _ => {
                    return Err(ReplyError::invalid(
                        "syntax error, expected MINVALIDATE pattern",
                    ))
                }
            };
            Ok(task(cat, move |cat, ctx| async move {
                let n = cat.invalidate_pattern(tiers(&ctx), &pattern).await?;
                Ok(int_reply(n as i64))
            }))
        }
        _ => {
            let plan = parse_warm(cat, args)?;
            Ok(task(cat, move |cat, ctx| async move {
                Ok(int_reply(warm(&cat, tiers(&ctx), proto, plan).await))
            }))
        }
    }
}

fn replied(w: &mut ReplyWriter, reply: &[u8]) -> Outcome {
    w.raw(reply);
    Outcome::Replied
}

fn int_reply(n: i64) -> Bytes {
    let mut out = BytesMut::new();
    encode::int_line(&mut out, b':', n);
    out.freeze()
}

/// The cache tiers of the shared context.
fn tiers(ctx: &Ctx) -> Tiers<'_> {
    Tiers {
        cache: &ctx.cache,
        upstream: &ctx.upstream,
    }
}

/// Wrap the async part of a command as a [`Task`]; errors become error
/// replies.
fn task<F, Fut>(cat: &Arc<Catalogue>, f: F) -> Outcome
where
    F: FnOnce(Arc<Catalogue>, Arc<Ctx>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Bytes, crate::materials::MaterialsError>> + Send + 'static,
{
    let cat = cat.clone();
    Outcome::Task(Task::new(move |ctx: Arc<Ctx>| async move {
        match f(cat, ctx).await {
            Ok(b) => b,
            Err(e) => {
                let mut out = BytesMut::new();
                encode::error(&mut out, &ReplyError::from(e).line());
                out.freeze()
            }
        }
    }))
}

/// An argument as text, or a clear error naming what it is.
fn text<'a>(arg: &'a Bytes, what: &str) -> Result<&'a str, ReplyError> {
    std::str::from_utf8(arg).map_err(|_| ReplyError::invalid(format!("{what} must be UTF-8 text")))
}

fn number<T: std::str::FromStr>(arg: Option<&Bytes>, what: &str) -> Result<T, ReplyError> {
    arg.and_then(|a| std::str::from_utf8(a).ok())
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| ReplyError::invalid(format!("{what} is not a number or out of range")))
}

/// `MSEARCH query [LIMIT k] [OFFSET n] [CATEGORY c] [SUPPLIER s]
/// [PRICE min max] [FILTER field value]... [VECTOR blob]
/// [MODE dense|sparse|hybrid] [WITHSCORES] [NOCACHE]`.
fn parse_search(cat: &Catalogue, args: &[Bytes]) -> Result<SearchRequest, ReplyError> {
    let cfg = cat.config();
    let Some((query, mut rest)) = args.split_first() else {
        return Err(ReplyError::WrongArity("msearch".into()));
    };
    let mut req = SearchRequest {
        query: text(query, "the query")?.to_string(),
        limit: cfg.default_limit,
        ..Default::default()
    };
    while let Some((opt, tail)) = rest.split_first() {
        let mut take = |n: usize| -> Result<&[Bytes], ReplyError> {
            let vals = tail.get(..n).ok_or_else(|| {
                ReplyError::invalid(format!(
                    "syntax error, {} needs {n} argument(s)",
                    String::from_utf8_lossy(opt).to_uppercase()
                ))
            })?;
            rest = &tail[n..];
            Ok(vals)
        };
        match opt.to_ascii_uppercase().as_slice() {
            b"LIMIT" => req.limit = number(take(1)?.first(), "LIMIT")?,
            b"OFFSET" => req.offset = number(take(1)?.first(), "OFFSET")?,
            b"CATEGORY" => req.filter.category = Some(text(&take(1)?[0], "CATEGORY")?.into()),
            b"SUPPLIER" => req.filter.supplier = Some(text(&take(1)?[0], "SUPPLIER")?.into()),
            b"PRICE" => req.filter.price = Some(price_range(take(2)?)?),
            b"FILTER" => req.filter.fields.push(field_filter(take(2)?)?),
            b"VECTOR" => {
                let dim = cfg.embedder.dim;
                let v = embed::vector_from_blob(&take(1)?[0], dim)
                    .map_err(|e| ReplyError::invalid(format!("VECTOR {e}")))?;
                req.vector = Some(v);
            }
            b"MODE" => req.mode = mode(&take(1)?[0])?,
            b"WITHSCORES" => {
                req.with_scores = true;
                rest = tail;
            }
            b"NOCACHE" => {
                req.no_cache = true;
                rest = tail;
            }
            _ => {
                return Err(ReplyError::invalid(format!(
                    "syntax error, unknown MSEARCH option '{}'",
                    String::from_utf8_lossy(opt)
                )))
            }
        }
    }
    check_search(cfg, &req)?;
    Ok(req)
}

fn check_search(
    cfg: &crate::config::materials::MaterialsConfig,
    req: &SearchRequest,
) -> Result<(), ReplyError> {
    if !(1..=cfg.max_limit).contains(&req.limit) {
        return Err(ReplyError::invalid(format!(
            "LIMIT must be between 1 and {}, got {}",
            cfg.max_limit, req.limit
        )));
    }
    if req.offset > cfg.max_offset {
        return Err(ReplyError::invalid(format!(
            "OFFSET must be at most {}, got {}",
            cfg.max_offset, req.offset
        )));
    }
    if req.query.trim().is_empty() && req.vector.is_none() {
        return Err(ReplyError::invalid(
            "the query must not be empty (or give VECTOR)",
        ));
    }
    if req.vector.is_some() && req.mode == SearchMode::Sparse {
        return Err(ReplyError::invalid("VECTOR needs MODE dense or hybrid"));
    }
    Ok(())
}

fn price_range(vals: &[Bytes]) -> Result<(f64, f64), ReplyError> {
    let lo: f64 = number(vals.first(), "PRICE min")?;
    let hi: f64 = number(vals.get(1), "PRICE max")?;
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(ReplyError::invalid("PRICE needs finite min <= max"));
    }
    Ok((lo, hi))
}

fn field_filter(vals: &[Bytes]) -> Result<(String, String), ReplyError> {
    let field = text(&vals[0], "the FILTER field")?;
    let ok = !field.is_empty()
        && field.len() <= 64
        && field
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    if !ok {
        return Err(ReplyError::invalid(format!(
            "FILTER field '{field}' must be 1-64 characters of A-Z a-z 0-9 _ ."
        )));
    }
    Ok((
        field.to_string(),
        text(&vals[1], "the FILTER value")?.to_string(),
    ))
}

fn mode(arg: &Bytes) -> Result<SearchMode, ReplyError> {
    match arg.to_ascii_lowercase().as_slice() {
        b"dense" => Ok(SearchMode::Dense),
        b"sparse" => Ok(SearchMode::Sparse),
        b"hybrid" => Ok(SearchMode::Hybrid),
        _ => Err(ReplyError::invalid("MODE must be dense, sparse or hybrid")),
    }
}

/// Material ids: valid, and no more than `max_batch`. Borrowed from the
/// request: an L1 hit needs no copy of them.
fn parse_ids<'a>(cat: &Catalogue, args: &'a [Bytes]) -> Result<Vec<&'a str>, ReplyError> {
    batch_size(cat, args.len())?;
    args.iter()
        .map(|a| match std::str::from_utf8(a) {
            Ok(id) if valid_id(id) => Ok(id),
            _ => Err(ReplyError::invalid(format!(
                "invalid material id '{}'",
                String::from_utf8_lossy(a)
            ))),
        })
        .collect()
}

/// Ids a task can keep.
fn owned(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

fn batch_size(cat: &Catalogue, n: usize) -> Result<(), ReplyError> {
    let max = cat.config().max_batch;
    if n == 0 || n > max {
        return Err(ReplyError::invalid(format!(
            "between 1 and {max} items per command, got {n}"
        )));
    }
    Ok(())
}

/// `MSET.MATERIAL` records: every one valid, or the command is refused.
/// A repeated id keeps its last record.
fn parse_records(cat: &Catalogue, args: &[Bytes]) -> Result<Vec<Material>, ReplyError> {
    batch_size(cat, args.len())?;
    let now = chrono::Utc::now();
    let mut out: Vec<Material> = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        let m = Material::from_json_text(a, now)
            .map_err(|e| ReplyError::invalid(format!("record {}: {e}", i + 1)))?;
        out.retain(|o| o.id != m.id);
        out.push(m);
    }
    Ok(out)
}

/// What `MWARM` loads.
#[derive(Debug)]
enum Warm {
    /// The most requested `n` searches and ids.
    Top(usize),
    /// These ids.
    Ids(Vec<String>),
    /// These queries (default options).
    Queries(Vec<String>),
}

/// `MWARM [TOP n] | MWARM IDS id [id ...] | MWARM QUERIES q [q ...]`.
fn parse_warm(cat: &Catalogue, args: &[Bytes]) -> Result<Warm, ReplyError> {
    let syntax = || {
        ReplyError::invalid(
            "syntax error, expected MWARM [TOP n] | IDS id [id ...] | QUERIES q [q ...]",
        )
    };
    let Some((kind, rest)) = args.split_first() else {
        return Ok(Warm::Top(cat.config().warm_top));
    };
    match kind.to_ascii_uppercase().as_slice() {
        b"TOP" if rest.len() == 1 => Ok(Warm::Top(number(rest.first(), "TOP")?)),
        b"IDS" if !rest.is_empty() => Ok(Warm::Ids(owned(&parse_ids(cat, rest)?))),
        b"QUERIES" if !rest.is_empty() => {
            batch_size(cat, rest.len())?;
            let qs = rest.iter().map(|q| text(q, "a query").map(str::to_string));
            Ok(Warm::Queries(qs.collect::<Result<_, _>>()?))
        }
        _ => Err(syntax()),
    }
}

/// Load into L2 (and L1 on the next reads) what `plan` names; how many
/// searches and materials were loaded.
async fn warm(cat: &Catalogue, t: Tiers<'_>, proto: Proto, plan: Warm) -> i64 {
    let (searches, ids) = match plan {
        Warm::Top(n) => (cat.recorder.top_searches(n), cat.recorder.top_ids(n * 10)),
        Warm::Ids(ids) => (Vec::new(), ids),
        Warm::Queries(qs) => (
            qs.into_iter().map(|q| vec![Bytes::from(q)]).collect(),
            Vec::new(),
        ),
    };
    let mut loaded = 0;
    for args in searches {
        if let Ok(req) = parse_search(cat, &args) {
            if cat.search(t, proto, &req).await.is_ok() {
                loaded += 1;
            }
        }
    }
    for chunk in ids.chunks(cat.config().max_batch.max(1)) {
        if cat.get(t, proto, chunk).await.is_ok() {
            loaded += chunk.len() as i64;
        }
    }
    loaded
}
