//! Experiments: the races of the June 2021 `try_grab_compound_head()` thread as stress runs on
//! every CPU, with variants, oracles and verdicts.
