//! `/chosen/bootargs` parsing: what to run and how.
