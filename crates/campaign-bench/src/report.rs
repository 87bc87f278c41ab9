//! One row of the result table, and the table itself.

use std::fmt::Write as _;

/// One measured figure beside its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The figure this row belongs to (`fan-out`, `merge`, ...).
    pub figure: &'static str,
    /// What exactly was compared.
    pub what: String,
    /// The measured value, with units.
    pub measured: String,
    /// The target, as the issue states it.
    pub target: String,
    /// Whether the measurement meets the target; `None` for information rows.
    pub pass: Option<bool>,
}

impl Row {
    /// A row checked against a target.
    pub fn check(
        figure: &'static str,
        what: impl Into<String>,
        measured: impl Into<String>,
        target: impl Into<String>,
        pass: bool,
    ) -> Self {
        Self {
            figure,
            what: what.into(),
            measured: measured.into(),
            target: target.into(),
            pass: Some(pass),
        }
    }

    /// A row that only informs (a breakdown or a raw number behind a ratio).
    pub fn info(
        figure: &'static str,
        what: impl Into<String>,
        measured: impl Into<String>,
    ) -> Self {
        Self {
            figure,
            what: what.into(),
            measured: measured.into(),
            target: String::new(),
            pass: None,
        }
    }
}

/// The rows as a markdown table: figure, what, measured, target, pass/miss.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| figure | what | measured | target | result |\n| --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        let result = match row.pass {
            Some(true) => "pass",
            Some(false) => "**miss**",
            None => "",
        };
        // Pipes inside a cell would break the table.
        let cell = |s: &str| s.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row.figure,
            cell(&row.what),
            cell(&row.measured),
            cell(&row.target),
            result
        );
    }
    out
}
