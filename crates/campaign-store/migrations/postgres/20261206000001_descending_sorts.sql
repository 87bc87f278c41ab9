-- The campaigns store, version 2, for PostgreSQL: an index for each sort the
-- store serves descending. The order is the sort's column descending with
-- ties by id ascending (CampaignQuery::compare), which no scan of the
-- ascending indexes gives in either direction. Beside the ascending indexes
-- of version 1, every sort reads its pages from an index instead of sorting
-- the table. The same indexes exist for SQLite (../sqlite).
CREATE INDEX campaigns_by_created_desc ON campaigns (created_at DESC, source, native_id);
CREATE INDEX campaigns_by_updated_desc ON campaigns (updated_at DESC, source, native_id);
CREATE INDEX campaigns_by_name_desc ON campaigns (name DESC, source, native_id);
