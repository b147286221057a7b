//! cmwq-work: placeholder, filled in by its issue.
