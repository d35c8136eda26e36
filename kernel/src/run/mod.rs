//! What runs: the boot→kernel entry, the run registry selected by `run=` and the per-CPU
//! execution model (roles, rendezvous).
