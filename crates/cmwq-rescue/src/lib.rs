//! cmwq-rescue: placeholder, filled in by its issue.
