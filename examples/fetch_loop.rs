//! A fetch loop over flash and over SRAM, through an owner map and through
//! a cursor, side by side: how fast an interpreter fetches its code from
//! ROM (frozen memory) and from RAM on each handle. Prints millions of
//! fetches per second, two rounds.
//!
//! Run: `cargo run --release --features std --example fetch_loop`; count
//! one handle's instructions with `valgrind --tool=callgrind
//! target/release/examples/fetch_loop 1000000 owner flash` (`cursor`,
//! `sram`).

use std::time::Instant;
use vm_mem::{MemoryAccess, MemoryMap, OwnerMap, Perms, ShardedMemory};

/// Fetches `steps` words from a 4 KiB page at `base`, through `m`.
#[inline(never)]
fn run<M: MemoryAccess>(m: &mut M, base: u64, steps: u64) -> u64 {
    let mut pc = 0u64;
    let mut acc = 0u64;
    for _ in 0..steps {
        let insn = m.fetch_u32(base + pc).unwrap_or(0);
        acc = acc.wrapping_add(insn as u64);
        pc = (pc + 4) & 0xfff;
    }
    acc
}

fn main() {
    let flash = ShardedMemory::<1, 4096>::new();
    for i in 0..1024u32 {
        flash.write_u32(i as usize * 4, i).unwrap();
    }
    let rom = flash.freeze();
    let mut sram = ShardedMemory::<1, 4096>::new();
    let shared = ShardedMemory::<1, 4096>::new();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_rom("flash", 0, 4096, Perms::RX, &rom).unwrap();
    map.add_ram("sram", 0x1000, 4096, Perms::RWX, &shared)
        .unwrap();
    let owner: OwnerMap<'_, 4> = OwnerMap::new();
    owner.add_rom("flash", 0, 4096, Perms::RX, &rom).unwrap();
    owner
        .add_ram("sram", 0x1000, 4096, Perms::RWX, &mut sram)
        .unwrap();
    let mut owner = owner;
    let mut cpu = map.cpu();
    // Fetches per measurement (first argument; 50 million by default).
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000_000u64);
    // One handle and area only (`fetch_loop N owner flash`), to count its
    // instructions with callgrind; else both, side by side, in two rounds.
    let only: Vec<String> = std::env::args().skip(2).collect();
    if let [handle, area] = only.as_slice() {
        let base = if area == "flash" { 0 } else { 0x1000 };
        let sum = match handle.as_str() {
            "owner" => run(&mut owner, base, n),
            _ => run(&mut cpu, base, n),
        };
        println!("{handle} {area}: {n} fetches, sum {sum}");
        return;
    }
    for round in 0..2 {
        for (name, base) in [("flash", 0u64), ("sram", 0x1000)] {
            let t = Instant::now();
            let a = run(&mut owner, base, n);
            let to = t.elapsed();
            let t = Instant::now();
            let b = run(&mut cpu, base, n);
            let tc = t.elapsed();
            assert!(base != 0 || a == b);
            println!(
                "round {round} {name}: owner {:.1} M/s, cursor {:.1} M/s",
                n as f64 / to.as_secs_f64() / 1e6,
                n as f64 / tc.as_secs_f64() / 1e6
            );
        }
    }
}
