//! The x86-64 backend on small programs, its listing, and W^X.
#![cfg(target_arch = "x86_64")]

use vmlab_isa::Reg;
use vmlab_machine::{Engine, Exit, Machine, MachineConfig};
use vmlab_translate::{Backend, BtEngine, CalloutKind, JitEngine, NativeCpu, X86Backend};

/// The x86-64 backend generating host code for every block at once.
fn eager() -> X86Backend {
    let mut b = X86Backend::new();
    b.set_eager(true);
    b
}

fn machine(src: &str) -> Machine {
    let image = vmlab_asm::assemble_str(src).unwrap();
    Machine::bare_metal(&image, MachineConfig::default()).unwrap()
}

const LOOP: &str = "_start: li a0, 0\n li a1, 100\nloop: addi a0, a0, 3\n addi a1, a1, -1\n bne a1, zero, loop\n halt\n";

/// A loop of two blocks: the jump and the back edge chain one to the other.
const TWO_BLOCK_LOOP: &str = "_start: li a0, 0\n li a1, 100\nloop: addi a0, a0, 3\n j 1f\n1: addi a1, a1, -1\n bne a1, zero, loop\n halt\n";

#[test]
fn runs_a_loop_natively_and_chains() {
    let mut m = machine(TWO_BLOCK_LOOP);
    let mut bt = BtEngine::new(eager(), NativeCpu);
    let exit = bt.run(&mut m, 100_000);
    assert_eq!(
        exit,
        Exit::Callout {
            id: CalloutKind::Halt as u32
        }
    );
    assert_eq!(m.reg(Reg::A0), 300);
    assert_eq!(m.instret(), 2 + 400);
    // 200 transfers between the two blocks, nearly all through links in
    // host code: the engine saw only the first few, and so did Rust (this
    // backend counts the transfers that went through it).
    let c = bt.counters();
    assert!(c.chain_patches >= 2, "{c:?}");
    assert!(c.cache_hits < 10, "{c:?}");
    let s = bt.backend_stats();
    assert!(s.chained_transfers < 10, "{s:?}");
}

#[test]
fn jit_engine_matches_the_interpreter_on_a_loop() {
    let mut a = machine(LOOP);
    let ea = a.run(100_000);
    let mut b = machine(LOOP);
    let mut jit = JitEngine::new();
    let eb = jit.run(&mut b, 100_000);
    assert_eq!(ea, eb);
    assert_eq!(a.cpu_state(), b.cpu_state());
}

/// A program whose kernel code has callouts (`csrw tvec` is inline,
/// `csrw status` and `out` call out) and an interrupt-free run to `halt`.
const CALLOUTS: &str = "_start: li a0, 0\n csrw tvec, a0\n csrr a1, status\n csrw status, a1\n li t0, 0x100\n li a0, 65\n outb a0, 0(t0)\n addi a2, a2, 1\n halt\n";

#[test]
fn jit_engine_counts_exits_as_the_interpreter_does_in_either_translation() {
    // Callouts are resolved inside one run: no extra exit, no extra world
    // switch; direct execution (what guest mode needs) gives the same.
    let mut a = machine(CALLOUTS);
    let ea = a.run(10_000);
    for direct in [false, true] {
        let mut b = machine(CALLOUTS);
        let mut jit = JitEngine::new();
        jit.set_direct_execution(direct);
        let eb = jit.run(&mut b, 10_000);
        assert_eq!(ea, eb, "direct {direct}");
        assert_eq!(a.cpu_state(), b.cpu_state(), "direct {direct}");
        assert_eq!(a.counters().exits, b.counters().exits, "direct {direct}");
        assert_eq!(a.counters().emulated, b.counters().emulated);
        let callouts = jit.bt().counters().callouts_total();
        assert_eq!(callouts == 0, direct, "{callouts} callouts");
    }
}

#[test]
fn direct_stores_still_stop_at_protected_pages_and_code() {
    // Paging off: stores in the identity window write RAM directly unless
    // the frame is write-protected or holds cached code.
    let src = "_start: la t0, x\n li t1, 7\n sw t1, 0(t0)\n sw t1, 4(t0)\n la t0, patch\n li t1, 0\n sw t1, 0(t0)\npatch: addi a0, a0, 1\n halt\n.org 0x3000\nx: .word 0, 0\n";
    for protect in [false, true] {
        let mut a = machine(src);
        let mut b = machine(src);
        for m in [&mut a, &mut b] {
            m.protect_page(vmlab_machine::HostPhys::from_page(3), protect);
        }
        let ea = a.run(10_000);
        let eb = JitEngine::new().run(&mut b, 10_000);
        assert_eq!(ea, eb, "protect {protect}");
        assert_eq!(
            matches!(eb, Exit::ProtectedWrite { .. }),
            protect,
            "protect {protect}: {eb:?}"
        );
        assert_eq!(a.cpu_state(), b.cpu_state(), "protect {protect}");
        assert_eq!(a.counters(), b.counters(), "protect {protect}");
        let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
        a.read_phys(vmlab_machine::HostPhys(0x3000), &mut x)
            .unwrap();
        b.read_phys(vmlab_machine::HostPhys(0x3000), &mut y)
            .unwrap();
        assert_eq!(x, y);
    }
}

#[test]
fn listing_shows_host_code_beside_guest_code() {
    let mut m = machine(LOOP);
    let mut bt = BtEngine::new(eager(), NativeCpu);
    bt.run(&mut m, 100_000);
    let all: Vec<String> = (0..4).flat_map(|i| bt.backend().listing(i)).collect();
    let text = all.join("\n");
    assert!(text.contains("chain point"), "{text}");
    assert!(text.contains(";; 0x"), "{text}");
    // Loads and stores show their callbacks into Rust.
    let mut m = machine(
        "_start: la t0, x\n lw t1, 0(t0)\n sw t1, 4(t0)\n j end\nend: halt\nx: .word 7, 0\n",
    );
    let mut bt = BtEngine::new(eager(), NativeCpu);
    bt.run(&mut m, 1_000);
    let text = bt.backend().listing(0).join("\n");
    assert!(text.contains("<- callout: store"), "{text}");
    assert!(text.contains("<- callout: load"), "{text}");
    assert!(text.contains("lw t1, 0(t0)"), "{text}");
}

/// The mappings of /proc/self/maps: (start, end, permissions).
fn maps() -> Vec<(u64, u64, String)> {
    let text = std::fs::read_to_string("/proc/self/maps").unwrap();
    text.lines()
        .map(|l| {
            let mut it = l.split_whitespace();
            let range = it.next().unwrap();
            let perms = it.next().unwrap().to_string();
            let (a, b) = range.split_once('-').unwrap();
            (
                u64::from_str_radix(a, 16).unwrap(),
                u64::from_str_radix(b, 16).unwrap(),
                perms,
            )
        })
        .collect()
}

/// Every mapping holding generated code is read+execute, not writable, and
/// no mapping of the process is writable and executable at once.
fn assert_w_xor_x(b: &X86Backend) {
    let maps = maps();
    for (s, e, p) in &maps {
        assert!(
            !(p.contains('w') && p.contains('x')),
            "{s:#x}-{e:#x} is {p}"
        );
    }
    let ranges = b.code_ranges();
    assert!(ranges.len() > 1);
    for (lo, hi) in ranges {
        let m = maps
            .iter()
            .find(|(s, e, _)| *s <= lo && hi <= *e)
            .unwrap_or_else(|| panic!("no mapping holds {lo:#x}"));
        assert!(m.2.starts_with("r-x"), "code at {lo:#x} is mapped {}", m.2);
    }
}

#[test]
fn generated_code_is_never_writable_and_executable() {
    let mut m = machine(LOOP);
    let mut bt = BtEngine::new(eager(), NativeCpu);
    // After compiling the first blocks (the run stops before the loop's
    // second iteration, before any chain is patched).
    bt.run(&mut m, 5);
    assert_w_xor_x(bt.backend());
    assert_eq!(bt.backend_stats().chain_patches, 0);
    // After chain patches (links live in ordinary data memory).
    bt.run(&mut m, 100_000);
    assert!(bt.backend_stats().chain_patches > 0);
    assert_w_xor_x(bt.backend());
}

/// Self-modifying code: a store rewrites an instruction of the running
/// loop; the jit sees the new instruction exactly when the interpreter does.
#[test]
fn self_modifying_code_matches_the_interpreter() {
    let src = "_start: li a0, 0\n li a1, 4\n la t0, patch\n lw t1, 0(t0)\n la t2, target\nloop: \
               addi a1, a1, -1\ntarget: addi a0, a0, 1\n sw t1, 0(t2)\n bne a1, zero, loop\n halt\n\
               patch: addi a0, a0, 100\n";
    let mut a = machine(src);
    let ea = a.run(10_000);
    let mut b = machine(src);
    let mut jit = JitEngine::new();
    let eb = jit.run(&mut b, 10_000);
    assert_eq!(ea, eb);
    assert_eq!(a.cpu_state(), b.cpu_state());
    assert_eq!(a.reg(Reg::A0), 1 + 3 * 100);
}

/// A run's budget ends exactly where the interpreter's does, whatever the
/// budget (the block-head check leaves partial blocks to the portable
/// backend).
#[test]
fn budgets_end_at_the_same_instruction() {
    for budget in 1..40 {
        let mut a = machine(LOOP);
        let ea = a.run(budget);
        let mut b = machine(LOOP);
        let mut jit = JitEngine::new();
        let eb = jit.run(&mut b, budget);
        assert_eq!(ea, eb, "budget {budget}");
        assert_eq!(a.cpu_state(), b.cpu_state(), "budget {budget}");
    }
}

/// Prints the listing of the loop block (`cargo test -p vmlab-translate
/// --test x86_backend print_listing -- --ignored --nocapture`; the excerpt
/// in docs/translation.md comes from here).
#[test]
#[ignore]
fn print_listing() {
    let mut m = machine(LOOP);
    let mut bt = BtEngine::new(eager(), NativeCpu);
    bt.run(&mut m, 100_000);
    for i in 0..3 {
        for l in bt.backend().listing(i) {
            println!("{l}");
        }
    }
}

/// The bare-metal compute kernels (the speed report's) give the same
/// console output, state and guest-visible counters under the jit as under
/// the interpreter.
#[test]
fn bare_kernels_match_the_interpreter() {
    use vmlab_machine::devices::Console;
    for k in vmlab_guest::bare::kernels() {
        let image = k.image_with(k.default_n, 1);
        let mut a = Machine::bare_metal(&image, MachineConfig::default()).unwrap();
        let ea = a.run(1 << 40);
        let mut b = Machine::bare_metal(&image, MachineConfig::default()).unwrap();
        let mut jit = JitEngine::new();
        let eb = jit.run(&mut b, 1 << 40);
        assert_eq!(ea, Exit::Shutdown { code: 0 }, "{}", k.name);
        assert_eq!(ea, eb, "{}", k.name);
        assert_eq!(a.cpu_state(), b.cpu_state(), "{}", k.name);
        let out = |m: &Machine| m.bus().get::<Console>().unwrap().output().to_vec();
        assert_eq!(out(&a), out(&b), "{}", k.name);
        assert_eq!(
            String::from_utf8_lossy(&out(&b)),
            k.expected_output(k.default_n, 1),
            "{}",
            k.name
        );
        let (ca, cb) = (a.counters(), b.counters());
        assert_eq!(ca.retired, cb.retired, "{}", k.name);
        assert_eq!(ca.traps, cb.traps, "{}", k.name);
        assert_eq!(ca.interrupts, cb.interrupts, "{}", k.name);
        assert_eq!((ca.tlb_hits, ca.tlb_misses), (cb.tlb_hits, cb.tlb_misses));
        assert_eq!(ca.port_accesses, cb.port_accesses, "{}", k.name);
        assert!(jit.bt().backend().native_blocks() > 0);
    }
}

/// On x86-64 `--engine jit` is the x86-64 backend, with no fallback notice.
#[test]
fn jit_engine_uses_the_x86_backend_here() {
    let mut notes = Vec::new();
    let e = vmlab_translate::jit_engine(&mut |s| notes.push(s.to_string()));
    assert!(notes.is_empty(), "{notes:?}");
    const { assert!(vmlab_translate::JIT_AVAILABLE) };
    assert_eq!(e.backend_name(), "x86-64");
    assert_eq!(vmlab_translate::jit_engine_for_bare_machine().name(), "jit");
}

/// Runs `src` on the interpreter and on the jit with host code for every
/// block, and checks they end the same way in the same state (RAM included).
fn same_as_interpreter(src: &str) {
    let mut a = machine(src);
    let ea = a.run(100_000);
    let mut b = machine(src);
    let mut jit = JitEngine::new();
    jit.set_eager(true);
    let eb = jit.run(&mut b, 100_000);
    assert_eq!(ea, eb, "{src}");
    assert_eq!(a.cpu_state(), b.cpu_state(), "{src}");
    assert_eq!(a.counters().traps, b.counters().traps, "{src}");
    let (mut x, mut y) = (vec![0; 0x10000], vec![0; 0x10000]);
    a.read_phys(vmlab_machine::HostPhys(0), &mut x).unwrap();
    b.read_phys(vmlab_machine::HostPhys(0), &mut y).unwrap();
    assert!(x == y, "RAM differs: {src}");
    assert!(jit.bt().backend().native_blocks() > 0);
}

/// Runs of word loads or stores off one register are checked once as a
/// group: every way that check can fail runs the ops one by one with the
/// same outcome as the interpreter.
#[test]
fn grouped_loads_and_stores_match_the_interpreter() {
    // The code under test is a block of its own (no system instruction in
    // it), so it runs as host code.
    let setup =
        "_start: la t0, fault\n csrw tvec, t0\n li t0, 11\n li t1, 22\n li a0, 33\n j body\nbody: ";
    let end = "done: halt\nfault: csrr a3, cause\n csrr a4, epc\n halt\n";
    let cases = [
        // In one page: the fast path.
        "li sp, 0x8100\n sw t0, 0(sp)\n sw t1, 4(sp)\n sw a0, 8(sp)\n lw s0, 0(sp)\n lw s1, 4(sp)\n lw a1, 8(sp)\n j done\n",
        // Across a page boundary.
        "li sp, 0x8ffc\n sw t0, 0(sp)\n sw t1, 4(sp)\n sw a0, 8(sp)\n lw s0, 0(sp)\n lw s1, 4(sp)\n lw a1, 8(sp)\n j done\n",
        // Misaligned: the first store faults.
        "li sp, 0x8102\n sw t0, 0(sp)\n sw t1, 4(sp)\n j done\n",
        // Negative offsets.
        "li sp, 0x8200\n sw t0, -8(sp)\n sw t1, -4(sp)\n lw s0, -8(sp)\n lw s1, -4(sp)\n j done\n",
        // Past the end of RAM: the second load (store) faults.
        "li sp, 0xfffffc\n lw s0, 0(sp)\n lw s1, 4(sp)\n j done\n",
        "li sp, 0xfffffc\n sw t0, 0(sp)\n sw t1, 4(sp)\n j done\n",
        // Into code that runs next: the stores overwrite two instructions
        // of the following block with `addi a2, a2, 1`.
        "la t2, new\n lw t0, 0(t2)\n la sp, patch\n sw t0, 0(sp)\n sw t0, 4(sp)\n j patch\npatch: nop\n nop\n j done\nnew: addi a2, a2, 1\n",
    ];
    for c in cases {
        same_as_interpreter(&format!("{setup}{c}{end}"));
    }
}

/// A loop block with loads and stores has a second copy of its body, one
/// label per op: ops with no host code (writes to `r0`) between them must
/// not leave two labels on one instruction (found by the long differential
/// run).
#[test]
fn a_loop_with_ops_that_emit_nothing_compiles_and_matches() {
    same_as_interpreter(
        "_start: li sp, 0x8000\n li a1, 20\n j loop\nloop: lw t0, 0(sp)\n add zero, t0, t0\n addi zero, zero, 0\n sw t0, 4(sp)\n addi a1, a1, -1\n bne a1, zero, loop\n halt\n",
    );
}

/// `s1` lives in `ecx`, whose `cl` a shift by a register needs: every
/// combination of `s1` as the count, the shifted value and the destination
/// gives the interpreter's result, and `s1` survives shifts that do not
/// name it.
#[test]
fn shifts_by_a_register_keep_the_register_in_cl() {
    same_as_interpreter(
        "_start: li s1, 3\n li a0, 0x40\n li t0, 2\n j body\nbody: sll a1, a0, s1\n srl a2, a0, t0\n sra a3, s1, t0\n sll s1, a0, s1\n srl s1, s1, t0\n sll a4, s1, s1\n sra t1, a0, a0\n add s2, s1, a1\n j done\ndone: halt\n",
    );
}

/// A paged program with a one-entry TLB: every data access to a fresh page
/// evicts the code page, so every instruction fetch after one misses. A
/// loop stores to a fresh page, calls `f` in the same page (which the
/// interpreter joins into the caller's block), and `f` stores to another
/// fresh page before it returns.
const JOINED_FILLS: &str = "
_start: li t0, 0x10000
        csrw ptbr, t0
        li t0, 0x11            # supervisor, paging on
        csrw status, t0
        li a0, 0x20000
        li a3, 0x40000
        li a1, 0
        li t1, 0x1000
loop:   sw a1, 0(a0)
        call f
        add a0, a0, t1
        addi a1, a1, 1
        li t2, 16
        bltu a1, t2, loop
        halt
f:      sw a1, 0(a3)
        add a3, a3, t1
        ret
";

/// The same with a loop of several instructions (which the interpreter
/// runs as copies of its body) storing to a fresh page each pass.
const LOOP_FILLS: &str = "
_start: li t0, 0x10000
        csrw ptbr, t0
        li t0, 0x11            # supervisor, paging on
        csrw status, t0
        li a0, 0x20000
        li a1, 0
        li t1, 0x1000
        li t2, 16
loop:   sw a1, 0(a0)
        add a0, a0, t1
        xor a2, a2, a1
        addi a1, a1, 1
        bltu a1, t2, loop
        halt
";

#[test]
fn jit_engine_counts_the_tlb_as_the_interpreter_does_when_fills_evict_code() {
    for (name, src) in [("joined calls", JOINED_FILLS), ("loop copies", LOOP_FILLS)] {
        tlb_counts_match(name, src);
    }
}

/// Runs `src` (which turns paging on with its tables at 0x10000) with a
/// one-entry TLB on the interpreter and on the JIT: the TLB misses and
/// walk references must be the same.
fn tlb_counts_match(name: &str, src: &str) {
    use vmlab_isa::paging::{PTE_A, PTE_D, PTE_R, PTE_V, PTE_W, PTE_X, make_pte};
    let config = MachineConfig {
        ram_bytes: 1 << 20,
        tlb_entries: 1,
        ..MachineConfig::default()
    };
    let build = || {
        let image = vmlab_asm::assemble_str(src).unwrap();
        let mut m = Machine::bare_metal(&image, config.clone()).unwrap();
        // Root at 0x10000, one leaf table at 0x11000 identity-mapping the
        // first 4 MiB (RAM is 1 MiB: the code, the tables, the data).
        let (root, leaf) = (0x10000u32, 0x11000u32);
        m.write_phys_u32(vmlab_machine::HostPhys(root), make_pte(leaf, PTE_V))
            .unwrap();
        for page in 0..256u32 {
            let flags = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
            m.write_phys_u32(
                vmlab_machine::HostPhys(leaf + 4 * page),
                make_pte(page << 12, flags),
            )
            .unwrap();
        }
        m
    };
    let mut a = build();
    let ea = a.run(100_000);
    let mut b = build();
    let eb = JitEngine::new().run(&mut b, 100_000);
    assert_eq!(ea, eb, "{name}");
    assert_eq!(a.cpu_state(), b.cpu_state(), "{name}");
    assert_eq!(a.reg(Reg::A1), 16, "{name}");
    let (ca, cb) = (a.counters(), b.counters());
    // Every pass fills the TLB at least once.
    assert!(ca.tlb_misses >= 16, "{name}: {} misses", ca.tlb_misses);
    assert_eq!(
        (ca.tlb_misses, ca.walk_refs_1d),
        (cb.tlb_misses, cb.walk_refs_1d),
        "{name}: TLB misses and walk references, interpreter vs JIT"
    );
}
