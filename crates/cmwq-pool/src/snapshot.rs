//! Plain-data snapshots for the dump.
