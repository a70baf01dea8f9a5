//! [`PairPool`]: header maps and strings of finished streams, reused by the next streams.

use crate::abi::wire::Pair;

/// Header maps of finished streams, reused whole (vector and strings) by the next streams: a
/// steady flow of requests allocates no header memory (the hot path of every test and of the
/// lifecycle benchmark).
#[derive(Debug, Default)]
pub(crate) struct PairPool {
    /// Non-empty maps of finished streams, strings inside.
    maps: Vec<Vec<Pair>>,
    /// Loose strings (from maps that shrank).
    strings: Vec<String>,
}

impl PairPool {
    /// At most this many spare maps are kept.
    const MAX_MAPS: usize = 64;
    /// At most this many loose strings are kept.
    const MAX_STRINGS: usize = 256;

    /// An owned copy of `s`, in a reused allocation when one is spare.
    pub(crate) fn string(&mut self, s: &str) -> String {
        let mut out = self.strings.pop().unwrap_or_default();
        out.clear();
        out.push_str(s);
        out
    }

    /// An owned, ASCII-lower-cased copy of `s` (a header name).
    pub(crate) fn lowered(&mut self, s: &str) -> String {
        let mut out = self.string(s);
        out.make_ascii_lowercase();
        out
    }

    fn keep(&mut self, s: String) {
        if self.strings.len() < Self::MAX_STRINGS {
            self.strings.push(s);
        }
    }

    /// Replaces `into` with `from` (names lower-cased), overwriting the strings of a spare map
    /// in place.
    pub(crate) fn fill<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        into: &mut Vec<Pair>,
        from: &[(K, V)],
    ) {
        if into.is_empty()
            && let Some(spare) = self.maps.pop()
        {
            *into = spare;
        }
        // Streams in a test often repeat the same headers: an equal string is left as it is.
        for ((k, v), (fk, fv)) in into.iter_mut().zip(from) {
            let (fk, fv) = (fk.as_ref(), fv.as_ref());
            if k != fk && !k.eq_ignore_ascii_case(fk) {
                k.clear();
                k.push_str(fk);
                k.make_ascii_lowercase();
            }
            if v != fv {
                v.clear();
                v.push_str(fv);
            }
        }
        while into.len() > from.len() {
            if let Some((k, v)) = into.pop() {
                self.keep(k);
                self.keep(v);
            }
        }
        for (fk, fv) in &from[into.len()..] {
            let pair = (self.lowered(fk.as_ref()), self.string(fv.as_ref()));
            into.push(pair);
        }
    }

    /// Empties `pairs`, keeping the map (strings and all) for reuse.
    pub(crate) fn recycle(&mut self, pairs: &mut Vec<Pair>) {
        if pairs.is_empty() {
            return;
        }
        if self.maps.len() < Self::MAX_MAPS {
            self.maps.push(std::mem::take(pairs));
        } else {
            pairs.clear();
        }
    }
}
