//! The SQL of one page: the query's filters, and a keyset condition and
//! order that one index serves (see [`Order`]).

use std::cmp::Ordering;

use campaign_core::{CampaignQuery, Sort, SortDirection, SortField};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

use super::{capabilities, Mark, StoreSource};
use crate::rows::{joined, timestamp};
use crate::store::Backend;

/// An SQL statement under construction, with its parameters in order.
#[derive(Default)]
pub(super) struct Sql {
    text: String,
    params: Vec<Param>,
}

#[derive(Clone)]
enum Param {
    Text(String),
    Int(i64),
}

impl Sql {
    /// The statement with its parameters bound, ready to run.
    pub(super) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut query = sqlx::query(&self.text);
        for param in &self.params {
            query = match param {
                Param::Text(text) => query.bind(text.clone()),
                Param::Int(n) => query.bind(*n),
            };
        }
        query
    }

    /// This statement's rows as one: how many, and their campaigns (the
    /// change log holds each one's JSON) [`joined`]. A row whose entry is
    /// missing joins none, so the count tells.
    pub(super) fn one_row(mut self, backend: Backend) -> Self {
        let campaigns = joined(backend, "ch.campaign");
        self.text = format!(
            "SELECT count(*), {campaigns} FROM ({}) AS page \
             LEFT JOIN changes ch ON ch.seq = page.seq",
            self.text
        );
        self
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Appends a placeholder for `value`.
    fn param(&mut self, value: Param) {
        self.params.push(value);
        self.text.push_str(&format!("${}", self.params.len()));
    }

    fn list(&mut self, column: &str, values: Vec<Param>) {
        self.push(&format!(" AND {column} IN ("));
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.param(value);
        }
        self.push(")");
    }
}

/// The column a sort field lives in.
fn sort_column(field: SortField) -> &'static str {
    match field {
        SortField::Name => "name",
        SortField::CreatedAt => "created_at",
        SortField::UpdatedAt => "updated_at",
    }
}

/// The rows one statement reads, in the order it reads them.
#[derive(Debug, Clone, Copy)]
pub(super) enum Order {
    /// Every campaign, by id: an unsorted query.
    Id,
    /// The campaigns that have the sort's value, by it, ties by id. A
    /// descending sort reads its ascending index backwards, and sorts each
    /// run of equal values by id as it meets it (no second index to keep up
    /// on every write); after a mark it starts past the mark's value, whose
    /// rest is read first as a [`Tie`](Order::Tie).
    Keyed(Sort),
    /// The campaigns with the mark's value of the field, by id: the rest of
    /// a run of equal values; the campaigns without a value (last in either
    /// direction) when the mark has none, or there is no mark.
    Tie(SortField),
}

/// Whether a campaign can lack `field` (the name is always there).
pub(super) fn may_be_missing(field: SortField) -> bool {
    match field {
        SortField::Name => false,
        SortField::CreatedAt | SortField::UpdatedAt => true,
    }
}

impl StoreSource {
    /// The statement for the next `limit` rows of `order` after `after`.
    ///
    /// Each statement reads one index in its order and stops at `limit`:
    /// the keyset condition bounds the sort column itself (`created_at <= ?`
    /// for a descending sort), so the database seeks to the mark instead
    /// of sorting the whole table for every page.
    pub(super) fn select(
        &self,
        query: &CampaignQuery,
        order: Order,
        after: Option<&Mark>,
        limit: u32,
    ) -> Sql {
        let mut sql = Sql::default();
        sql.push("SELECT source, native_id, seq FROM campaigns WHERE 1 = 1");
        self.filters(query, order, &mut sql);
        match order {
            Order::Id => {
                if let Some(mark) = after {
                    sql.push(" AND ");
                    self.id_after(&mut sql, mark);
                }
                sql.push(" ORDER BY source, native_id");
            }
            Order::Keyed(sort) => {
                let column = sort_column(sort.field);
                let (beyond, direction) = match sort.direction {
                    SortDirection::Asc => (">", "ASC"),
                    SortDirection::Desc => ("<", "DESC"),
                };
                match after.and_then(|mark| Some((mark.k.clone()?, mark))) {
                    Some((key, _)) if sort.direction == SortDirection::Desc => {
                        sql.push(&format!(" AND {column} < "));
                        sql.param(Param::Text(key));
                    }
                    Some((key, mark)) => {
                        // The first comparison is the one an index seeks on.
                        sql.push(&format!(" AND {column} {beyond}= "));
                        sql.param(Param::Text(key.clone()));
                        sql.push(&format!(" AND ({column} {beyond} "));
                        sql.param(Param::Text(key.clone()));
                        sql.push(&format!(" OR ({column} = "));
                        sql.param(Param::Text(key));
                        sql.push(" AND ");
                        self.id_after(&mut sql, mark);
                        sql.push("))");
                    }
                    None if may_be_missing(sort.field) => {
                        sql.push(&format!(" AND {column} IS NOT NULL"));
                    }
                    None => {}
                }
                sql.push(&format!(
                    " ORDER BY {column} {direction}, source, native_id"
                ));
            }
            Order::Tie(field) => {
                let column = sort_column(field);
                match after.and_then(|mark| mark.k.clone()) {
                    Some(key) => {
                        sql.push(&format!(" AND {column} = "));
                        sql.param(Param::Text(key));
                    }
                    None => sql.push(&format!(" AND {column} IS NULL")),
                }
                if let Some(mark) = after {
                    sql.push(" AND ");
                    self.id_after(&mut sql, mark);
                }
                // The column is the same in every row: naming it changes
                // nothing but lets PostgreSQL see that its index serves this
                // order.
                sql.push(&format!(" ORDER BY {column}, source, native_id"));
            }
        }
        sql.push(" LIMIT ");
        sql.param(Param::Int(i64::from(limit)));
        sql
    }

    /// The conditions of `query` the store applies (all but the name), and
    /// the store's own (one source, deleted campaigns hidden).
    fn filters(&self, query: &CampaignQuery, order: Order, sql: &mut Sql) {
        let plan = capabilities().split(query);
        let pushed = &plan.pushdown;
        if !self.include_deleted {
            sql.push(" AND deleted_at IS NULL");
        }
        if let Some(source) = &self.only {
            sql.push(&format!(" AND {} = ", self.filtered("source", order)));
            sql.param(Param::Text(source.clone()));
        }
        let text = |values: Vec<String>| values.into_iter().map(Param::Text).collect();
        if !pushed.channels().is_empty() {
            let values = pushed
                .channels()
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect();
            sql.list("channel", text(values));
        }
        if !pushed.statuses().is_empty() {
            let values = pushed
                .statuses()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect();
            sql.list("status", text(values));
        }
        if !pushed.priorities().is_empty() {
            let values = pushed
                .priorities()
                .iter()
                .map(|&p| Param::Int(i64::from(p)))
                .collect();
            sql.list("priority", values);
        }
        if !pushed.dialing_modes().is_empty() {
            let values = pushed
                .dialing_modes()
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect();
            sql.list("dialing_mode", text(values));
        }
        for (column, range) in [
            ("created_at", pushed.created()),
            ("updated_at", pushed.updated()),
        ] {
            let column = self.filtered(column, order);
            if let Some(start) = range.start {
                sql.push(&format!(" AND {column} >= "));
                sql.param(Param::Text(timestamp(start)));
            }
            if let Some(end) = range.end {
                sql.push(&format!(" AND {column} < "));
                sql.param(Param::Text(timestamp(end)));
            }
        }
    }

    /// `column` as a filter of a statement reading `order`. On SQLite,
    /// `+column` when the column's index does not serve that order: without
    /// statistics SQLite would rather read the rows a filter selects (all
    /// of a source, a range of dates) and sort them, for every page, than
    /// read the index in order and skip what the filter drops. The unary
    /// `+` changes no value; it only keeps the column off its index.
    /// PostgreSQL weighs both plans itself.
    fn filtered(&self, column: &'static str, order: Order) -> String {
        let serves = match order {
            Order::Id => column == "source",
            Order::Keyed(sort) => column == sort_column(sort.field),
            Order::Tie(field) => column == "source" || column == sort_column(field),
        };
        if serves || self.store.backend() != Backend::Sqlite {
            column.to_owned()
        } else {
            format!("+{column}")
        }
    }

    /// Campaigns whose id comes after the mark's: the tie-break of every
    /// sort and the order of an unsorted query.
    fn id_after(&self, sql: &mut Sql, mark: &Mark) {
        match &self.only {
            // One source: `source = ?` already holds, and `native_id > ?`
            // lets the index seek past the source's earlier campaigns
            // (SQLite seeks on `source = ?` only when given the row value).
            Some(only) => match mark.s.as_str().cmp(only.as_str()) {
                Ordering::Equal => {
                    sql.push("native_id > ");
                    sql.param(Param::Text(mark.i.clone()));
                }
                Ordering::Less => sql.push("1 = 1"),
                Ordering::Greater => sql.push("1 = 0"),
            },
            None => {
                sql.push("(source, native_id) > (");
                sql.param(Param::Text(mark.s.clone()));
                sql.push(", ");
                sql.param(Param::Text(mark.i.clone()));
                sql.push(")");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use campaign_core::{CampaignQuery, Channel};
    use sqlx::Row;

    use super::*;
    use crate::Store;

    /// SQLite's plan of `sql`, one line per step.
    async fn plan(store: &Store, sql: &Sql) -> String {
        let explain = Sql {
            text: format!("EXPLAIN QUERY PLAN {}", sql.text),
            params: sql.params.clone(),
        };
        let rows = explain.query().fetch_all(&store.pool).await.unwrap();
        let steps: Vec<String> = rows.iter().map(|row| row.get::<String, _>(3)).collect();
        steps.join("; ")
    }

    /// Every statement of a listing reads an index in the listing's order
    /// and stops at its limit: no step scans the table or sorts it, but a
    /// descending sort's, which sorts each run of equal values by id.
    #[tokio::test]
    async fn every_page_reads_an_index_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store = Store::connect(&url).await.unwrap();
        let mark = |k: Option<&str>| Mark {
            q: String::new(),
            k: k.map(str::to_owned),
            s: "cms".into(),
            i: "7".into(),
        };
        let (keyed, missing) = (mark(Some("2025-01-01T00:00:00Z")), mark(None));
        let mut sorts = vec![None];
        for field in SortField::ALL {
            sorts.extend([Some(Sort::asc(field)), Some(Sort::desc(field))]);
        }
        let every = StoreSource::new(store.clone());
        let deleted_too = StoreSource::new(store.clone()).including_deleted(true);
        let one = StoreSource::for_source(store.clone(), "cms");
        let at = |text: &str| text.parse().unwrap();
        let filtered = || {
            CampaignQuery::builder()
                .channel(Channel::Voice)
                .created_from(at("2025-01-01T00:00:00Z"))
                .updated_to(at("2026-01-01T00:00:00Z"))
        };
        let queries = sorts.into_iter().flat_map(|sort| {
            [CampaignQuery::builder(), filtered()].map(|query| match sort {
                Some(by) => (sort, query.sort(by)),
                None => (sort, query),
            })
        });
        for (sort, query) in queries {
            let query = query.build().unwrap();
            let mut statements = Vec::new();
            for source in [&every, &deleted_too, &one] {
                let mut orders = match sort {
                    None => vec![(Order::Id, None), (Order::Id, Some(&keyed))],
                    Some(sort) if may_be_missing(sort.field) => vec![
                        (Order::Tie(sort.field), None),
                        (Order::Tie(sort.field), Some(&missing)),
                    ],
                    Some(_) => Vec::new(),
                };
                if let Some(sort) = sort.filter(|s| s.direction == SortDirection::Desc) {
                    orders.push((Order::Tie(sort.field), Some(&keyed)));
                }
                for (order, after) in orders {
                    statements.push(source.select(&query, order, after, 101));
                }
            }
            if let Some(sort) = sort {
                for source in [&every, &deleted_too, &one] {
                    for after in [None, Some(&keyed)] {
                        statements.push(source.select(&query, Order::Keyed(sort), after, 101));
                    }
                }
            }
            let descending = sort.is_some_and(|s| s.direction == SortDirection::Desc);
            for sql in &statements {
                let mut plan = plan(&store, sql).await;
                // A descending sort reads its index backwards and sorts
                // each run of equal values by id: that sort, and no other.
                // (SQLite names that step in two ways, by version.)
                if descending {
                    for runs_sorted in ["LAST 2 TERMS OF ORDER BY", "RIGHT PART OF ORDER BY"] {
                        plan = plan.replace(&format!("; USE TEMP B-TREE FOR {runs_sorted}"), "");
                    }
                }
                println!("{}\n  {plan}", sql.text);
                assert!(
                    plan.starts_with("SEARCH campaigns USING INDEX")
                        || plan.starts_with("SCAN campaigns USING INDEX"),
                    "{plan}\n{}",
                    sql.text
                );
                assert!(!plan.contains("TEMP B-TREE"), "{plan}\n{}", sql.text);
            }
        }
        store.close().await;
    }
}
