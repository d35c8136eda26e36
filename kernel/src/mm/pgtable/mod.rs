//! VMSAv8-64 translation tables (4 KiB granule, 48-bit VA, four levels) built by the kernel and
//! walked by the MMU.
