//! Counting sessions into daily reports.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use super::{
    DateRange, DateTime, Failure, FailureDetails, PolicyDetails, PolicyReport, Report, ResultType,
    SessionOutcome, Summary,
};

/// The `failure-reason-code` of the entry that sums the failures beyond
/// [`Aggregator::max_failure_details`] (one entry per result type, no other fields).
pub const OVERFLOW_REASON_CODE: &str = "failure-details-overflow";

/// A UTC day (00:00:00Z to 23:59:59Z): the reporting window of RFC 8460 §4.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcDay(i64);

impl UtcDay {
    /// The day `t` falls in.
    pub fn containing(t: DateTime) -> Self {
        Self(t.unix().div_euclid(86_400))
    }

    /// The day before.
    #[must_use]
    pub fn previous(self) -> Self {
        Self(self.0 - 1)
    }

    /// 00:00:00Z of the day.
    pub fn start(self) -> DateTime {
        DateTime::from_unix(self.0 * 86_400)
    }

    /// 23:59:59Z of the day (the `end-datetime` of the RFC's §4.4 example).
    pub fn end(self) -> DateTime {
        DateTime::from_unix(self.0 * 86_400 + 86_399)
    }

    /// The `date-range` of the day.
    pub fn date_range(self) -> DateRange {
        DateRange {
            start_datetime: self.start(),
            end_datetime: self.end(),
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    success: u64,
    failure: u64,
    details: HashMap<Failure, u64>,
    overflow: HashMap<ResultType, u64>,
}

type Windows = BTreeMap<UtcDay, HashMap<PolicyDetails, Counts>>;

/// Counts [`SessionOutcome`]s per UTC day and per (policy-domain, policy), and turns a day
/// into one [`Report`] per policy domain.
///
/// `Send + Sync`: share one (in an `Arc`) between all delivery tasks. [`record`](Self::record)
/// takes one short lock: a hash of the policy and, for a failure, of the failure.
/// Identical failures are one `failure-details` entry with their count summed. Memory is
/// bounded per policy: beyond [`max_failure_details`](Self::max_failure_details) distinct
/// failures, further new ones are summed per result type under
/// [`OVERFLOW_REASON_CODE`]; the summary counts stay exact.
///
/// Sending is the MTA's job: [`drain`](Self::drain) a finished day, look up each policy
/// domain's `_smtp._tls` record, compress and send. [`snapshot`](Self::snapshot) and
/// [`restore`](Self::restore) carry the counts across a restart (the [`Snapshot`] is
/// `Serialize`/`Deserialize`, e.g. as JSON).
#[derive(Debug)]
pub struct Aggregator {
    organization_name: String,
    contact_info: String,
    max_failure_details: usize,
    windows: Mutex<Windows>,
}

/// The state of an [`Aggregator`]: per day, the policy entries a report would carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// One entry per day with sessions.
    pub windows: Vec<SnapshotWindow>,
}

/// One day of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotWindow {
    /// The day.
    pub date_range: DateRange,
    /// Its policies, counts and failures (overflow as [`OVERFLOW_REASON_CODE`] entries).
    pub policies: Vec<PolicyReport>,
}

impl Aggregator {
    /// The default of [`max_failure_details`](Self::max_failure_details).
    pub const DEFAULT_MAX_FAILURE_DETAILS: usize = 100;

    /// An empty aggregator whose reports carry this `organization-name` and `contact-info`.
    pub fn new(organization_name: impl Into<String>, contact_info: impl Into<String>) -> Self {
        Self {
            organization_name: organization_name.into(),
            contact_info: contact_info.into(),
            max_failure_details: Self::DEFAULT_MAX_FAILURE_DETAILS,
            windows: Mutex::new(BTreeMap::new()),
        }
    }

    /// With at most `max` distinct failure details per policy and day.
    #[must_use]
    pub fn with_max_failure_details(mut self, max: usize) -> Self {
        self.max_failure_details = max;
        self
    }

    /// The most distinct failure details kept per policy and day.
    pub fn max_failure_details(&self) -> usize {
        self.max_failure_details
    }

    fn lock(&self) -> MutexGuard<'_, Windows> {
        // The counts stay consistent if a holder panicked: every update is complete or
        // not made.
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a session now (system clock).
    pub fn record(&self, outcome: SessionOutcome) {
        self.record_at(outcome, DateTime::now());
    }

    /// Counts a session at time `at`.
    pub fn record_at(&self, outcome: SessionOutcome, at: DateTime) {
        let mut windows = self.lock();
        let policies = windows.entry(UtcDay::containing(at)).or_default();
        let counts = match policies.get_mut(&outcome.policy) {
            Some(c) => c,
            None => policies.entry(outcome.policy).or_default(),
        };
        match outcome.failure {
            None => counts.success = counts.success.saturating_add(1),
            Some(failure) => add_failure(counts, failure, 1, self.max_failure_details),
        }
    }

    /// The days with sessions, oldest first.
    pub fn windows(&self) -> Vec<UtcDay> {
        self.lock().keys().copied().collect()
    }

    /// Removes `day` and returns its reports, one per policy domain (ordered by domain).
    /// The `report-id` is `<start-datetime>_<policy-domain>`.
    pub fn drain(&self, day: UtcDay) -> Vec<Report> {
        let policies = self.lock().remove(&day);
        let Some(policies) = policies else {
            return Vec::new();
        };
        let mut by_domain: BTreeMap<String, Vec<PolicyReport>> = BTreeMap::new();
        for entry in policy_reports(policies) {
            by_domain
                .entry(entry.policy.policy_domain.clone())
                .or_default()
                .push(entry);
        }
        by_domain
            .into_iter()
            .map(|(domain, policies)| Report {
                organization_name: self.organization_name.clone(),
                date_range: day.date_range(),
                contact_info: self.contact_info.clone(),
                report_id: format!("{}_{domain}", day.start()),
                policies,
            })
            .collect()
    }

    /// Drains every day before `day` (the finished days when `day` is today).
    pub fn drain_before(&self, day: UtcDay) -> Vec<Report> {
        let days: Vec<UtcDay> = self.lock().range(..day).map(|(d, _)| *d).collect();
        days.into_iter().flat_map(|d| self.drain(d)).collect()
    }

    /// The counts, for saving.
    pub fn snapshot(&self) -> Snapshot {
        let windows = self.lock();
        Snapshot {
            windows: windows
                .iter()
                .map(|(day, policies)| SnapshotWindow {
                    date_range: day.date_range(),
                    policies: policy_reports(policies.iter().map(|(p, c)| {
                        let c = Counts {
                            success: c.success,
                            failure: c.failure,
                            details: c.details.clone(),
                            overflow: c.overflow.clone(),
                        };
                        (p.clone(), c)
                    })),
                })
                .collect(),
        }
    }

    /// Adds saved counts to these (counts of the same day, policy and failure are summed;
    /// the cap on distinct failures applies).
    pub fn restore(&self, snapshot: Snapshot) {
        let mut windows = self.lock();
        for window in snapshot.windows {
            let policies = windows
                .entry(UtcDay::containing(window.date_range.start_datetime))
                .or_default();
            for entry in window.policies {
                let counts = policies.entry(entry.policy).or_default();
                counts.success = counts
                    .success
                    .saturating_add(entry.summary.total_successful_session_count);
                let listed: u64 = entry
                    .failure_details
                    .iter()
                    .fold(0, |n, d| n.saturating_add(d.failed_session_count));
                // Failures the summary counts and no entry lists stay counted.
                let unlisted = entry
                    .summary
                    .total_failure_session_count
                    .saturating_sub(listed);
                counts.failure = counts.failure.saturating_add(unlisted);
                for d in entry.failure_details {
                    add_failure(
                        counts,
                        d.failure,
                        d.failed_session_count,
                        self.max_failure_details,
                    );
                }
            }
        }
    }
}

fn add_failure(counts: &mut Counts, failure: Failure, n: u64, max: usize) {
    counts.failure = counts.failure.saturating_add(n);
    if is_overflow_entry(&failure) {
        let o = counts.overflow.entry(failure.result_type).or_default();
        *o = o.saturating_add(n);
    } else if let Some(c) = counts.details.get_mut(&failure) {
        *c = c.saturating_add(n);
    } else if counts.details.len() < max {
        counts.details.insert(failure, n);
    } else {
        let o = counts.overflow.entry(failure.result_type).or_default();
        *o = o.saturating_add(n);
    }
}

fn is_overflow_entry(f: &Failure) -> bool {
    f.failure_reason_code.as_deref() == Some(OVERFLOW_REASON_CODE)
        && f.sending_mta_ip.is_none()
        && f.receiving_mx_hostname.is_none()
        && f.receiving_mx_helo.is_none()
        && f.receiving_ip.is_none()
        && f.additional_information.is_none()
}

/// The entries of one day, in a stable order: by domain, type and policy string; failures
/// by count (largest first), then result type and reason.
fn policy_reports(
    policies: impl IntoIterator<Item = (PolicyDetails, Counts)>,
) -> Vec<PolicyReport> {
    let mut out: Vec<PolicyReport> = policies
        .into_iter()
        .map(|(policy, c)| {
            let mut failure_details: Vec<FailureDetails> = c
                .details
                .into_iter()
                .map(|(failure, n)| FailureDetails {
                    failure,
                    failed_session_count: n,
                })
                .collect();
            failure_details.sort_by(|a, b| {
                b.failed_session_count
                    .cmp(&a.failed_session_count)
                    .then_with(|| failure_order(&a.failure).cmp(&failure_order(&b.failure)))
            });
            let mut overflow: Vec<(ResultType, u64)> = c.overflow.into_iter().collect();
            overflow.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            failure_details.extend(overflow.into_iter().map(|(t, n)| FailureDetails {
                failure: Failure::new(t, OVERFLOW_REASON_CODE),
                failed_session_count: n,
            }));
            PolicyReport {
                policy,
                summary: Summary {
                    total_successful_session_count: c.success,
                    total_failure_session_count: c.failure,
                },
                failure_details,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let key = |p: &PolicyReport| {
            (
                p.policy.policy_domain.clone(),
                p.policy.policy_type.as_str().to_owned(),
                p.policy.policy_string.clone(),
                p.policy.mx_host.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    out
}

fn failure_order(f: &Failure) -> impl Ord + '_ {
    (
        f.result_type.as_str(),
        f.failure_reason_code.as_deref(),
        f.receiving_mx_hostname.as_deref(),
        f.receiving_ip,
        f.sending_mta_ip,
        f.receiving_mx_helo.as_deref(),
        f.additional_information.as_deref(),
    )
}
