//! Output formats of `campaigns list`, and stdout for large outputs.

use std::io::{self, Write};

use campaign_aggregate::SourceWarning;
use campaign_core::{Campaign, SourceError};
use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

use crate::args::Format;

/// One source failure as printed in the `errors` array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorRecord {
    /// The failing source's name.
    pub source: String,
    /// The partition of the source that failed (`contact_center=7`,
    /// `channel=sms`), or `None` when the failure is not tied to one; the
    /// source's other partitions were listed.
    pub partition: Option<String>,
    /// The error kind (`unauthorized`, `timeout`, ...).
    pub kind: &'static str,
    /// HTTP status, where there was one.
    pub status: Option<u16>,
    /// Provider error code (e.g. `CONF-1001`), where there was one.
    pub code: Option<String>,
    /// The error, in one line (never a secret).
    pub message: String,
}

impl ErrorRecord {
    /// The record of `error` raised by `source`.
    pub fn new(source: &str, error: &SourceError) -> Self {
        Self {
            source: source.to_owned(),
            partition: error.partition().map(str::to_owned),
            kind: error.kind().as_str(),
            status: error.status(),
            code: error.code().map(str::to_owned),
            message: error.to_string(),
        }
    }
}

/// Where campaigns go as they arrive, in one of the formats.
pub struct Sink<W: Write> {
    format: Format,
    keep_raw: bool,
    out: Out<W>,
    held: Vec<Campaign>,
    written: usize,
}

enum Out<W: Write> {
    Plain(W),
    // Boxed: the csv writer carries its own buffer, far larger than `W`.
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> std::fmt::Debug for Sink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("format", &self.format)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

/// Bytes gathered before each write to stdout. `changes` over 200,000
/// entries writes 344 MB; through a pipe, 8 KiB writes took 1.02-1.33 s and
/// 256 KiB writes into a 1 MiB pipe 0.68-1.00 s (8 runs each, measured).
const STDOUT_BUFFER: usize = 256 << 10;

/// What a smaller pipe on stdout is grown to: a whole 256 KiB write fits
/// in it, where the kernel's default of 64 KiB blocks the writer four
/// times a write.
#[cfg(target_os = "linux")]
const STDOUT_PIPE: libc::c_int = 1 << 20;

/// Stdout for commands whose output can be large (`list`, `changes`):
/// buffered in large writes (the returned writer holds stdout's lock), and
/// a pipe on stdout grown where the system allows it. Callers flush whenever
/// they would wait, so lines still come out as soon as they are known.
pub(crate) fn bulk_stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    grow_stdout_pipe();
    io::BufWriter::with_capacity(STDOUT_BUFFER, io::stdout().lock())
}

#[cfg(target_os = "linux")]
fn grow_stdout_pipe() {
    // SAFETY: fcntl on stdout's descriptor touches no memory of ours. On a
    // file or a terminal both calls fail (EBADF); setting fails past the
    // user's pipe quota or `pipe-max-size` (EPERM) or with more than that
    // already queued (EBUSY). Either way the output is unchanged, only
    // slower, so failures are ignored. A pipe already larger (its other
    // end grew it) is left as it is.
    unsafe {
        let size = libc::fcntl(libc::STDOUT_FILENO, libc::F_GETPIPE_SZ);
        if (0..STDOUT_PIPE).contains(&size) {
            libc::fcntl(libc::STDOUT_FILENO, libc::F_SETPIPE_SZ, STDOUT_PIPE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn grow_stdout_pipe() {}

/// The columns of `--format csv`, the campaign's main fields in order (the
/// web page's detail shows them first, in this order, too).
pub(crate) const CSV_HEADER: [&str; 15] = [
    "id",
    "source",
    "provider",
    "native_id",
    "name",
    "description",
    "channel",
    "status",
    "priority",
    "dialing_mode",
    "created_at",
    "updated_at",
    "version",
    "contact_lists",
    "dnc_lists",
];

impl<W: Write> Sink<W> {
    /// A sink writing `format` to `out`; `keep_raw` keeps `raw` in json/ndjson.
    pub fn new(format: Format, keep_raw: bool, out: W) -> Self {
        let out = match format {
            Format::Csv => Out::Csv(Box::new(csv::Writer::from_writer(out))),
            _ => Out::Plain(out),
        };
        Self {
            format,
            keep_raw,
            out,
            held: Vec::new(),
            written: 0,
        }
    }

    /// Campaigns taken so far.
    pub fn count(&self) -> usize {
        self.written
    }

    /// Takes one campaign; ndjson and csv write it at once.
    pub fn push(&mut self, mut campaign: Campaign) -> io::Result<()> {
        if !self.keep_raw {
            campaign.raw = None;
        }
        self.written += 1;
        match (&mut self.out, self.format) {
            (Out::Csv(writer), _) => {
                if self.written == 1 {
                    writer.write_record(CSV_HEADER)?;
                }
                writer.write_record(csv_row(&campaign))?;
                Ok(())
            }
            (Out::Plain(out), Format::Ndjson) => {
                serde_json::to_writer(&mut *out, &campaign)?;
                out.write_all(b"\n")
            }
            (Out::Plain(_), _) => {
                self.held.push(campaign);
                Ok(())
            }
        }
    }

    /// Pushes buffered bytes out, so a reader sees every campaign taken so far.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Out::Plain(out) => out.flush(),
            Out::Csv(writer) => writer.flush(),
        }
    }

    /// Writes what the format keeps for the end and flushes; only json
    /// writes `errors` and `warnings` (the others report them on stderr).
    pub fn finish(
        mut self,
        next_cursor: Option<&str>,
        errors: &[ErrorRecord],
        warnings: &[SourceWarning],
    ) -> io::Result<()> {
        match (&mut self.out, self.format) {
            (Out::Csv(writer), _) if self.written == 0 => writer.write_record(CSV_HEADER)?,
            (Out::Plain(out), Format::Json) => {
                write_json_document(&mut *out, &self.held, next_cursor, errors, warnings)?;
            }
            (Out::Plain(out), Format::Table) if !self.held.is_empty() => {
                writeln!(out, "{}", table(&self.held))?;
            }
            _ => {}
        }
        self.flush()
    }
}

/// The `--format json` document: `{"campaigns", "next_cursor", "errors",
/// "warnings"}`, pretty-printed, then a newline. `campaigns` are written as
/// they are (`raw` stripped or not by the caller).
pub fn write_json_document(
    mut out: impl Write,
    campaigns: &[Campaign],
    next_cursor: Option<&str>,
    errors: &[ErrorRecord],
    warnings: &[SourceWarning],
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Document<'a> {
        campaigns: &'a [Campaign],
        next_cursor: Option<&'a str>,
        errors: &'a [ErrorRecord],
        warnings: &'a [SourceWarning],
    }
    let document = Document {
        campaigns,
        next_cursor,
        errors,
        warnings,
    };
    serde_json::to_writer_pretty(&mut out, &document)?;
    out.write_all(b"\n")
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_row(c: &Campaign) -> [String; 15] {
    let lists = |lists: &[campaign_core::ListRef]| {
        lists
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(";")
    };
    [
        c.id.to_string(),
        c.id.source.to_string(),
        c.provider.to_string(),
        c.id.native.clone(),
        c.name.clone(),
        c.description.clone().unwrap_or_default(),
        c.channel.as_str().to_owned(),
        opt(c.status.as_ref().map(|s| s.as_str())),
        opt(c.priority),
        opt(c.dialing_mode.as_ref().map(|m| m.as_str())),
        opt(c.created_at.map(|t| t.to_rfc3339())),
        opt(c.updated_at.map(|t| t.to_rfc3339())),
        opt(c.version),
        lists(&c.contact_lists),
        lists(&c.dnc_lists),
    ]
}

fn table(campaigns: &[Campaign]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "ID", "NAME", "CHANNEL", "STATUS", "PRIO", "DIALING", "CREATED", "UPDATED",
        ]);
    let date = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "-".into())
    };
    for c in campaigns {
        table.add_row([
            c.id.to_string(),
            c.name.clone(),
            c.channel.as_str().to_owned(),
            c.status.as_ref().map_or("-", |s| s.as_str()).to_owned(),
            c.priority.map_or_else(|| "-".into(), |p| p.to_string()),
            c.dialing_mode
                .as_ref()
                .map_or("-", |m| m.as_str())
                .to_owned(),
            date(c.created_at),
            date(c.updated_at),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use campaign_core::{CampaignId, Channel, ErrorKind, RawRecord, Status};

    fn campaign(native: &str, name: &str) -> Campaign {
        let mut c = Campaign::new(CampaignId::new("cms", native), "cms", name, Channel::Voice);
        c.status = Some(Status::Active);
        c.priority = Some(3);
        c.raw = Some(RawRecord::from_value(
            &serde_json::json!({"secretive": "original"}),
        ));
        c
    }

    fn render(format: Format, raw: bool, campaigns: &[Campaign], errors: &[ErrorRecord]) -> String {
        render_warned(format, raw, campaigns, errors, &[])
    }

    fn render_warned(
        format: Format,
        raw: bool,
        campaigns: &[Campaign],
        errors: &[ErrorRecord],
        warnings: &[SourceWarning],
    ) -> String {
        let mut out = Vec::new();
        let mut sink = Sink::new(format, raw, &mut out);
        for c in campaigns {
            sink.push(c.clone()).unwrap();
        }
        sink.finish(Some("next-page"), errors, warnings).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_has_a_warnings_array_next_to_errors() {
        let text = render(Format::Json, false, &[campaign("1", "a")], &[]);
        let document: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(document["warnings"], serde_json::json!([]));
        let warnings = [SourceWarning::new(
            "kore",
            "voice: totalResults changed from 30 to 20 during the walk",
        )];
        let text = render_warned(Format::Json, false, &[campaign("1", "a")], &[], &warnings);
        let document: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(document["errors"], serde_json::json!([]));
        assert_eq!(document["warnings"][0]["source"], "kore");
        assert_eq!(
            document["warnings"][0]["message"],
            "voice: totalResults changed from 30 to 20 during the walk"
        );
        // Other formats keep them for stderr.
        let text = render_warned(Format::Ndjson, false, &[campaign("1", "a")], &[], &warnings);
        assert!(!text.contains("totalResults"), "{text}");
    }

    #[test]
    fn json_is_one_document_with_cursor_and_errors() {
        let error = SourceError::new(ErrorKind::NotFound, "cms", "no such contact center")
            .with_status(404)
            .with_code("CONF-1001");
        let errors = [ErrorRecord::new("cms", &error)];
        let text = render(
            Format::Json,
            false,
            &[campaign("1", "A, \"quoted\"")],
            &errors,
        );
        let document: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(document["campaigns"][0]["id"], "cms:1");
        assert!(document["campaigns"][0].get("raw").is_none());
        assert_eq!(document["next_cursor"], "next-page");
        assert_eq!(document["errors"][0]["kind"], "not_found");
        assert_eq!(document["errors"][0]["status"], 404);
        assert_eq!(document["errors"][0]["code"], "CONF-1001");
    }

    #[test]
    fn ndjson_keeps_raw_only_when_asked() {
        let lines = render(
            Format::Ndjson,
            true,
            &[campaign("1", "a"), campaign("2", "b")],
            &[],
        );
        let parsed: Vec<serde_json::Value> = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1]["raw"]["secretive"], "original");
    }

    #[test]
    fn csv_quotes_and_always_has_a_header() {
        let text = render(Format::Csv, false, &[campaign("1", "A, \"quoted\"")], &[]);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            CSV_HEADER
        );
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[4], "A, \"quoted\"");
        assert_eq!(&row[7], "active");
        assert_eq!(render(Format::Csv, false, &[], &[]).lines().count(), 1);
    }

    #[test]
    fn table_has_a_header_and_one_line_per_campaign() {
        let text = render(
            Format::Table,
            false,
            &[campaign("1", "a"), campaign("22", "b")],
            &[],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].contains("ID") && lines[0].contains("NAME"));
        assert!(lines[2].contains("cms:22"));
    }
}
