//! A strict reader of the Prometheus text exposition format (0.0.4), our
//! own, so tests check what respite renders instead of trusting the
//! exporter: every sample line is `name{labels} value`, belongs to a
//! family whose `# TYPE` came first, HELP and TYPE appear once per family,
//! no series repeats, and each histogram's buckets rise to `+Inf`, which
//! equals its `_count`.

use std::collections::{BTreeMap, HashMap, HashSet};

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The sample's name (a histogram's ends in `_bucket`, `_sum`, `_count`).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// A metric family: its `# TYPE` and `# HELP`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Family {
    /// `counter`, `gauge`, `histogram`, `summary` or `untyped`.
    pub kind: String,
    /// The HELP text, if any.
    pub help: Option<String>,
}

/// A parsed scrape.
#[derive(Debug, Default)]
pub struct Scrape {
    /// Families by name.
    pub families: HashMap<String, Family>,
    /// Samples in the order they came.
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// The samples of family `family` (a histogram's `_bucket`, `_sum` and
    /// `_count` lines included) whose labels include `labels`.
    pub fn series<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The value of the one sample `name` with these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self.series(name, labels).collect();
        assert_eq!(found.len(), 1, "one {name} {labels:?}, found {found:?}");
        found[0].value
    }

    /// Whether some sample of family `family` carries label `label`.
    pub fn has_label(&self, family: &str, label: &str) -> bool {
        self.samples
            .iter()
            .filter(|s| family_of(&s.name, &self.families) == Some(family))
            .any(|s| s.labels.contains_key(label))
    }
}

/// The family a sample name belongs to, given the declared families: the
/// name itself, or a histogram/summary's name with its suffix stripped.
pub fn family_of<'a>(name: &'a str, families: &HashMap<String, Family>) -> Option<&'a str> {
    if families.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        let kind = families.get(base)?.kind.as_str();
        let fits = matches!(kind, "histogram") || (kind == "summary" && *suffix != "_bucket");
        fits.then_some(base)
    })
}

/// Parse `text` strictly; the error names the line.
pub fn parse(text: &str) -> Result<Scrape, String> {
    let mut scrape = Scrape::default();
    let mut seen = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            comment(rest, &mut scrape).map_err(at)?;
            continue;
        }
        let sample = sample(line).map_err(at)?;
        let family = family_of(&sample.name, &scrape.families)
            .ok_or_else(|| at("no # TYPE before this sample".into()))?;
        let kind = scrape.families[family].kind.as_str();
        if kind == "counter" && !(sample.value >= 0.0 && sample.value.is_finite()) {
            return Err(at("a counter must be finite and not negative".into()));
        }
        if !seen.insert(format!("{}{:?}", sample.name, sample.labels)) {
            return Err(at("series repeated".into()));
        }
        scrape.samples.push(sample);
    }
    check_histograms(&scrape)?;
    Ok(scrape)
}

fn comment(rest: &str, scrape: &mut Scrape) -> Result<(), String> {
    let mut words = rest.trim_start().splitn(3, ' ');
    let (what, name, tail) = (words.next(), words.next(), words.next());
    let Some(name) = name.filter(|_| matches!(what, Some("HELP" | "TYPE"))) else {
        return Ok(()); // any other comment
    };
    if !valid_name(name) {
        return Err(format!("bad metric name {name:?}"));
    }
    let family = scrape.families.entry(name.to_string()).or_default();
    if what == Some("HELP") {
        if family.help.is_some() {
            return Err("HELP repeated".into());
        }
        family.help = Some(tail.unwrap_or_default().to_string());
        return Ok(());
    }
    let kind = tail.unwrap_or_default();
    if !family.kind.is_empty() {
        return Err("TYPE repeated".into());
    }
    if !matches!(
        kind,
        "counter" | "gauge" | "histogram" | "summary" | "untyped"
    ) {
        return Err(format!("unknown type {kind:?}"));
    }
    family.kind = kind.to_string();
    Ok(())
}

fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':');
    first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| "no value".to_string())?;
    let name = &line[..name_end];
    if !valid_name(name) {
        return Err(format!("bad metric name {name:?}"));
    }
    let (labels, rest) = if line[name_end..].starts_with('{') {
        labels(&line[name_end + 1..])?
    } else {
        (BTreeMap::new(), &line[name_end..])
    };
    let value = rest
        .strip_prefix(' ')
        .ok_or_else(|| "one space before the value".to_string())?;
    if value.contains(' ') {
        return Err("`name{labels} value` and nothing more".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value: number(value)?,
    })
}

fn number(v: &str) -> Result<f64, String> {
    match v {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => v.parse().map_err(|_| format!("bad number {v:?}")),
    }
}

/// Labels after `{` up to the closing `}`; returns them and the rest.
fn labels(mut s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut out = BTreeMap::new();
    loop {
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((out, rest));
        }
        let eq = s.find("=\"").ok_or("label without =\"")?;
        let key = &s[..eq];
        if !valid_name(key) || key.contains(':') {
            return Err(format!("bad label name {key:?}"));
        }
        let (value, rest) = quoted(&s[eq + 2..])?;
        if out.insert(key.to_string(), value).is_some() {
            return Err(format!("label {key} repeated"));
        }
        s = rest.strip_prefix(',').unwrap_or(rest);
        if !rest.starts_with([',', '}']) {
            return Err("labels are separated by commas".into());
        }
    }
}

/// A label value up to its closing quote, with `\\`, `\"`, `\n` escapes.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, 'n')) => out.push('\n'),
                other => return Err(format!("bad escape {other:?}")),
            },
            c => out.push(c),
        }
    }
    Err("unterminated label value".into())
}

/// Every histogram series: buckets in rising `le` order with counts that
/// never fall, ending at `+Inf` equal to `_count`, with a `_sum`.
fn check_histograms(scrape: &Scrape) -> Result<(), String> {
    let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for s in &scrape.samples {
        let Some(base) = s.name.strip_suffix("_bucket") else {
            continue;
        };
        let mut rest = s.labels.clone();
        let le = rest.remove("le").ok_or(format!("{} without le", s.name))?;
        let key = format!("{base}{rest:?}");
        buckets
            .entry(key)
            .or_default()
            .push((number(&le)?, s.value));
    }
    for (series, b) in &buckets {
        let rising = b.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
        if !rising {
            return Err(format!("{series}: buckets must rise: {b:?}"));
        }
        if b.last().map(|l| l.0) != Some(f64::INFINITY) {
            return Err(format!("{series}: no +Inf bucket"));
        }
    }
    for family in scrape.families.iter().filter(|f| f.1.kind == "histogram") {
        check_histogram_totals(scrape, family.0, &buckets)?;
    }
    Ok(())
}

fn check_histogram_totals(
    scrape: &Scrape,
    name: &str,
    buckets: &BTreeMap<String, Vec<(f64, f64)>>,
) -> Result<(), String> {
    let count_name = format!("{name}_count");
    let sum_name = format!("{name}_sum");
    for count in scrape.samples.iter().filter(|s| s.name == count_name) {
        let key = format!("{name}{:?}", count.labels);
        let inf = buckets.get(&key).and_then(|b| b.last()).map(|l| l.1);
        if inf != Some(count.value) {
            return Err(format!(
                "{key}: +Inf bucket {inf:?} != _count {}",
                count.value
            ));
        }
        let has_sum = scrape
            .samples
            .iter()
            .any(|s| s.name == sum_name && s.labels == count.labels);
        if !has_sum {
            return Err(format!("{key}: no _sum"));
        }
    }
    if buckets.keys().any(|k| k.starts_with(&format!("{name}{{")))
        && !scrape.samples.iter().any(|s| s.name == count_name)
    {
        return Err(format!("{name}: buckets without _count"));
    }
    Ok(())
}
