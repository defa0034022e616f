//! Picks the QEMU board for the target: its `memory.x` (put on the linker's
//! search path, where cortex-m-rt's `link.x` includes it) and a `board` cfg
//! the firmware uses to size its memories for the board's RAM.

use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let board = match target.as_str() {
        "thumbv6m-none-eabi" => "microbit",
        "thumbv7m-none-eabi" => "lm3s6965evb",
        t if t.starts_with("thumbv7em-none-eabi") => "mps2_an386",
        _ => "none",
    };
    println!(
        "cargo::rustc-check-cfg=cfg(board, values(\"microbit\", \"lm3s6965evb\", \"mps2_an386\", \"none\"))"
    );
    println!("cargo::rustc-cfg=board=\"{board}\"");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    if board != "none" {
        let src = format!("memory/{board}.x");
        fs::copy(&src, out.join("memory.x")).expect("copy memory.x");
        println!("cargo::rerun-if-changed={src}");
    }
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rerun-if-changed=build.rs");
}
