//! A tiny instruction-set simulator, generic over the memory it runs on:
//! the [`Bus`] it needs (fetch, load, store 32-bit words), the plain
//! `Vec<u8>` baseline [`VecBus`], and the toy ISA with two programs in
//! [`iss`]. Used by the criterion `iss` bench, the perf test (through
//! `common`) and the callgrind harness (`examples/callgrind_iss.rs`, which
//! includes this file alone, so it depends on vm-mem and nothing else).

use vm_mem::{Access, ErrorKind, MemoryAccess, VmError};
/// What the simulator needs from memory: fetch, load and store 32-bit words.
/// Every vm-mem `MemoryAccess` kind has it, and so does a plain `Vec<u8>`.
pub trait Bus {
    /// Fetches the instruction word at `pc`.
    fn fetch(&self, pc: u64) -> Result<u32, VmError>;
    /// Loads a data word.
    fn load(&self, addr: u64) -> Result<u32, VmError>;
    /// Stores a data word.
    fn store(&mut self, addr: u64, v: u32) -> Result<(), VmError>;
}

impl<M: MemoryAccess> Bus for M {
    #[inline(always)]
    fn fetch(&self, pc: u64) -> Result<u32, VmError> {
        self.fetch_u32(pc)
    }
    #[inline(always)]
    fn load(&self, addr: u64) -> Result<u32, VmError> {
        self.read_u32(addr)
    }
    #[inline(always)]
    fn store(&mut self, addr: u64, v: u32) -> Result<(), VmError> {
        self.write_u32(addr, v)
    }
}

/// The simulator's plain-memory baseline: a `Vec<u8>`, bounds-checked.
pub struct VecBus(pub Vec<u8>);

impl VecBus {
    /// The error a plain vector reports: out of bounds at `addr`.
    #[cold]
    fn oob(&self, access: Access, addr: u64) -> VmError {
        let limit = self.0.len() as u64;
        VmError::new(ErrorKind::OutOfBounds { limit }, access, addr, 4)
    }

    /// The four bytes at `addr`, if they are all inside the vector: one
    /// overflow check and one length compare, as an emulator would write it.
    #[inline(always)]
    fn word(addr: u64) -> Option<core::ops::Range<usize>> {
        let a = usize::try_from(addr).ok()?;
        Some(a..a.checked_add(4)?)
    }
}

impl Bus for VecBus {
    #[inline(always)]
    fn fetch(&self, pc: u64) -> Result<u32, VmError> {
        self.load(pc)
    }
    #[inline(always)]
    fn load(&self, addr: u64) -> Result<u32, VmError> {
        match Self::word(addr).and_then(|r| self.0.get(r)?.try_into().ok()) {
            Some(b) => Ok(u32::from_le_bytes(b)),
            None => Err(self.oob(Access::Read, addr)),
        }
    }
    #[inline(always)]
    fn store(&mut self, addr: u64, v: u32) -> Result<(), VmError> {
        match Self::word(addr).and_then(|r| self.0.get_mut(r)) {
            Some(d) => {
                d.copy_from_slice(&v.to_le_bytes());
                Ok(())
            }
            None => Err(self.oob(Access::Write, addr)),
        }
    }
}

/// The toy ISA: 32-bit words `op:8 | rd:4 | ra:4 | imm:16` (or `rb` in the
/// low 4 bits), eight 32-bit registers, `r0` reads as 0.
pub mod iss {
    use super::{Bus, VmError};

    /// `rd = imm`.
    const LI: u8 = 1;
    /// `rd = [ra + imm]`, a 32-bit load.
    const LD: u8 = 2;
    /// `[ra + imm] = rd`, a 32-bit store.
    const ST: u8 = 3;
    /// `rd = ra + r(imm & 7)`.
    const ADD: u8 = 4;
    /// `rd = ra + sign_extend(imm)`.
    const ADDI: u8 = 5;
    /// `if rd != ra { pc += sign_extend(imm) }` (relative to the next instruction).
    const BNE: u8 = 6;
    /// Stops the program.
    const HALT: u8 = 7;

    /// Where the program, its input array and its output array live: three
    /// different shards.
    pub const CODE: u64 = 0x0100;
    /// The input array.
    const INPUT: u32 = 0x4000;
    /// The output array.
    const OUTPUT: u32 = 0x8000;
    /// Words in each array.
    const WORDS: u32 = 256;

    /// Encodes one instruction.
    const fn enc(op: u8, rd: u8, ra: u8, imm: u16) -> u32 {
        (op as u32) << 24 | (rd as u32) << 20 | (ra as u32) << 16 | imm as u32
    }

    /// A program for the simulator: its name, code and how many
    /// instructions one run executes.
    pub struct Program {
        /// What it does, as the tables name it.
        pub name: &'static str,
        /// The code, loaded at [`CODE`].
        pub code: &'static [u32],
        /// Instructions one run executes, `HALT` included.
        pub steps: u64,
    }

    /// Fetch and load only: sums the `WORDS` input words, five instructions
    /// (one load) per element, and stores the sum once at the end. What a
    /// read-mostly guest loop costs (issue 9's simulator target).
    pub const CHECKSUM: Program = Program {
        name: "checksum (fetch + load)",
        code: &[
            enc(LI, 1, 0, INPUT as u16),                      // r1 = input
            enc(LI, 2, 0, WORDS as u16),                      // r2 = count
            enc(LI, 3, 0, 0),                                 // r3 = sum
            enc(LD, 4, 1, 0),                                 // loop: r4 = [r1]
            enc(ADD, 3, 3, 4),                                // r3 += r4
            enc(ADDI, 1, 1, 4),                               // r1 += 4
            enc(ADDI, 2, 2, 0xffff),                          // r2 -= 1
            enc(BNE, 2, 0, (-5i16 * 4) as u16),               // if r2 != 0 goto loop
            enc(ST, 3, 0, (OUTPUT + 4 * (WORDS - 1)) as u16), // [last output] = r3
            enc(HALT, 0, 0, 0),
        ],
        steps: 3 + 5 * WORDS as u64 + 2,
    };

    /// Fetch, load and store: prefix sums of the input words into the
    /// output array, six instructions (one load, one store) per element.
    pub const PREFIX_SUMS: Program = Program {
        name: "prefix sums (fetch + load + store)",
        code: &PROGRAM,
        steps: 3 + 6 * WORDS as u64 + 1,
    };

    /// The code of [`PREFIX_SUMS`].
    const PROGRAM: [u32; 10] = [
        enc(LI, 1, 0, INPUT as u16),            // r1 = input
        enc(LI, 2, 0, WORDS as u16),            // r2 = count
        enc(LI, 3, 0, 0),                       // r3 = sum
        enc(LD, 4, 1, 0),                       // loop: r4 = [r1]
        enc(ADD, 3, 3, 4),                      // r3 += r4
        enc(ST, 3, 1, (OUTPUT - INPUT) as u16), // [r1 + out - in] = r3
        enc(ADDI, 1, 1, 4),                     // r1 += 4
        enc(ADDI, 2, 2, 0xffff),                // r2 -= 1
        enc(BNE, 2, 0, (-6i16 * 4) as u16),     // if r2 != 0 goto loop
        enc(HALT, 0, 0, 0),
    ];

    /// Writes `program` and its input into `bus`.
    pub fn load(bus: &mut impl Bus, program: &Program) -> Result<(), VmError> {
        for (i, w) in program.code.iter().enumerate() {
            bus.store(CODE + 4 * i as u64, *w)?;
        }
        for i in 0..WORDS {
            bus.store(u64::from(INPUT + 4 * i), i)?;
        }
        Ok(())
    }

    /// What both programs leave in the last output word:
    /// `0 + 1 + ... + (WORDS - 1)`.
    pub const TOTAL: u32 = WORDS * (WORDS - 1) / 2;

    /// The last output word (after a run of either program, [`TOTAL`]).
    pub fn result(bus: &impl Bus) -> Result<u32, VmError> {
        bus.load(u64::from(OUTPUT + 4 * (WORDS - 1)))
    }

    /// Runs the program from [`CODE`] to `HALT`; returns the number of
    /// instructions executed.
    #[inline(never)]
    pub fn run(bus: &mut impl Bus) -> Result<u64, VmError> {
        let mut r = [0u32; 8];
        let mut pc = CODE;
        let mut steps = 0;
        loop {
            let w = bus.fetch(pc)?;
            steps += 1;
            let (op, rd, ra) = (
                (w >> 24) as u8,
                (w >> 20) as usize & 7,
                (w >> 16) as usize & 7,
            );
            let imm = w as u16;
            let a = r[ra];
            pc += 4;
            match op {
                LI => r[rd] = u32::from(imm),
                LD => r[rd] = bus.load(u64::from(a.wrapping_add(u32::from(imm))))?,
                ST => bus.store(u64::from(a.wrapping_add(u32::from(imm))), r[rd])?,
                ADD => r[rd] = a.wrapping_add(r[usize::from(imm) & 7]),
                ADDI => r[rd] = a.wrapping_add(imm as i16 as u32),
                BNE => {
                    if r[rd] != a {
                        pc = pc.wrapping_add_signed(i64::from(imm as i16));
                    }
                }
                _ => return Ok(steps),
            }
            r[0] = 0;
        }
    }
}
