//! What a case is, and the CMS and Kore cases (the Genesys ones are in
//! `genesys.rs`).

use std::time::Duration;

use campaign_core::ErrorKind;
use campaign_e2e::{Rig, CMS, KORE};
use campaign_sandbox::{Fault, RetryAfter};

/// Which emulator a fault goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Cms,
    Kore,
    /// The CMS and Kore.
    Both,
    Genesys,
}

impl Target {
    pub fn label(self) -> &'static str {
        match self {
            Target::Cms => "CMS",
            Target::Kore => "Kore",
            Target::Both => "CMS, Kore",
            Target::Genesys => "Genesys",
        }
    }
}

/// What a case must end in.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// Exactly the baseline ids, in order.
    Recovered,
    /// Every baseline id once, plus campaigns the fault created.
    RecoveredWithNew,
    /// The named source fails with this kind; the others deliver everything.
    Fails(&'static str, ErrorKind),
    /// The named source skips this many records it cannot use, each
    /// reported as a warning; everything else arrives, in baseline order.
    Skips(&'static str, usize),
}

#[derive(Debug)]
pub enum Action {
    Inject(Fault, Option<usize>),
    ExpireTokens,
}

/// The order a case lists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The rig's query: newest first (the Genesys source reads its listing
    /// whole and sorts it locally).
    Newest,
    /// By name, ascending: the Genesys source reads its listing whole and
    /// sorts names locally too (it sends `sortBy=name` only for a stable
    /// page order).
    Name,
}

impl Order {
    /// The label of a case's name suffix.
    pub fn label(self) -> &'static str {
        match self {
            Order::Newest => "",
            Order::Name => " (by name)",
        }
    }
}

#[derive(Debug)]
pub struct Case {
    pub name: &'static str,
    pub target: Target,
    pub action: Action,
    pub expect: Expect,
    pub order: Order,
}

pub fn case(name: &'static str, target: Target, action: Action, expect: Expect) -> Case {
    Case {
        name,
        target,
        action,
        expect,
        order: Order::Newest,
    }
}

impl Case {
    /// The same case, listed by name.
    pub fn by_name(mut self) -> Self {
        self.order = Order::Name;
        self
    }

    /// Whether the case adds campaigns (so it runs last).
    pub fn drifts(&self) -> bool {
        matches!(self.expect, Expect::RecoveredWithNew)
    }
}

/// Every case, in the order they run: drift adds campaigns, so those come
/// last.
pub fn cases() -> Vec<Case> {
    let (mut drifting, mut steady): (Vec<Case>, Vec<Case>) = cms_and_kore()
        .into_iter()
        .chain(crate::genesys::cases())
        .partition(Case::drifts);
    steady.append(&mut drifting);
    steady
}

fn cms_and_kore() -> Vec<Case> {
    use Action::Inject;
    use Expect::{Fails, Recovered, RecoveredWithNew, Skips};
    use Target::{Both, Cms, Kore};
    vec![
        case(
            "500 burst (2)",
            Cms,
            Inject(Fault::Status(500), Some(2)),
            Recovered,
        ),
        case(
            "502 burst (2)",
            Kore,
            Inject(Fault::Status(502), Some(2)),
            Recovered,
        ),
        case(
            "503 burst (2)",
            Both,
            Inject(Fault::Status(503), Some(2)),
            Recovered,
        ),
        case(
            "503 persistent",
            Kore,
            Inject(Fault::Status(503), None),
            Fails(KORE, ErrorKind::Server),
        ),
        case(
            "429, Retry-After: 1 (seconds)",
            Kore,
            Inject(Fault::RateLimited(RetryAfter::Seconds(1)), Some(1)),
            Recovered,
        ),
        case(
            "429, Retry-After: HTTP date (+1 s)",
            Cms,
            Inject(
                Fault::RateLimited(RetryAfter::HttpDate(Duration::from_secs(1))),
                Some(1),
            ),
            Recovered,
        ),
        case(
            "429, Retry-After: 120 (over the 3 s cap)",
            Kore,
            Inject(Fault::RateLimited(RetryAfter::Seconds(120)), None),
            Fails(KORE, ErrorKind::RateLimited),
        ),
        case(
            "HTML error page (502), once",
            Kore,
            Inject(Fault::HtmlError, Some(1)),
            Recovered,
        ),
        case(
            "HTML error page (502), persistent",
            Cms,
            Inject(Fault::HtmlError, None),
            Fails(CMS, ErrorKind::Server),
        ),
        case(
            "truncated JSON",
            Cms,
            Inject(Fault::TruncatedJson, None),
            Fails(CMS, ErrorKind::Decode),
        ),
        case(
            "truncated JSON",
            Kore,
            Inject(Fault::TruncatedJson, None),
            Fails(KORE, ErrorKind::Decode),
        ),
        case(
            "wrong field type (unusable id), every response",
            Cms,
            Inject(Fault::WrongFieldType, None),
            Skips(CMS, 2),
        ),
        case(
            "wrong field type (priority), once",
            Kore,
            Inject(Fault::WrongFieldType, Some(1)),
            Skips(KORE, 1),
        ),
        case(
            "optional field of the wrong type (processId \"x\"), once",
            Cms,
            Inject(Fault::BadOptionalField, Some(1)),
            Skips(CMS, 1),
        ),
        case(
            "optional field of the wrong type (contactLists 7), once",
            Kore,
            Inject(Fault::BadOptionalField, Some(1)),
            Skips(KORE, 1),
        ),
        case(
            "sortBy without name refused (the spec's rule enforced)",
            Kore,
            Inject(Fault::SortNameRequired, None),
            Recovered,
        ),
        case(
            "ties in reverse id order",
            Kore,
            Inject(Fault::TiesReversed, None),
            Recovered,
        ),
        case(
            "sortBy ignored",
            Kore,
            Inject(Fault::SortIgnored, None),
            Recovered,
        ),
        case(
            "rate-limit message with status 400 (2)",
            Kore,
            Inject(Fault::RateLimitedWithStatus(400), Some(2)),
            Recovered,
        ),
        case(
            "rate-limit message with status 200",
            Kore,
            Inject(Fault::RateLimitedWithStatus(200), Some(1)),
            Recovered,
        ),
        case(
            "30 MB body (limit 1 MiB)",
            Kore,
            Inject(Fault::Oversized(30 * 1024 * 1024), None),
            Fails(KORE, ErrorKind::Decode),
        ),
        case(
            "slow drip past the 1 s timeout",
            Cms,
            Inject(Fault::SlowDrip(Duration::from_millis(25)), None),
            Fails(CMS, ErrorKind::Timeout),
        ),
        case(
            "slow drip, once",
            Kore,
            Inject(Fault::SlowDrip(Duration::from_millis(25)), Some(1)),
            Recovered,
        ),
        case(
            "dropped connection (2)",
            Kore,
            Inject(Fault::DropConnection, Some(2)),
            Recovered,
        ),
        case(
            "dropped connection, persistent",
            Cms,
            Inject(Fault::DropConnection, None),
            Fails(CMS, ErrorKind::Transport),
        ),
        case(
            "wrong totalResults",
            Kore,
            Inject(Fault::WrongTotalResults, None),
            Recovered,
        ),
        case(
            "server ignores skip",
            Kore,
            Inject(Fault::IgnoreSkip, None),
            Fails(KORE, ErrorKind::Protocol),
        ),
        case(
            "redirect to another host",
            Cms,
            Inject(Fault::RedirectOtherHost, None),
            Fails(CMS, ErrorKind::Transport),
        ),
        case(
            "redirect to another host",
            Kore,
            Inject(Fault::RedirectOtherHost, None),
            Fails(KORE, ErrorKind::Transport),
        ),
        case("expired tokens", Both, Action::ExpireTokens, Recovered),
        case(
            "page drift",
            Cms,
            Inject(Fault::PageDrift, None),
            RecoveredWithNew,
        ),
        case(
            "page drift",
            Kore,
            Inject(Fault::PageDrift, None),
            // Prefetched pages can be answered out of order while the head
            // moves; the source reads on page by page once it sees that.
            RecoveredWithNew,
        ),
    ]
}

/// Applies a case's fault to its emulators.
pub fn apply(rig: &Rig, target: Target, action: &Action) {
    let controls = match target {
        Target::Cms => vec![rig.sandbox.cms()],
        Target::Kore => vec![rig.sandbox.kore()],
        Target::Both => vec![rig.sandbox.cms(), rig.sandbox.kore()],
        Target::Genesys => vec![rig.sandbox.genesys()],
    };
    for control in controls {
        match action {
            Action::Inject(fault, times) => control.inject(fault.clone(), *times),
            Action::ExpireTokens => control.expire_tokens(),
        }
    }
}
