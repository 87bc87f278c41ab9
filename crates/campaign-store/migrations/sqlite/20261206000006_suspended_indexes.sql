-- The campaigns store, version 7 (SQLite): the secondary indexes of
-- `campaigns` that a sync dropped for a bulk write, with the statements
-- that make them again. A large first sync drops them at its first merge
-- and builds them once, at its last, instead of keeping them up row by row
-- through every merge between. The drop and the listing commit together,
-- so a sync that dies between leaves the statements here for the next
-- sync to run. PostgreSQL keeps its indexes throughout.
CREATE TABLE suspended_indexes (
    name TEXT PRIMARY KEY,
    sql TEXT NOT NULL
);
