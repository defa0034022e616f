//! Host perf test (first version): shared-mode typed reads per width.
//! Run: `cargo run --release --features std --example read_perf_test`.

use std::hint::black_box;
use std::time::Instant;
use vm_mem::ShardedMemory;

const READS: usize = 16_384;

fn main() {
    let iters: usize = std::env::args()
        .skip_while(|a| a != "--iters")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mem = ShardedMemory::<64, 16384>::new_boxed();
    let addrs: Vec<usize> = (0..READS)
        .map(|i| (i * 4099 * 8) % (ShardedMemory::<64, 16384>::SIZE - 8))
        .collect();
    println!(
        "{:>9} | {:>9} | {:>7} | {:>9} | {:>7} | {:>7}",
        "Read Size", "Time (ms)", "ns/read", "MB/s", "ns/byte", "Speedup"
    );
    let mut base = 0.0;
    for size in [1usize, 2, 4, 8] {
        let t = Instant::now();
        for _ in 0..iters {
            for &a in &addrs {
                match size {
                    1 => {
                        black_box(mem.read_u8(black_box(a)).unwrap());
                    }
                    2 => {
                        black_box(mem.read_u16(black_box(a)).unwrap());
                    }
                    4 => {
                        black_box(mem.read_u32(black_box(a)).unwrap());
                    }
                    _ => {
                        black_box(mem.read_u64(black_box(a)).unwrap());
                    }
                }
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let reads = (iters * READS) as f64;
        let ns_read = secs * 1e9 / reads;
        let ns_byte = ns_read / size as f64;
        if size == 1 {
            base = ns_byte;
        }
        println!(
            "{:>9} | {:>9.2} | {:>7.2} | {:>9.1} | {:>7.3} | {:>6.2}x",
            format!("u{}", size * 8),
            secs * 1e3,
            ns_read,
            reads * size as f64 / secs / 1e6,
            ns_byte,
            base / ns_byte
        );
    }
}
