//! The locked slow path (`__get_user_pages` minus faulting): walk under the page-table lock,
//! where entries cannot change and a mapped page holds a stable reference, so the grab needs
//! no speculation and no recheck (`try_grab_page`, Jason's "fully locked" case, v6.10
//! `f442fa614137`). gupbed does not fault pages in: an unmapped address ends the walk.

use super::grab::{try_grab_page, Grabbed};
use super::window::{Fallback, Window};
use super::{GupCtx, FOLL_WRITE};
use crate::mm::pgtable::desc::{pmd_access_permitted, pte_access_permitted, Pmd, Pte};
use crate::mm::pgtable::mm::MmStruct;
use crate::mm::pgtable::table::{PAGE_SHIFT, PAGE_SIZE};
use crate::mm::pgtable::walk::walk_translate;

/// Take `nr_pages` pages from `start` with `mm.page_table_lock` held, appending to
/// `out[first..]`. Returns how many it took (stops at the first unmapped or refused page).
#[allow(clippy::too_many_arguments)]
pub fn get_user_pages_locked<'a, W: Window>(
    ctx: &GupCtx<'a>,
    mm: &MmStruct<'_>,
    start: u64,
    nr_pages: usize,
    flags: u32,
    out: &mut [Option<Grabbed<'a>>],
    first: usize,
    w: &mut W,
) -> usize {
    let write = flags & FOLL_WRITE != 0;
    let _ptl = mm.page_table_lock.lock();
    for k in 0..nr_pages {
        let va = start + k as u64 * PAGE_SIZE;
        w.fallback(Fallback::SlowPath);
        // SAFETY: tables are unlinked only under the page-table lock, which we hold.
        let Some(t) = (unsafe { walk_translate(mm.pgd, va) }) else {
            w.fallback(Fallback::SlowNone);
            return k;
        };
        let ok = match t.level {
            3 => pte_access_permitted(Pte(t.desc), write),
            2 => pmd_access_permitted(Pmd(t.desc), write),
            _ => false,
        };
        let pfn = t.pa >> PAGE_SHIFT;
        if !ok || !ctx.mem_map.pfn_valid(pfn) {
            w.fallback(Fallback::SlowNone);
            return k;
        }
        let page = ctx.mem_map.pfn_to_page(pfn);
        let Some(g) = try_grab_page(ctx, page, flags) else {
            w.fallback(Fallback::SlowNone);
            return k;
        };
        out[first + k] = Some(g);
    }
    nr_pages
}
