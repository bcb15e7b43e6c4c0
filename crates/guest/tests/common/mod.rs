//! Running the kernel natively: lay out a boot with `vmlab_guest::boot`,
//! write it into a bare `vmlab_machine::Machine` (guest-physical = host
//! frames), and run until the kernel powers off or the budget runs out.

#![allow(dead_code)] // each test binary uses a different part

pub mod kernel;
pub mod pvhost;
pub mod rings;

use std::path::PathBuf;

use vmlab_asm::{Image, Options, assemble_source};
use vmlab_guest::boot::{BootSpec, ProgramSpec, layout};
use vmlab_guest::{KernelBuild, kernel_image};
use vmlab_isa::{Profile, Reg, abi};
use vmlab_machine::devices::{BlockDevice, Console, Log};
use vmlab_machine::{Exit, GuestPhys, Machine, MachineConfig, MemMode, PhysMap};

/// A test program: a name, its image, an iteration count, argument words.
#[derive(Clone, Debug)]
pub struct Prog {
    pub name: String,
    pub image: Image,
    pub iterations: u32,
    pub args: [u32; 4],
}

impl Prog {
    /// Assembles `source` (which should start with `.org 0x40000000`) with
    /// `lib/` on the include path, so it can `.include "syscalls.s"`.
    pub fn asm(name: &str, source: &str) -> Prog {
        let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lib");
        let opts = Options {
            include_dirs: vec![lib],
            defines: Vec::new(),
        };
        let image = match assemble_source(name, source, &opts) {
            Ok(done) => done.image,
            Err(diags) => panic!("test program {name} does not assemble:\n{diags}"),
        };
        Prog {
            name: name.to_string(),
            image,
            iterations: 0,
            args: [0; 4],
        }
    }

    /// The same program with this iteration count.
    pub fn iters(mut self, n: u32) -> Prog {
        self.iterations = n;
        self
    }

    /// The same program with these argument words.
    pub fn args(mut self, args: [u32; 4]) -> Prog {
        self.args = args;
        self
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Everything the programs wrote to the console.
    pub console: String,
    /// Everything the kernel wrote to the log.
    pub log: String,
    /// Why the run stopped.
    pub exit: Exit,
    /// The power-off code, if the kernel powered off.
    pub exit_code: Option<u32>,
    /// Instructions retired.
    pub instret: u64,
    /// The disk afterwards.
    pub disk: Vec<u8>,
    /// ring_notify hypercalls the test back end answered.
    pub notifies: u32,
    /// pv: hypercalls made, by number.
    pub hypercalls: std::collections::HashMap<u32, u64>,
}

/// How to run.
#[derive(Clone, Debug)]
pub struct Setup {
    pub build: KernelBuild,
    pub ram_bytes: u32,
    pub budget: u64,
    pub profile: Profile,
    pub disk_sectors: u32,
    pub console_input: Vec<u8>,
    /// Offer the rings (BOOT_FLAG_PV_IO): the kernel runs in guest mode, where
    /// `hypercall` exits, and a test back end (rings.rs) answers ring_notify.
    pub rings: bool,
    /// Boot the pv build under the test pv host (pvhost.rs): guest mode at
    /// the deprivileged level, direct paging over a scrambled P2M.
    pub pv: bool,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            build: KernelBuild::Full,
            ram_bytes: 4 << 20,
            budget: 10_000_000,
            profile: Profile::Strict,
            disk_sectors: 64,
            console_input: Vec::new(),
            rings: false,
            pv: false,
        }
    }
}

/// Boots `build` with `programs` natively in `ram` bytes of RAM.
pub fn run_native(build: KernelBuild, programs: &[Prog], ram: u32) -> Outcome {
    run_with(
        &Setup {
            build,
            ram_bytes: ram,
            ..Setup::default()
        },
        programs,
    )
}

/// Boots with everything `setup` says.
pub fn run_with(setup: &Setup, programs: &[Prog]) -> Outcome {
    let build = if setup.pv {
        KernelBuild::Pv
    } else {
        setup.build
    };
    let kernel = kernel_image(build).expect("build.rs assembled the kernel");
    let mut spec = BootSpec::new(kernel, setup.ram_bytes);
    spec.disk_sectors = setup.disk_sectors;
    spec.flags.pv_io = setup.rings || setup.pv;
    spec.flags.pv_cpu = setup.pv;
    // pv: guest page n lives in host frame pages + (37n + 11) mod pages, a
    // permutation of the upper half of a host RAM twice the guest's.
    let pages = setup.ram_bytes / 4096;
    let p2m: Vec<u32> = (0..pages).map(|n| pages + (37 * n + 11) % pages).collect();
    if setup.pv {
        spec.p2m = Some(p2m.clone());
    }
    for p in programs {
        let mut ps = ProgramSpec::new(&p.name, &p.image, p.iterations);
        ps.args = p.args;
        spec.programs.push(ps);
    }
    let boot = layout(&spec).unwrap_or_else(|e| panic!("boot layout: {e}"));
    let host_ram = if setup.pv {
        2 * setup.ram_bytes
    } else {
        setup.ram_bytes
    };
    let config = MachineConfig {
        ram_bytes: u64::from(host_ram),
        profile: setup.profile,
        disk_sectors: setup.disk_sectors,
        ..MachineConfig::default()
    };
    let mut m = Machine::new(config).expect("a valid machine configuration");
    if setup.pv {
        m.set_physmap(PhysMap::from_frames(p2m.clone()))
            .expect("host frames inside host RAM");
        m.set_mem_mode(MemMode::Direct);
        let c = m.controls_mut();
        c.guest_mode = true;
        c.privileged_exits = true;
        c.exception_exits = (1 << 13) - 1; // every exception: trap table or bounce
    } else {
        m.controls_mut().guest_mode = setup.rings;
    }
    for (addr, bytes) in &boot.chunks {
        m.write_guest_phys(GuestPhys(*addr), bytes)
            .expect("the layout fits in RAM");
    }
    m.set_pc(boot.entry);
    m.set_reg(Reg::A0, abi::BOOT_INFO_ADDR);
    if !setup.console_input.is_empty() {
        m.bus_mut()
            .get_mut::<Console>()
            .expect("standard bus")
            .push_input(&setup.console_input);
    }
    let mut rings = rings::Rings {
        console: (boot.console_ring.unwrap_or(0), 0, 0),
        block: (boot.block_ring.unwrap_or(0), 0, 0),
        ..rings::Rings::default()
    };
    let mut pv_log = Vec::new();
    let mut hypercalls = Default::default();
    let exit = if setup.pv {
        let shared = boot.shared_page.expect("a pv layout has a shared page");
        let mut host = pvhost::PvHost::new(&p2m, shared);
        let stop = host.run(&mut m, &mut rings, setup.budget);
        pv_log = host.log.clone();
        hypercalls = host.calls.clone();
        match stop {
            pvhost::PvStop::Shutdown(code) => Exit::Shutdown { code },
            pvhost::PvStop::Budget => Exit::BudgetExhausted,
            pvhost::PvStop::GuestError(why) => panic!(
                "pv guest error: {why}\n--- log ---\n{}",
                String::from_utf8_lossy(&pv_log)
            ),
        }
    } else {
        loop {
            let left = setup.budget.saturating_sub(m.instret());
            match m.run(left) {
                Exit::Hypercall if setup.rings => rings.hypercall(&mut m),
                exit => break exit,
            }
        }
    };
    let exit_code = match exit {
        Exit::Shutdown { code } => Some(code),
        _ => None,
    };
    let bus = m.bus();
    let mut console = bus.get::<Console>().expect("console").output().to_vec();
    console.extend_from_slice(&rings.output);
    let mut log = bus.get::<Log>().expect("log").output().to_vec();
    log.extend_from_slice(&pv_log);
    Outcome {
        console: String::from_utf8_lossy(&console).into_owned(),
        notifies: rings.notifies,
        hypercalls,
        log: String::from_utf8_lossy(&log).into_owned(),
        exit,
        exit_code,
        instret: m.instret(),
        disk: bus
            .get::<BlockDevice>()
            .expect("disk")
            .disk()
            .bytes()
            .to_vec(),
    }
}

impl Outcome {
    /// Asserts the kernel powered off with `code`, showing the log if not.
    pub fn assert_exit(&self, code: u32) {
        assert_eq!(
            self.exit_code,
            Some(code),
            "exit {:?}\n--- console ---\n{}\n--- log ---\n{}",
            self.exit,
            self.console,
            self.log
        );
    }
}

/// The full kernel deprivileged to user mode on the legacy profile, as
/// classic trap-and-emulate would run it, under a "monitor" that emulates
/// only port writes (the log and the power-off). The kernel's first `getf`
/// does not trap on the legacy profile and sees MODE = 0: the assertion
/// must say so on the log and power off with its documented code.
pub fn run_deprivileged_legacy(programs: &[Prog]) -> Outcome {
    use vmlab_isa::{Exception, Instr, csr::status};
    use vmlab_machine::bus::Effect;

    let kernel = kernel_image(KernelBuild::Full).expect("build.rs assembled the kernel");
    let mut spec = BootSpec::new(kernel, 4 << 20);
    for p in programs {
        spec.programs
            .push(ProgramSpec::new(&p.name, &p.image, p.iterations));
    }
    let boot = layout(&spec).unwrap_or_else(|e| panic!("boot layout: {e}"));
    let config = MachineConfig {
        ram_bytes: 4 << 20,
        profile: Profile::Legacy,
        ..MachineConfig::default()
    };
    let mut m = Machine::new(config).expect("a valid machine configuration");
    for (addr, bytes) in &boot.chunks {
        m.write_guest_phys(GuestPhys(*addr), bytes)
            .expect("the layout fits in RAM");
    }
    m.set_pc(boot.entry);
    m.set_reg(Reg::A0, abi::BOOT_INFO_ADDR);
    m.set_csr(vmlab_isa::Csr::Status, status::IE); // user mode, as the monitor runs it
    m.controls_mut()
        .set_exception_exit(Exception::PrivilegedInstruction, true);
    let exit = loop {
        match m.run(1_000_000) {
            Exit::Exception {
                cause: Exception::PrivilegedInstruction,
                addr,
            } => match vmlab_isa::decode(addr) {
                Instr::Out {
                    width,
                    rs2,
                    rs1,
                    off,
                } => {
                    let port = (m.reg(rs1).wrapping_add(off as u32) & 0xFFFF) as u16;
                    let value = m.reg(rs2);
                    m.retire_emulated();
                    if let Effect::PowerOff(code) = m.bus_mut().write(port, width, value) {
                        break Exit::Shutdown { code };
                    }
                }
                other => panic!("this test monitor emulates only `out`, not {other:?}"),
            },
            other => break other,
        }
    };
    let bus = m.bus();
    Outcome {
        console: String::from_utf8_lossy(bus.get::<Console>().expect("console").output())
            .into_owned(),
        log: String::from_utf8_lossy(bus.get::<Log>().expect("log").output()).into_owned(),
        exit,
        exit_code: match exit {
            Exit::Shutdown { code } => Some(code),
            _ => None,
        },
        instret: m.instret(),
        disk: Vec::new(),
        notifies: 0,
        hypercalls: Default::default(),
    }
}
