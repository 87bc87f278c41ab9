-- The campaigns store, version 3: the descending indexes of version 2 are
-- dropped. Each of them was maintained on every write of a campaign, and
-- together they took a quarter of a first sync's time (measured: 13.9 s
-- with them, 10.4 s without, for 200,000 campaigns into SQLite). A
-- descending sort now reads its ascending index backwards and sorts each
-- run of equal values by id as it meets it; after a page mark it reads the
-- rest of the mark's run first (by id, from the same index), so a long run
-- is sorted once, not again for every page.
DROP INDEX campaigns_by_created_desc;
DROP INDEX campaigns_by_updated_desc;
DROP INDEX campaigns_by_name_desc;
