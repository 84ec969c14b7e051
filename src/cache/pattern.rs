//! Redis-style glob patterns, for L1's allow and deny lists.
//!
//! [`glob_match`] follows Redis's `stringmatchlen` (util.c) byte for byte:
//! `*`, `?`, `[abc]`, `[^a]`, `[a-z]` (reversed ranges allowed), `\x`,
//! the same treatment of an unterminated `[`, and the same nesting cap
//! against abusive patterns. Two consequences worth knowing: a pattern never
//! matches the empty key (not even `*`), and bytes ≥ 0x80 in ranges compare
//! as unsigned (Redis compares C `char`, whose sign depends on the platform).
//!
//! [`Patterns`] compiles a list once, so the per-read check is a slice
//! comparison for the common shapes (`exact`, `prefix:*`).

/// Redis gives up (no match) beyond this many nested `*`.
const MAX_NESTING: u32 = 1000;

/// Whether `string` matches the Redis glob `pattern`.
pub fn glob_match(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_at(pattern, string, &mut skip_longer, 0)
}

/// The pattern byte at `i`, or 0 past the end (C reads the terminator).
fn at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

fn match_at(p: &[u8], s: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    let (mut pi, mut si) = (0, 0);
    while pi < p.len() && si < s.len() {
        let c = at(s, si);
        match at(p, pi) {
            b'*' => return match_star(&p[pi..], &s[si..], skip_longer, nesting),
            b'?' => {}
            b'[' => match match_class(p, pi + 1, c) {
                Some(end) => pi = end,
                None => return false,
            },
            b'\\' if p.len() - pi >= 2 => {
                pi += 1;
                if at(p, pi) != c {
                    return false;
                }
            }
            literal if literal != c => return false,
            _ => {}
        }
        pi += 1;
        si += 1;
        if si == s.len() {
            while at(p, pi) == b'*' {
                pi += 1;
            }
        }
    }
    pi >= p.len() && si == s.len()
}

/// `p` starts at a `*`; `s` is not empty.
fn match_star(p: &[u8], s: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    let mut pi = 0;
    while pi + 1 < p.len() && at(p, pi + 1) == b'*' {
        pi += 1;
    }
    if pi + 1 == p.len() {
        return true;
    }
    let rest = &p[pi + 1..];
    for start in 0..s.len() {
        if match_at(rest, &s[start..], skip_longer, nesting + 1) {
            return true;
        }
        if *skip_longer {
            return false;
        }
    }
    // Nothing after this `*` matches anywhere in the rest of the string, so
    // no earlier `*` can help by matching more: stop the whole search.
    *skip_longer = true;
    false
}

/// Match `c` against the class whose body starts at `pi` (just after `[`).
/// On a match, the index of the class's last byte (its `]`, or the
/// pattern's last byte when unterminated).
fn match_class(p: &[u8], mut pi: usize, c: u8) -> Option<usize> {
    let negate = at(p, pi) == b'^';
    if negate {
        pi += 1;
    }
    let mut matched = false;
    loop {
        let left = p.len().saturating_sub(pi);
        let b = at(p, pi);
        if b == b'\\' && left >= 2 {
            pi += 1;
            matched |= at(p, pi) == c;
        } else if b == b']' {
            break;
        } else if left == 0 {
            pi -= 1;
            break;
        } else if left >= 3 && at(p, pi + 1) == b'-' {
            let (x, y) = (b, at(p, pi + 2));
            matched |= (x.min(y)..=x.max(y)).contains(&c);
            pi += 2;
        } else {
            matched |= b == c;
        }
        pi += 1;
    }
    (matched != negate).then_some(pi)
}

/// One compiled pattern: the common shapes skip the general matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Glob {
    /// No special bytes: the key must equal it.
    Exact(Box<[u8]>),
    /// Literal bytes then only `*`s: the key must start with them (and,
    /// as in Redis, not be empty).
    Prefix(Box<[u8]>),
    /// Anything else.
    General(Box<[u8]>),
}

impl Glob {
    fn compile(p: &[u8]) -> Glob {
        let special = |b: &u8| matches!(b, b'*' | b'?' | b'[' | b'\\');
        match p.iter().position(special) {
            None => Glob::Exact(p.into()),
            Some(i) if p[i..].iter().all(|&b| b == b'*') => Glob::Prefix(p[..i].into()),
            Some(_) => Glob::General(p.into()),
        }
    }

    fn matches(&self, key: &[u8]) -> bool {
        match self {
            Glob::Exact(p) => key == &p[..],
            Glob::Prefix(p) => !key.is_empty() && key.starts_with(p),
            Glob::General(p) => glob_match(p, key),
        }
    }
}

/// A compiled list of patterns, matched as "any of them".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Patterns {
    globs: Vec<Glob>,
}

impl Patterns {
    /// Compile `patterns` (each a Redis glob).
    pub(crate) fn new(patterns: &[String]) -> Self {
        let globs = patterns
            .iter()
            .map(|p| Glob::compile(p.as_bytes()))
            .collect();
        Patterns { globs }
    }

    /// Whether the list has no patterns.
    pub(crate) fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    /// Whether any pattern matches `key`.
    pub(crate) fn any(&self, key: &[u8]) -> bool {
        self.globs.iter().any(|g| g.matches(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes())
    }

    #[test]
    fn stars_and_prefixes() {
        assert!(m("user:*", "user:1"));
        assert!(m("user:*", "user:"));
        assert!(!m("user:*", "user"));
        assert!(!m("user:*", "session:1"));
        assert!(m("*", "anything"));
        assert!(m("**", "a"));
        assert!(m("*:1", "user:1"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
        assert!(m("*a*", "bab"));
        assert!(!m("*", ""), "Redis never matches the empty string");
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn question_mark() {
        assert!(m("a?c", "abc"));
        assert!(m("a?c", "a?c"));
        assert!(!m("a?c", "ac"));
        assert!(!m("a?c", "abbc"));
    }

    #[test]
    fn classes() {
        assert!(m("[a-c]x", "bx"));
        assert!(m("[c-a]x", "bx"), "reversed ranges are swapped");
        assert!(!m("[a-c]x", "dx"));
        assert!(m("[abc]", "c"));
        assert!(!m("[abc]", "d"));
        assert!(m("[^a]", "b"));
        assert!(!m("[^a]", "a"));
        assert!(m("[^a-c]z", "dz"));
        assert!(!m("[^a-c]z", "bz"));
        assert!(m("[\\]]", "]"));
        // Checked against redis-server's KEYS:
        assert!(!m("x[]", "x["), "`[]` is an empty class");
        assert!(!m("[]]", "]"));
        assert!(!m("[", "a"));
        assert!(!m("a[", "a"));
        assert!(m("[a", "a"), "an unterminated class still matches");
        assert!(m("[^", "a"), "an empty negated class matches any byte");
        assert!(m("[^]", "b"));
        assert!(
            m("[a-]", "]") && m("[a-]", "`") && m("[a-]", "a"),
            "`a-]` is the range ]..a"
        );
        assert!(!m("[a-]", "b"));
    }

    #[test]
    fn escapes() {
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("\\?", "?"));
        assert!(!m("\\?", "x"));
        assert!(m("a\\", "a\\"), "a trailing backslash is literal");
        assert!(m("\\[x]", "[x]"));
    }

    #[test]
    fn abusive_patterns_terminate() {
        let p = "a*".repeat(40) + "b";
        let s = "a".repeat(60);
        assert!(!m(&p, &s));
        let deep = "*".repeat(3000) + "?";
        assert!(m(&deep, "x"));
    }

    #[test]
    fn compiled_shapes_agree_with_matcher() {
        let pats = ["user:*", "exact", "*", "a?c", "[a-c]x", "x**", "", "p\\*"];
        let keys = [
            "user:1", "user:", "exact", "exactly", "abc", "bx", "x", "xyz", "", "p*",
        ];
        for p in pats {
            let glob = Glob::compile(p.as_bytes());
            for k in keys {
                assert_eq!(
                    glob.matches(k.as_bytes()),
                    m(p, k),
                    "pattern {p:?} key {k:?}"
                );
            }
        }
        assert_eq!(Glob::compile(b"user:*"), Glob::Prefix(b"user:"[..].into()));
        assert_eq!(Glob::compile(b"exact"), Glob::Exact(b"exact"[..].into()));
    }

    #[test]
    fn pattern_lists() {
        let list = Patterns::new(&["user:*".into(), "cfg".into()]);
        assert!(list.any(b"user:7"));
        assert!(list.any(b"cfg"));
        assert!(!list.any(b"cfg2"));
        assert!(Patterns::new(&[]).is_empty());
    }
}
