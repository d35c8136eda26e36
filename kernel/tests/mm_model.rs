//! Seeded randomized model-based test of the page allocator: alloc / free / get / split /
//! drain sequences on several simulated CPUs (interleaved on one thread, CPU ids as
//! parameters; plus a threaded variant) checked against a reference model: no frame lost or
//! owned twice, refcounts as the model says, compound metadata right, audits clean, and after
//! freeing everything and draining the per-CPU lists the buddy free counts per order equal the
//! initial ones.
//!
//! Size: `GUPBED_MODEL_OPS` (default 1_000_000 operations in total), seed: `GUPBED_MODEL_SEED`.
//! Page-table map/unmap is not modelled here (splits use `NoMappings`); the pgtable and GUP
//! tests cover mapped pages.
#![cfg(not(loom))]

use kernel::mm::compound::{compound_head, compound_order};
use kernel::mm::huge_memory::{split_huge_page, NoMappings};
use kernel::mm::knobs::{InitOrder, MmKnobs, PcpProtection, PcpReuse, TailClearOrder};
use kernel::mm::memmap::MemMap;
use kernel::mm::page::{Page, PageHead, PageTail};
use kernel::mm::page_ref::page_ref_count;
use kernel::mm::pcp::PcpConfig;
use kernel::mm::types::{__GFP_COMP, MAX_ORDER};
use kernel::mm::zone::Zone;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

const START_PFN: u64 = 1 << 20;
const FRAMES: usize = 4096;
const NCPUS: usize = 4;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, Debug)]
struct Block {
    pfn: u64,
    order: usize,
    compound: bool,
    refs: i32,
}

fn knobs_for(seed: u64) -> MmKnobs {
    MmKnobs {
        tail_clear: if seed & 1 != 0 {
            TailClearOrder::Release
        } else {
            TailClearOrder::Relaxed
        },
        init_order: if seed & 2 != 0 {
            InitOrder::W7
        } else {
            InitOrder::Linux
        },
        pcp: if seed & 4 != 0 {
            PcpProtection::SpinLock
        } else {
            PcpProtection::IrqOff
        },
        pcp_reuse: if seed & 8 != 0 {
            PcpReuse::SplitOnReuse
        } else {
            PcpReuse::SameOrderOnly
        },
        check_new_pages: true,
        poison: false,
    }
}

fn new_zone(k: MmKnobs) -> Zone {
    let z = Zone::new(
        MemMap::new_owned(START_PFN, FRAMES, false),
        NCPUS,
        PcpConfig {
            high: 1200,
            batch: 15,
        },
        k,
    );
    z.free_pfn_range(START_PFN, START_PFN + FRAMES as u64);
    z
}

struct Model<'z> {
    z: &'z Zone,
    owner: Vec<bool>,
    blocks: Vec<Block>,
    owned: usize,
    seed: u64,
    op: u64,
}

impl<'z> Model<'z> {
    fn fail(&self, what: &str) -> ! {
        panic!("mm_model seed={:#x} op={}: {what}", self.seed, self.op);
    }
    fn page(&self, pfn: u64) -> &'z Page {
        self.z.pfn_to_page(pfn)
    }
    fn take(&mut self, b: Block) {
        for i in 0..1u64 << b.order {
            let idx = (b.pfn + i - START_PFN) as usize;
            if self.owner[idx] {
                self.fail(&format!("frame {:#x} handed out twice", b.pfn + i));
            }
            self.owner[idx] = true;
        }
        self.owned += 1 << b.order;
    }
    fn release(&mut self, pfn: u64, order: usize) {
        for i in 0..1u64 << order {
            self.owner[(pfn + i - START_PFN) as usize] = false;
        }
        self.owned -= 1 << order;
    }
    fn check_block(&self, b: &Block) {
        let mm = self.z.mem_map();
        let h = self.page(b.pfn);
        if page_ref_count(h) != b.refs {
            self.fail(&format!(
                "refcount {} != model {} at {:#x}",
                page_ref_count(h),
                b.refs,
                b.pfn
            ));
        }
        if b.compound {
            if !PageHead(h) || compound_order(mm, h) != b.order {
                self.fail("compound head metadata wrong");
            }
            let n = 1u64 << b.order;
            for i in [1, n / 2, n - 1] {
                let t = self.page(b.pfn + i);
                if !PageTail(t) || !core::ptr::eq(compound_head(mm, t), h) {
                    self.fail(&format!("tail {i} does not point at its head"));
                }
            }
        } else if PageHead(h) || PageTail(h) {
            self.fail("non-compound page has compound state");
        }
    }

    fn alloc(&mut self, rng: &mut Rng, cpu: usize) {
        let order = [0, 0, 0, 0, 1, 1, 2, 3, 3, 9, 4, 0][rng.below(12) as usize];
        let order = if rng.below(200) == 0 {
            MAX_ORDER - 1
        } else {
            order
        };
        let compound = order > 0 && rng.below(3) != 0;
        let Some(p) = self
            .z
            .alloc_pages(cpu, order, if compound { __GFP_COMP } else { 0 })
        else {
            return;
        };
        let b = Block {
            pfn: self.z.page_to_pfn(p),
            order,
            compound,
            refs: 1,
        };
        if b.pfn & ((1 << order) - 1) != 0 {
            self.fail("block not naturally aligned");
        }
        self.take(b);
        self.check_block(&b);
        self.blocks.push(b);
    }

    fn free(&mut self, rng: &mut Rng, cpu: usize) {
        if self.blocks.is_empty() {
            return;
        }
        let i = rng.below(self.blocks.len() as u64) as usize;
        let b = self.blocks[i];
        self.check_block(&b);
        let sub = if b.compound {
            rng.below(1 << b.order)
        } else {
            0
        };
        if b.compound || b.order == 0 {
            self.z.put_page(cpu, self.page(b.pfn + sub));
        } else {
            self.z.__free_pages(cpu, self.page(b.pfn), b.order);
        }
        if b.refs > 1 {
            self.blocks[i].refs -= 1;
        } else {
            self.blocks.swap_remove(i);
            self.release(b.pfn, b.order);
        }
    }

    fn get(&mut self, rng: &mut Rng) {
        if self.blocks.is_empty() {
            return;
        }
        let i = rng.below(self.blocks.len() as u64) as usize;
        let b = self.blocks[i];
        if !b.compound && b.order > 0 {
            return; // extra refs on non-compound high-order blocks free their upper parts early
        }
        let sub = if b.compound {
            rng.below(1 << b.order)
        } else {
            0
        };
        self.z.get_page(self.page(b.pfn + sub));
        self.blocks[i].refs += 1;
        self.check_block(&self.blocks[i]);
    }

    fn split(&mut self, rng: &mut Rng, cpu: usize) {
        let Some(i) = self.blocks.iter().position(|b| b.compound && b.order >= 2) else {
            return;
        };
        let b = self.blocks[i];
        let k = rng.below(1 << b.order);
        let r = split_huge_page(self.z, cpu, self.page(b.pfn + k), &mut NoMappings);
        if b.refs > 1 {
            if r.is_ok() {
                self.fail("split succeeded with an extra reference");
            }
            return;
        }
        if r.is_err() {
            self.fail("split failed without extra references");
        }
        self.blocks.swap_remove(i);
        self.release(b.pfn, b.order);
        let nb = Block {
            pfn: b.pfn + k,
            order: 0,
            compound: false,
            refs: 1,
        };
        self.take(nb);
        self.check_block(&nb);
        self.blocks.push(nb);
    }

    fn audit(&self) {
        self.z.drain_all_pages();
        let r = self.z.audit();
        if r.frames_in_use != self.owned as u64 || r.frames_free != (FRAMES - self.owned) as u64 {
            self.fail(&format!("audit {r:?} vs model owned {}", self.owned));
        }
        if r.double_free != 0 || r.bad_state != 0 {
            self.fail(&format!(
                "audit found errors {r:?} first {:?}",
                self.z.stats().first()
            ));
        }
    }
}

fn run_one(seed: u64, ops: u64) {
    let k = knobs_for(seed);
    let z = new_zone(k);
    let initial = z.free_counts();
    let mut m = Model {
        z: &z,
        owner: vec![false; FRAMES],
        blocks: Vec::new(),
        owned: 0,
        seed,
        op: 0,
    };
    let mut rng = Rng(seed | 1);
    for op in 0..ops {
        m.op = op;
        let cpu = rng.below(NCPUS as u64) as usize;
        match rng.below(100) {
            0..=44 => m.alloc(&mut rng, cpu),
            45..=89 => m.free(&mut rng, cpu),
            90..=95 => m.get(&mut rng),
            96..=97 => m.split(&mut rng, cpu),
            98 => z.drain_local_pages(cpu),
            _ => {
                if let Some(b) = m.blocks.get(rng.below(m.blocks.len() as u64 + 1) as usize) {
                    m.check_block(b);
                }
            }
        }
        // Keep memory pressure moderate so allocations mostly succeed.
        if m.owned > FRAMES * 3 / 4 {
            m.free(&mut rng, cpu);
        }
        if op % 100_000 == 99_999 {
            m.audit();
        }
    }
    while !m.blocks.is_empty() {
        let cpu = rng.below(NCPUS as u64) as usize;
        m.free(&mut rng, cpu);
    }
    m.audit();
    assert_eq!(
        z.free_counts(),
        initial,
        "seed {seed:#x} ({k:?}): buddy did not merge back"
    );
    assert_eq!(z.stats().bad_state() + z.stats().double_free(), 0);
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_ops_against_reference_model() {
    let total = env_u64("GUPBED_MODEL_OPS", 1_000_000);
    let base = env_u64("GUPBED_MODEL_SEED", 0x9e37_79b9_7f4a_7c15);
    let runs = 16u64; // covers all 16 knob combinations
    let t0 = std::time::Instant::now();
    for r in 0..runs {
        let seed = base.wrapping_add(r.wrapping_mul(0x2545_f491_4f6c_dd1d)) & !0xf | r;
        eprintln!("mm_model: seed {seed:#x} knobs {:?}", knobs_for(seed));
        run_one(seed, total / runs);
    }
    eprintln!("mm_model: {total} operations in {:?}", t0.elapsed());
}

#[test]
fn threads_as_cpus_against_an_ownership_map() {
    let per_cpu = env_u64("GUPBED_MODEL_OPS", 1_000_000) / 20;
    for pcp in [PcpProtection::IrqOff, PcpProtection::SpinLock] {
        let k = MmKnobs {
            pcp,
            pcp_reuse: PcpReuse::SplitOnReuse,
            ..MmKnobs::default()
        };
        let z = new_zone(k);
        let initial = z.free_counts();
        let owner: Vec<AtomicU8> = (0..FRAMES).map(|_| AtomicU8::new(0)).collect();
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..NCPUS)
            .map(|_| std::sync::mpsc::channel::<(u64, usize)>())
            .unzip();
        let mut rxs: Vec<_> = rxs.into_iter().map(Some).collect();
        std::thread::scope(|s| {
            for cpu in 0..NCPUS {
                let (z, owner) = (&z, &owner);
                let to = txs[(cpu + 1) % NCPUS].clone();
                let from = rxs[cpu].take().unwrap();
                s.spawn(move || {
                    let mut rng = Rng(0x1234_5678 + cpu as u64);
                    let mut mine: Vec<(u64, usize)> = Vec::new();
                    let give_back = |pfn: u64, order: usize| {
                        for i in 0..1u64 << order {
                            assert_eq!(
                                owner[(pfn + i - START_PFN) as usize].swap(0, Relaxed),
                                1,
                                "frame not owned at free"
                            );
                        }
                        z.put_page(cpu, z.pfn_to_page(pfn));
                    };
                    for _ in 0..per_cpu {
                        match rng.below(10) {
                            0..=4 => {
                                let order = [0, 0, 1, 2, 3, 9][rng.below(6) as usize];
                                let gfp = if order > 0 { __GFP_COMP } else { 0 };
                                if let Some(p) = z.alloc_pages(cpu, order, gfp) {
                                    let pfn = z.page_to_pfn(p);
                                    for i in 0..1u64 << order {
                                        let was =
                                            owner[(pfn + i - START_PFN) as usize].swap(1, Relaxed);
                                        assert_eq!(was, 0, "frame {:#x} owned twice", pfn + i);
                                    }
                                    mine.push((pfn, order));
                                }
                            }
                            5..=6 if !mine.is_empty() => {
                                let i = rng.below(mine.len() as u64) as usize;
                                let (pfn, order) = mine.swap_remove(i);
                                give_back(pfn, order);
                            }
                            7..=8 if !mine.is_empty() => {
                                let i = rng.below(mine.len() as u64) as usize;
                                let _ = to.send(mine.swap_remove(i)); // cross-CPU free
                            }
                            _ => {}
                        }
                        while let Ok((pfn, order)) = from.try_recv() {
                            give_back(pfn, order);
                        }
                    }
                    for (pfn, order) in mine.drain(..) {
                        give_back(pfn, order);
                    }
                    drop(to);
                    for (pfn, order) in from.iter() {
                        give_back(pfn, order);
                    }
                });
            }
            drop(txs);
        });
        z.drain_all_pages();
        let r = z.audit();
        assert_eq!(
            (r.frames_free, r.frames_in_use, r.double_free, r.bad_state),
            (FRAMES as u64, 0, 0, 0),
            "{pcp:?}"
        );
        assert_eq!(z.free_counts(), initial, "{pcp:?}");
    }
}
