//! Critical sections, and locks taken and held inside one: what makes
//! vm-mem safe to use from an interrupt handler with feature
//! `critical-section` (the hazard, and what a handler may call, are in
//! `interrupt.rs`).
//!
//! A [`Section`] is a critical section held until it is dropped (an empty
//! value without the feature). A lock that code may hold while an interrupt
//! comes is taken inside one and keeps it until the lock is released
//! ([`Masked`]), and it is only ever *waited for* outside one: a failed
//! attempt leaves its section, spins, and tries again in a fresh one. That
//! wait loop exists once, here ([`lock_masked`], [`lock_in`]), for shard
//! locks (`shard/`) and a map table's writers' mutex (`map/table.rs`)
//! alike.
#![allow(unsafe_code)] // `critical_section::acquire`/`release`, argued below

use core::convert::Infallible;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

/// A critical section held from [`enter`](Section::enter) until drop
/// (feature `critical-section`); an empty no-op without the feature.
///
/// Not `Send` (a section belongs to the thread that entered it) and not
/// `Clone` (each is released exactly once, by its drop). Sections are
/// released in the reverse order they were entered because each lives in a
/// local of a crate function or in a guard that does ([`Masked`]), never in
/// a value that outlives the call that made it: [`Batch`](crate::Batch)
/// keeps only lock guards without a section, by type.
#[must_use = "the critical section ends when this is dropped"]
pub(crate) struct Section {
    #[cfg(feature = "critical-section")]
    state: critical_section::RestoreState,
    /// Keeps the section on its thread: `!Send`, `!Sync`.
    _not_send: PhantomData<*mut ()>,
}

impl Section {
    /// Enters a critical section (nested ones are cheap: the implementation
    /// sees interrupts already masked).
    #[inline(always)]
    pub(crate) fn enter() -> Self {
        Section {
            // SAFETY: the `RestoreState` is released exactly once, by
            // `Drop`, on this thread (`Section` is neither `Send` nor `Clone`,
            // and only `Drop` reads `state`). Nesting: every `Section` is a
            // local of the crate function that entered it, or a field of a
            // guard returned to one (`Masked`) that keeps it in a local
            // until the function returns; locals are dropped in reverse order,
            // also when unwinding, so sections end in reverse order of entry.
            // The one place that ends a section early, `Masked::into_unmasked`,
            // ends the innermost one (nothing is entered between the lock
            // attempt that made it and the call).
            #[cfg(feature = "critical-section")]
            state: unsafe { critical_section::acquire() },
            _not_send: PhantomData,
        }
    }
}

impl Drop for Section {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: `state` came from this section's own `acquire` (in
        // `enter`), on this thread, and this is its one release; see `enter`
        // for why sections end in reverse order of entry.
        #[cfg(feature = "critical-section")]
        unsafe {
            critical_section::release(self.state)
        };
    }
}

/// A lock guard with the [`Section`] it was taken in, held until the guard
/// is dropped: the `guard` field is declared first, so the lock is released
/// before the section ends.
#[must_use = "the lock is released when this is dropped"]
pub(crate) struct Masked<G> {
    guard: G,
    section: Section,
}

impl<G> Masked<G> {
    /// The bare guard, its section ended: for a [`Batch`](crate::Batch),
    /// which keeps a guard across its caller's code (so it cannot keep
    /// interrupts masked; see its docs). Ends the innermost section: nothing
    /// was entered since this guard's lock attempt.
    #[inline]
    pub(crate) fn into_unmasked(self) -> G {
        self.guard
    }

    /// The guard turned into another (two guards joined into one value),
    /// its section kept.
    #[inline(always)]
    pub(crate) fn map<H>(self, f: impl FnOnce(G) -> H) -> Masked<H> {
        Masked {
            guard: f(self.guard),
            section: self.section,
        }
    }

    /// The guard and its section apart, for a caller that disposes of the
    /// guard (leaks it) and goes on in the section. The section is the
    /// caller's innermost one, so it must stay in a local of the caller.
    #[inline]
    pub(crate) fn into_parts(self) -> (G, Section) {
        (self.guard, self.section)
    }
}

impl<G> Deref for Masked<G> {
    type Target = G;
    #[inline(always)]
    fn deref(&self) -> &G {
        &self.guard
    }
}

impl<G> DerefMut for Masked<G> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut G {
        &mut self.guard
    }
}

/// The one wait loop: tries `try_lock` inside `section`; after a failed
/// attempt it leaves the section, gives up (`Err`) if `give_up()` says so,
/// lets others run for a moment and tries again in a fresh section. The
/// lock comes back with the section its successful attempt ran in.
#[inline(always)]
fn wait<G, E>(
    mut section: Section,
    try_lock: impl Fn() -> Option<G>,
    give_up: impl Fn() -> Option<E>,
) -> Result<Masked<G>, E> {
    loop {
        if let Some(guard) = try_lock() {
            return Ok(Masked { guard, section });
        }
        drop(section);
        if let Some(e) = give_up() {
            return Err(e);
        }
        core::hint::spin_loop();
        section = Section::enter();
    }
}

/// Takes a lock with `try_lock`, each attempt in a fresh [`Section`] that
/// the result keeps; between attempts it waits outside any section, and
/// gives up (`None`) as soon as `give_up()`. Checked before the first
/// attempt too, so once freezing begins no new write gets in and `freeze`
/// never waits on a stream of writers.
#[inline(always)]
pub(crate) fn lock_masked<G>(
    try_lock: impl Fn() -> Option<G>,
    give_up: impl Fn() -> bool,
) -> Option<Masked<G>> {
    if give_up() {
        return None;
    }
    wait(Section::enter(), try_lock, || give_up().then_some(())).ok()
}

/// Takes a lock with `try_lock`, first inside `section` (a fresh one, or the
/// caller's innermost), waiting as [`lock_masked`] does but never giving
/// up (so no panic path either: the error type has no values).
#[inline(always)]
pub(crate) fn lock_in<G>(section: Section, try_lock: impl Fn() -> Option<G>) -> Masked<G> {
    let Ok(locked) = wait(section, try_lock, || None::<Infallible>);
    locked
}

/// Takes two locks (shard `i`, then `i + 1`) as one guard, or `None` as
/// soon as `give_up()`. Without interrupt masking: the first, then the
/// second (ascending, so two pairs never deadlock). With feature
/// `critical-section`: both or neither in one attempt, because waiting for
/// the second inside the first's section could deadlock a multi-core
/// section (another core's batch holding the second needs the section to
/// store).
#[inline]
pub(crate) fn lock_pair<A, B>(
    try_a: impl Fn() -> Option<A>,
    try_b: impl Fn() -> Option<B>,
    give_up: impl Fn() -> bool,
) -> Option<Masked<(A, B)>> {
    #[cfg(not(feature = "critical-section"))]
    {
        let a = lock_masked(&try_a, &give_up)?;
        let b = lock_masked(&try_b, &give_up)?;
        // Sections are empty without the feature: re-pairing them is free.
        Some(Masked {
            guard: (a.into_unmasked(), b.into_unmasked()),
            section: Section::enter(),
        })
    }
    #[cfg(feature = "critical-section")]
    {
        // On failure the first guard is dropped inside the attempt's section.
        lock_masked(|| Some((try_a()?, try_b()?)), give_up)
    }
}
