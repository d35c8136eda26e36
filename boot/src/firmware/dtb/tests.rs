//! Host tests of the DTB parser on blobs written by a tiny FDT writer (the devicetree
//! specification's v17 layout: header, memory reservation block, structure block, strings).

use super::*;

/// A node of a tree to serialise.
struct Node {
    name: &'static str,
    props: Vec<(&'static str, Vec<u8>)>,
    children: Vec<Node>,
}

fn node(name: &'static str, props: Vec<(&'static str, Vec<u8>)>, children: Vec<Node>) -> Node {
    Node {
        name,
        props,
        children,
    }
}

fn u32s(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn s(v: &str) -> Vec<u8> {
    let mut b = v.as_bytes().to_vec();
    b.push(0);
    b
}

/// Several NUL-terminated strings (a `compatible` list).
fn strs(v: &[&str]) -> Vec<u8> {
    v.iter().flat_map(|x| s(x)).collect()
}

fn align4(b: &mut Vec<u8>) {
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
}

fn emit(n: &Node, st: &mut Vec<u8>, strings: &mut Vec<u8>) {
    if let Some(real) = n.name.strip_prefix("nop:") {
        // What libfdt's fdt_nop_node leaves (QEMU raspi4b does it to the PCIe, RNG, thermal
        // and Ethernet nodes): every token of the node overwritten with FDT_NOP.
        let mut tmp = Vec::new();
        let renamed = Node {
            name: real,
            props: n.props.clone(),
            children: vec![],
        };
        emit(&renamed, &mut tmp, strings);
        for _ in 0..tmp.len() / 4 {
            st.extend_from_slice(&4u32.to_be_bytes());
        }
        return;
    }
    st.extend_from_slice(&1u32.to_be_bytes());
    st.extend_from_slice(n.name.as_bytes());
    st.push(0);
    align4(st);
    for (name, value) in &n.props {
        let off = match strings
            .windows(name.len() + 1)
            .position(|w| &w[..name.len()] == name.as_bytes() && w[name.len()] == 0)
        {
            Some(o) => o,
            None => {
                let o = strings.len();
                strings.extend_from_slice(name.as_bytes());
                strings.push(0);
                o
            }
        };
        st.extend_from_slice(&3u32.to_be_bytes());
        st.extend_from_slice(&(value.len() as u32).to_be_bytes());
        st.extend_from_slice(&(off as u32).to_be_bytes());
        st.extend_from_slice(value);
        align4(st);
    }
    for c in &n.children {
        emit(c, st, strings);
    }
    st.extend_from_slice(&2u32.to_be_bytes());
}

/// Serialise `root` with the `/memreserve/` entries `rsv`; leaked so it lives for 'static.
fn fdt(root: &Node, rsv: &[(u64, u64)]) -> &'static [u8] {
    let mut st = Vec::new();
    let mut strings = Vec::new();
    emit(root, &mut st, &mut strings);
    st.extend_from_slice(&9u32.to_be_bytes());
    let mut mem = Vec::new();
    for &(a, sz) in rsv.iter().chain([(0, 0)].iter()) {
        mem.extend_from_slice(&a.to_be_bytes());
        mem.extend_from_slice(&sz.to_be_bytes());
    }
    let off_mem = 40u32;
    let off_struct = off_mem + mem.len() as u32;
    let off_strings = off_struct + st.len() as u32;
    let total = off_strings + strings.len() as u32;
    let mut b = Vec::new();
    for w in [
        FDT_MAGIC,
        total,
        off_struct,
        off_strings,
        off_mem,
        17,
        16,
        0,
        strings.len() as u32,
        st.len() as u32,
    ] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b.extend_from_slice(&mem);
    b.extend_from_slice(&st);
    b.extend_from_slice(&strings);
    Box::leak(b.into_boxed_slice())
}

fn cpu(n: u32, props: Vec<(&'static str, Vec<u8>)>) -> Node {
    let mut p = vec![("device_type", s("cpu")), ("reg", u32s(&[n]))];
    p.extend(props);
    node(["cpu@0", "cpu@1", "cpu@2", "cpu@3"][n as usize], p, vec![])
}

/// The shape of the Pi firmware's bcm2711-rpi-4-b.dtb (addresses, cells, ranges, aliases,
/// spin-table CPUs, the firmware's bootargs prefix), trimmed to what boot reads.
fn pi4_like() -> &'static [u8] {
    let cpus = (0..4)
        .map(|n| {
            cpu(
                n,
                vec![
                    ("compatible", s("arm,cortex-a72")),
                    ("enable-method", s("spin-table")),
                    ("cpu-release-addr", u32s(&[0, 0xd8 + 8 * n])),
                ],
            )
        })
        .collect();
    let root = node(
        "",
        vec![
            (
                "compatible",
                strs(&["raspberrypi,4-model-b", "brcm,bcm2711"]),
            ),
            ("model", s("Raspberry Pi 4 Model B Rev 1.4")),
            ("#address-cells", u32s(&[2])),
            ("#size-cells", u32s(&[1])),
        ],
        vec![
            node(
                "aliases",
                vec![
                    ("serial0", s("/soc/serial@7e215040")),
                    ("serial1", s("/soc/serial@7e201000")),
                ],
                vec![],
            ),
            node(
                "chosen",
                vec![
                    (
                        "bootargs",
                        s("coherent_pool=1M 8250.nr_uarts=1 console=ttyS0,115200 -- run=selftest"),
                    ),
                    ("stdout-path", s("serial1:115200n8")),
                ],
                vec![],
            ),
            node(
                "reserved-memory",
                vec![
                    ("#address-cells", u32s(&[2])),
                    ("#size-cells", u32s(&[1])),
                    ("ranges", vec![]),
                ],
                vec![
                    node(
                        "linux,cma",
                        vec![("size", u32s(&[0x400_0000])), ("reusable", vec![])],
                        vec![],
                    ),
                    node(
                        "nvram@0",
                        vec![("reg", u32s(&[0, 0x3b30_0000, 0x1000]))],
                        vec![],
                    ),
                ],
            ),
            node(
                "soc",
                vec![
                    ("compatible", s("simple-bus")),
                    ("#address-cells", u32s(&[1])),
                    ("#size-cells", u32s(&[1])),
                    (
                        "ranges",
                        u32s(&[
                            0x7e00_0000,
                            0,
                            0xfe00_0000,
                            0x180_0000, //
                            0x7c00_0000,
                            0,
                            0xfc00_0000,
                            0x200_0000, //
                            0x4000_0000,
                            0,
                            0xff80_0000,
                            0x80_0000,
                        ]),
                    ),
                ],
                vec![
                    node(
                        "nop:pcie@7d500000",
                        vec![("compatible", s("brcm,bcm2711-pcie"))],
                        vec![],
                    ),
                    node(
                        "serial@7e215040",
                        vec![
                            ("compatible", s("brcm,bcm2835-aux-uart")),
                            ("reg", u32s(&[0x7e21_5040, 0x40])),
                        ],
                        vec![],
                    ),
                    node(
                        "serial@7e201400",
                        vec![
                            ("compatible", strs(&["arm,pl011", "arm,primecell"])),
                            ("reg", u32s(&[0x7e20_1400, 0x200])),
                            ("status", s("disabled")),
                        ],
                        vec![],
                    ),
                    node(
                        "serial@7e201000",
                        vec![
                            ("compatible", strs(&["arm,pl011", "arm,primecell"])),
                            ("reg", u32s(&[0x7e20_1000, 0x200])),
                            ("status", s("okay")),
                        ],
                        vec![],
                    ),
                    node(
                        "interrupt-controller@40041000",
                        vec![
                            ("compatible", strs(&["arm,gic-400"])),
                            (
                                "reg",
                                u32s(&[
                                    0x4004_1000,
                                    0x1000,
                                    0x4004_2000,
                                    0x2000,
                                    0x4004_4000,
                                    0x2000,
                                    0x4004_6000,
                                    0x2000,
                                ]),
                            ),
                        ],
                        vec![],
                    ),
                ],
            ),
            node(
                "cpus",
                vec![("#address-cells", u32s(&[1])), ("#size-cells", u32s(&[0]))],
                cpus,
            ),
            node(
                "memory@0",
                vec![
                    ("device_type", s("memory")),
                    (
                        "reg",
                        u32s(&[0, 0, 0x3b40_0000, 0, 0x4000_0000, 0xbc00_0000]),
                    ),
                ],
                vec![],
            ),
        ],
    );
    fdt(&root, &[(0, 0x1000)])
}

/// A writable copy of `blob` with its NOPs stripped (what boot does before parsing).
fn stripped(blob: &[u8]) -> &'static [u8] {
    let b: &'static mut [u8] = Box::leak(blob.to_vec().into_boxed_slice());
    strip_nops(b).expect("strips");
    b
}

#[test]
fn pi4_tree_translates_soc_addresses_and_finds_the_spin_table() {
    let blob = stripped(pi4_like());
    let p = parse(blob, 0x2eff_0000).expect("parses");
    assert_eq!(
        p.source,
        Source::Dtb((0x2eff_0000, 0x2eff_0000 + blob.len() as u64))
    );
    assert_eq!(p.compatible, "raspberrypi,4-model-b");
    assert_eq!(p.model, "Raspberry Pi 4 Model B Rev 1.4");
    assert_eq!(
        p.memory.as_slice(),
        &[(0, 0x3b40_0000), (0x4000_0000, 0xfc00_0000)]
    );
    assert_eq!(
        p.reserved.as_slice(),
        &[
            (0, 0x1000),
            (0x2eff_0000, 0x2eff_0000 + blob.len() as u64),
            (0x3b30_0000, 0x3b30_1000)
        ],
        "memreserve, the DTB itself and reserved-memory with reg (not the reg-less CMA pool)"
    );
    assert_eq!(
        p.uart,
        Some(0xfe20_1000),
        "stdout-path alias, through /soc ranges"
    );
    assert_eq!(
        p.gic,
        Some(Gic {
            dist: 0xff84_1000,
            cpu: Some(0xff84_2000),
            version: 2
        })
    );
    assert_eq!(p.ncpus, 4);
    for (i, c) in p.cpus().iter().enumerate() {
        assert_eq!(c.mpidr, i as u64);
        assert_eq!(c.release, Release::SpinTable(0xd8 + 8 * i as u64));
    }
    assert_eq!(p.psci, None);
    assert_eq!(super::super::kernel_bootargs(p.bootargs), "run=selftest");
}

/// What QEMU virt generates (cells 2/2, devices at the root, PSCI CPUs).
fn virt_like(with_memory: bool) -> &'static [u8] {
    let cpus = (0..2)
        .map(|n| cpu(n, vec![("enable-method", s("psci"))]))
        .collect();
    let mut children = vec![
        node(
            "psci",
            vec![
                (
                    "compatible",
                    strs(&["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]),
                ),
                ("method", s("hvc")),
            ],
            vec![],
        ),
        node(
            "pl011@9000000",
            vec![
                ("compatible", strs(&["arm,pl011", "arm,primecell"])),
                ("reg", u32s(&[0, 0x0900_0000, 0, 0x1000])),
            ],
            vec![],
        ),
        node(
            "intc@8000000",
            vec![
                ("compatible", s("arm,cortex-a15-gic")),
                (
                    "reg",
                    u32s(&[0, 0x0800_0000, 0, 0x1_0000, 0, 0x0801_0000, 0, 0x1_0000]),
                ),
            ],
            vec![],
        ),
        node(
            "cpus",
            vec![("#address-cells", u32s(&[1])), ("#size-cells", u32s(&[0]))],
            cpus,
        ),
        node(
            "chosen",
            vec![
                ("bootargs", s("run=gup seed=3")),
                ("stdout-path", s("/pl011@9000000")),
            ],
            vec![],
        ),
    ];
    if with_memory {
        children.push(node(
            "memory@40000000",
            vec![
                ("device_type", s("memory")),
                ("reg", u32s(&[0, 0x4000_0000, 0, 0x2000_0000])),
            ],
            vec![],
        ));
    }
    let root = node(
        "",
        vec![
            ("compatible", s("linux,dummy-virt")),
            ("#address-cells", u32s(&[2])),
            ("#size-cells", u32s(&[2])),
        ],
        children,
    );
    fdt(&root, &[])
}

#[test]
fn virt_tree_has_psci_cpus_and_root_devices() {
    let p = parse(virt_like(true), 0x4000_0000).expect("parses");
    assert_eq!(p.compatible, "linux,dummy-virt");
    assert_eq!(p.memory.as_slice(), &[(0x4000_0000, 0x6000_0000)]);
    assert_eq!(p.uart, Some(0x0900_0000));
    assert_eq!(
        p.gic,
        Some(Gic {
            dist: 0x0800_0000,
            cpu: Some(0x0801_0000),
            version: 2
        })
    );
    assert_eq!(p.psci, Some(Conduit::Hvc));
    assert_eq!(p.ncpus, 2);
    assert!(p.cpus().iter().all(|c| c.release == Release::Psci));
    assert_eq!(p.bootargs, "run=gup seed=3");
}

#[test]
fn nop_nodes_are_stripped() {
    let raw = pi4_like();
    assert!(
        raw.windows(4).filter(|w| w == &[0, 0, 0, 4]).count() > 3,
        "the test tree carries NOPs"
    );
    // fdt 0.1.5 on the raw blob asserts ("bad node") when it skips /soc's children.
    let unstripped = std::panic::catch_unwind(|| parse(raw, 0).map(|p| p.uart));
    assert!(
        unstripped.is_err(),
        "the crate still trips on NOPs: strip_nops may go"
    );
    let b = stripped(raw);
    assert_eq!(b.len(), raw.len(), "blocks stay in place");
    assert!(be32(b, 36).unwrap() < be32(raw, 36).unwrap());
    assert_eq!(parse(b, 0).unwrap().uart, Some(0xfe20_1000));
    // Idempotent, and a clean tree is unchanged.
    let again = stripped(b);
    assert_eq!(again, b);
}

#[test]
fn strip_nops_refuses_malformed_headers() {
    let mut short = virt_like(true).to_vec();
    short.truncate(short.len() - 8);
    assert!(
        strip_nops(&mut short).is_err(),
        "totalsize beyond the buffer"
    );
    let mut bad_struct = virt_like(true).to_vec();
    bad_struct[36..40].copy_from_slice(&0x7fff_0000u32.to_be_bytes());
    assert!(
        strip_nops(&mut bad_struct).is_err(),
        "struct block beyond totalsize"
    );
    let mut bad_token = virt_like(true).to_vec();
    let off = be32(&bad_token, 8).unwrap() as usize;
    bad_token[off..off + 4].copy_from_slice(&7u32.to_be_bytes());
    assert!(strip_nops(&mut bad_token).is_err(), "unknown token");
}

#[test]
fn refuses_trees_without_memory_and_garbage() {
    assert!(matches!(
        parse(virt_like(false), 0x4000_0000),
        Err(DtbError::NoMemory)
    ));
    let junk: &'static [u8] = Box::leak(vec![0u8; 64].into_boxed_slice());
    assert!(matches!(parse(junk, 0), Err(DtbError::Bad(_))));
    assert_eq!(total_size(junk), None);
    assert_eq!(
        total_size(virt_like(true)),
        Some(virt_like(true).len()),
        "header totalsize"
    );
}

#[test]
fn spin_table_without_release_address_is_unknown() {
    let root = node(
        "",
        vec![("#address-cells", u32s(&[1])), ("#size-cells", u32s(&[1]))],
        vec![
            node(
                "cpus",
                vec![("#address-cells", u32s(&[1])), ("#size-cells", u32s(&[0]))],
                vec![
                    cpu(0, vec![("enable-method", s("spin-table"))]),
                    cpu(1, vec![("cpu-release-addr", u32s(&[0xe0]))]),
                    cpu(
                        2,
                        vec![
                            ("enable-method", s("spin-table")),
                            ("cpu-release-addr", u32s(&[0xe8])),
                        ],
                    ),
                ],
            ),
            node(
                "memory@0",
                vec![
                    ("device_type", s("memory")),
                    ("reg", u32s(&[0, 0x1000_0000])),
                ],
                vec![],
            ),
        ],
    );
    let p = parse(fdt(&root, &[]), 0).expect("parses");
    let rel: Vec<Release> = p.cpus().iter().map(|c| c.release).collect();
    assert_eq!(
        rel,
        [Release::Unknown, Release::Unknown, Release::SpinTable(0xe8)]
    );
}
