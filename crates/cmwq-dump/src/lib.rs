//! cmwq-dump: placeholder, filled in by its issue.
