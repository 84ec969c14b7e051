//! Counters per command (INFO's `# Commandstats`) and per command family
//! (STATS), kept in one array indexed by the command table's [`CmdId`].
//!
//! A command is counted once its reply is known: `calls` and the
//! microseconds from the moment respite read it to the moment its reply
//! was ready to write (respite's own service time, upstream round trip
//! included), `failed_calls` when the reply was an error, and
//! `rejected_calls` when respite refused it before carrying it out (arity,
//! authentication, syntax), as Redis 7 counts them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::table::{self, CmdId};

/// One command's counters.
#[derive(Debug, Default)]
struct Row {
    calls: AtomicU64,
    usec: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
}

/// A snapshot of one command's or one family's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Replies given (rejected calls are not counted here, as in Redis).
    pub calls: u64,
    /// Total service time in microseconds.
    pub usec: u64,
    /// Replies that were errors.
    pub failed: u64,
    /// Commands refused before they were carried out.
    pub rejected: u64,
}

impl Counts {
    /// Mean microseconds per call (0 without calls).
    pub fn usec_per_call(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.usec as f64 / self.calls as f64
        }
    }

    fn add(&mut self, o: &Counts) {
        self.calls += o.calls;
        self.usec += o.usec;
        self.failed += o.failed;
        self.rejected += o.rejected;
    }
}

/// Counters for every top-level command of the table.
#[derive(Debug)]
pub struct CommandStats {
    rows: Box<[Row]>,
}

impl Default for CommandStats {
    fn default() -> Self {
        CommandStats {
            rows: table::all().iter().map(|_| Row::default()).collect(),
        }
    }
}

impl CommandStats {
    /// `calls` commands were answered in `usec` microseconds in all,
    /// `failed` of them with an error.
    pub fn record(&self, id: CmdId, calls: u64, usec: u64, failed: u64) {
        if let Some(r) = self.rows.get(usize::from(id)) {
            r.calls.fetch_add(calls, Ordering::Relaxed);
            r.usec.fetch_add(usec, Ordering::Relaxed);
            if failed > 0 {
                r.failed.fetch_add(failed, Ordering::Relaxed);
            }
        }
    }

    /// A command was refused before it was carried out.
    pub fn reject(&self, id: CmdId) {
        if let Some(r) = self.rows.get(usize::from(id)) {
            r.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Zero every counter (STATS RESET, CONFIG RESETSTAT semantics).
    pub fn reset(&self) {
        for r in self.rows.iter() {
            for c in [&r.calls, &r.usec, &r.failed, &r.rejected] {
                c.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Commands with any activity, by name, in table (alphabetical) order.
    pub fn commands(&self) -> Vec<(&'static str, Counts)> {
        table::all()
            .iter()
            .zip(self.rows.iter())
            .map(|(spec, r)| (spec.name, snapshot(r)))
            .filter(|(_, c)| c.calls + c.rejected > 0)
            .collect()
    }

    /// The same counters summed per command family (the table's group).
    pub fn families(&self) -> BTreeMap<&'static str, Counts> {
        let mut out: BTreeMap<&'static str, Counts> = BTreeMap::new();
        for (spec, r) in table::all().iter().zip(self.rows.iter()) {
            let c = snapshot(r);
            if c.calls + c.rejected > 0 {
                out.entry(spec.group.as_str()).or_default().add(&c);
            }
        }
        out
    }

    /// Calls of commands that write (the table's `write` flag).
    pub fn writes(&self) -> u64 {
        table::all()
            .iter()
            .zip(self.rows.iter())
            .filter(|(spec, _)| spec.flags.contains(table::Flags::WRITE))
            .map(|(_, r)| r.calls.load(Ordering::Relaxed))
            .sum()
    }

    /// Totals over every command.
    pub fn total(&self) -> Counts {
        let mut t = Counts::default();
        for r in self.rows.iter() {
            t.add(&snapshot(r));
        }
        t
    }
}

fn snapshot(r: &Row) -> Counts {
    Counts {
        calls: r.calls.load(Ordering::Relaxed),
        usec: r.usec.load(Ordering::Relaxed),
        failed: r.failed.load(Ordering::Relaxed),
        rejected: r.rejected.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> CmdId {
        let argv = [bytes::Bytes::copy_from_slice(name.as_bytes())];
        table::lookup_id(&argv)
            .map(|(id, _)| id)
            .unwrap_or(u16::MAX)
    }

    #[test]
    fn records_per_command_and_family() {
        let s = CommandStats::default();
        s.record(id("get"), 1, 10, 0);
        s.record(id("get"), 1, 30, 1);
        s.record(id("set"), 1, 5, 0);
        s.reject(id("hget"));
        let cmds = s.commands();
        let get = cmds.iter().find(|(n, _)| *n == "get").map(|(_, c)| *c);
        assert_eq!(
            get,
            Some(Counts {
                calls: 2,
                usec: 40,
                failed: 1,
                rejected: 0
            })
        );
        assert_eq!(get.map(|c| c.usec_per_call()), Some(20.0));
        let fam = s.families();
        assert_eq!(fam.get("string").map(|c| c.calls), Some(3));
        assert_eq!(fam.get("hash").map(|c| c.rejected), Some(1));
        assert_eq!(s.total().calls, 3);
        assert_eq!(s.writes(), 1);
        s.reset();
        assert!(s.commands().is_empty());
    }

    #[test]
    fn unknown_ids_are_ignored() {
        let s = CommandStats::default();
        s.record(u16::MAX, 1, 1, 0);
        s.reject(u16::MAX);
        assert_eq!(s.total(), Counts::default());
    }
}
