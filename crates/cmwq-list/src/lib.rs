//! cmwq-list: placeholder, filled in by its issue.
