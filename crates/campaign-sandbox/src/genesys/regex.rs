//! `filterType=RegEx` (spec §2.1) through the `regex` crate.
//!
//! The spec does not name the dialect (§8.5); the crate covers the common core
//! of Java and POSIX-extended syntax, and its matching is linear in the name's
//! length, so no pattern can make a request hang. Without anchors a pattern
//! matches anywhere in the name.

use std::fmt;

/// Largest compiled program accepted; `(a{1000}){1000}` and the like are refused.
const MAX_PROGRAM_BYTES: usize = 1 << 20;

/// A pattern the emulator cannot use (never panics on bad input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError(String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A compiled name pattern.
#[derive(Debug, Clone)]
pub(crate) struct Regex(regex::Regex);

impl Regex {
    pub(crate) fn new(pattern: &str, case_insensitive: bool) -> Result<Self, PatternError> {
        regex::RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .size_limit(MAX_PROGRAM_BYTES)
            .build()
            .map(Self)
            // The crate's message spans lines with a caret diagram; the first
            // line says what is wrong.
            .map_err(|error| {
                let text = error.to_string();
                let first = text.lines().find(|line| line.starts_with("error:"));
                PatternError(first.unwrap_or("invalid pattern").trim().to_owned())
            })
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is(pattern: &str, text: &str) -> bool {
        Regex::new(pattern, false).unwrap().is_match(text)
    }

    #[test]
    fn matches_the_common_syntax() {
        assert!(is("Renewals", "Renewals - Predictive"));
        assert!(is("^Ren.*ive$", "Renewals - Predictive"));
        assert!(!is("^Predictive", "Renewals - Predictive"));
        assert!(is("(Sales|Win-Back) - ", "Win-Back - Predictive"));
        assert!(is("[A-C]ollections", "Collections - Agentless Reminder"));
        assert!(!is("[^C]ollections", "Collections"));
        assert!(is("Q\\d", "Collections Q1"));
        assert!(is("^\\w+\\s-\\s\\w+$", "Retention - Preview"));
        assert!(is("^a{2,3}$", "aaa") && !is("^a{2,3}$", "aaaa"));
        assert!(is("^(?:ab)+?$", "abab") && is("1\\.5", "v1.5") && !is("1\\.5", "v125"));
        assert!(Regex::new("renewals", true)
            .unwrap()
            .is_match("RENEWALS 2026"));
        assert!(!is("renewals", "RENEWALS"));
    }

    #[test]
    fn rejects_bad_patterns_without_panicking() {
        for bad in ["(", ")", "[abc", "*a", "\\", "[z-a]", "a{5,2}", "\\q"] {
            let error = Regex::new(bad, false).expect_err(bad);
            assert!(!error.to_string().contains('\n'), "{bad}: {error}");
        }
        assert!(Regex::new("(a{1000}){1000}", false).is_err());
    }

    #[test]
    fn pathological_patterns_stay_linear() {
        let regex = Regex::new("^(a+)+$", false).unwrap();
        let text = format!("{}b", "a".repeat(5_000));
        assert!(!regex.is_match(&text));
    }
}
