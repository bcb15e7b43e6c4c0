//! What a VM is made of: its boot image, mode, memory virtualization, cost
//! model and RAM size, and the rules for which combinations are valid.

use std::fmt;
use std::str::FromStr;

use vmlab_asm::Image;
use vmlab_isa::Profile;

use crate::cost::CostModel;
use crate::error::MonitorError;

/// How the guest kernel runs: the rows of every table (DESIGN.md, "Modes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The kernel runs in supervisor mode; no monitor work. The baseline.
    Native,
    /// Classic trap-and-emulate: the kernel is deprivileged to user mode.
    Trap,
    /// Hardware-assisted: the kernel runs in guest mode at guest-supervisor level.
    Hw,
    /// Binary translation: kernel code runs translated (callouts and inline
    /// virtual-CPU operations), user code directly; shadow paging.
    Bt,
    /// Paravirtualization: the pv kernel build at the deprivileged level,
    /// hypercalls, direct paging and the rings.
    Pv,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 5] = [Mode::Native, Mode::Trap, Mode::Hw, Mode::Bt, Mode::Pv];

    /// The mode's name (`native`, `trap`, `hw`, `bt`, `pv`).
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Native => "native",
            Mode::Trap => "trap",
            Mode::Hw => "hw",
            Mode::Bt => "bt",
            Mode::Pv => "pv",
        }
    }

    /// The memory virtualization used when none is named: none for native,
    /// shadow for trap, **nested** for hw (the modern default: no page-table
    /// write exits; choose `shadow` to see first-generation VT-x).
    pub const fn default_mem(self) -> MemVirt {
        match self {
            Mode::Native => MemVirt::None,
            Mode::Trap | Mode::Bt => MemVirt::Shadow,
            Mode::Hw => MemVirt::Nested,
            Mode::Pv => MemVirt::Direct,
        }
    }

    /// The valid memory options, for error messages.
    pub const fn valid_mem(self) -> &'static str {
        match self {
            Mode::Native => "none",
            Mode::Trap | Mode::Bt => "shadow",
            Mode::Hw => "shadow or nested",
            Mode::Pv => "direct",
        }
    }

    /// Checks that this build of the monitor runs `self` with `mem`.
    pub fn check(self, mem: MemVirt) -> Result<(), MonitorError> {
        let ok = matches!(
            (self, mem),
            (Mode::Native, MemVirt::None)
                | (Mode::Trap, MemVirt::Shadow)
                | (Mode::Bt, MemVirt::Shadow)
                | (Mode::Hw, MemVirt::Shadow | MemVirt::Nested)
                | (Mode::Pv, MemVirt::Direct)
        );
        if ok {
            Ok(())
        } else {
            Err(MonitorError::InvalidMem {
                mode: self,
                mem,
                valid: self.valid_mem(),
            })
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown mode `{s}`; known modes: native, trap, hw, bt, pv"))
    }
}

/// What runs guest code (`--engine`). Modeled cycles and guest-visible
/// counters do not depend on it: block formation, the TLB, the walkers and
/// the cost model are shared code; only host speed differs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Engine {
    /// The machine's interpreter (bt: the portable backend).
    #[default]
    Interp,
    /// The x86-64 backend of vmlab-translate for all guest code of any mode
    /// (bt's translated kernel code included); on hosts other than x86_64
    /// the portable backend stands in ([`vmlab_translate::JIT_AVAILABLE`]).
    Jit,
}

impl Engine {
    /// Every engine.
    pub const ALL: [Engine; 2] = [Engine::Interp, Engine::Jit];

    /// The engine's name (`interp`, `jit`).
    pub const fn name(self) -> &'static str {
        match self {
            Engine::Interp => "interp",
            Engine::Jit => "jit",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Engine, String> {
        Engine::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| format!("unknown engine `{s}`; known engines: interp, jit"))
    }
}

/// Memory virtualization: whose tables the MMU walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemVirt {
    /// The guest's own tables through the PhysMap (native only).
    None,
    /// Monitor-built shadow tables (guest-virtual -> host-physical).
    Shadow,
    /// The guest's tables plus a nested table (two-dimensional walk).
    Nested,
    /// Paravirtual direct paging: the guest's tables hold host frames,
    /// validated by the monitor (pv only).
    Direct,
}

impl MemVirt {
    /// Every option.
    pub const ALL: [MemVirt; 4] = [
        MemVirt::None,
        MemVirt::Shadow,
        MemVirt::Nested,
        MemVirt::Direct,
    ];

    /// The option's name (`none`, `shadow`, `nested`, `direct`).
    pub const fn name(self) -> &'static str {
        match self {
            MemVirt::None => "none",
            MemVirt::Shadow => "shadow",
            MemVirt::Nested => "nested",
            MemVirt::Direct => "direct",
        }
    }
}

impl fmt::Display for MemVirt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MemVirt {
    type Err = String;
    fn from_str(s: &str) -> Result<MemVirt, String> {
        MemVirt::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!("unknown memory option `{s}`; known: none, shadow, nested, direct")
            })
    }
}

/// What is loaded into the guest's physical memory before it starts: chunks
/// of bytes at guest-physical addresses and an entry point. Built from an
/// assembled [`Image`] (segments at their addresses) or from the guest
/// crate's boot builder (kernel, boot-information page and programs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootImage {
    /// `(guest-physical address, bytes)`.
    pub chunks: Vec<(u32, Vec<u8>)>,
    /// The kernel's entry point (a guest-physical address; paging is off at boot).
    pub entry: u32,
    /// Source lines by address, for traces: `(address, "file:line")`, sorted.
    pub lines: Vec<(u32, String)>,
}

impl BootImage {
    /// Every segment of `image` at its own address, entry at the image's.
    pub fn from_image(image: &Image) -> BootImage {
        let lines = image
            .lines
            .iter()
            .map(|(addr, loc)| {
                let file = image
                    .files
                    .get(loc.file as usize)
                    .map_or("?", String::as_str);
                (*addr, format!("{file}:{}", loc.line))
            })
            .collect();
        BootImage {
            chunks: image
                .segments
                .iter()
                .map(|s| (s.addr, s.data.clone()))
                .collect(),
            entry: image.entry,
            lines,
        }
    }

    /// The source line at `pc`, if the image has a line map.
    pub fn line_of(&self, pc: u32) -> Option<&str> {
        self.lines
            .binary_search_by_key(&pc, |(a, _)| *a)
            .ok()
            .map(|i| self.lines[i].1.as_str())
    }
}

/// How to build a [`Vm`](crate::Vm).
#[derive(Clone, Debug)]
pub struct VmConfig {
    /// What to load and where to start.
    pub boot: BootImage,
    /// The workload's name, for the report.
    pub workload: String,
    /// The mode.
    pub mode: Mode,
    /// Memory virtualization (see [`Mode::default_mem`]).
    pub mem: MemVirt,
    /// The cost model; its `tlb_tagged` decides whether world switches flush the TLB.
    pub cost: CostModel,
    /// Guest RAM in bytes: a non-zero multiple of 4096.
    pub ram_bytes: u32,
    /// The ISA profile of the machine the VM runs on.
    pub profile: Profile,
    /// Frames the monitor keeps for its own tables (shadow or nested); when
    /// shadow tables run out, the monitor drops them all and rebuilds.
    pub monitor_frames: u32,
    /// I/O virtualization (`--io`): see [`crate::IoVirt::default_for`].
    pub io: crate::io::IoVirt,
    /// `--hosted`: device exits go to device models on their own thread.
    pub hosted: bool,
    /// What runs guest code (`--engine`).
    pub engine: Engine,
}

impl VmConfig {
    /// A configuration for `boot` in `mode` with that mode's default memory
    /// option, the `p4-2006` cost model, 1 MiB of guest RAM and the strict profile.
    pub fn new(boot: BootImage, mode: Mode) -> VmConfig {
        VmConfig {
            boot,
            workload: String::from("(inline)"),
            mode,
            mem: mode.default_mem(),
            cost: CostModel::preset("p4-2006").expect("p4-2006 is a built-in preset"),
            ram_bytes: 1 << 20,
            profile: Profile::Strict,
            monitor_frames: 64,
            io: crate::io::IoVirt::default_for(mode),
            hosted: false,
            engine: Engine::Interp,
        }
    }

    /// Checks the mode, memory option and sizes.
    pub fn validate(&self) -> Result<(), MonitorError> {
        self.mode.check(self.mem)?;
        crate::io::check(self)?;
        if self.ram_bytes == 0 || self.ram_bytes % 4096 != 0 {
            return Err(MonitorError::Config(format!(
                "guest RAM of {} bytes is not a non-zero multiple of 4096",
                self.ram_bytes
            )));
        }
        Ok(())
    }

    /// Guest RAM in 4 KiB frames.
    pub fn guest_frames(&self) -> u32 {
        self.ram_bytes / 4096
    }
}
