//! ISA profiles: whether Popek & Goldberg's condition holds (docs/isa.md, "Profiles").

use std::fmt;
use std::str::FromStr;

/// Which instructions are privileged.
///
/// Popek & Goldberg (1974): a trap-and-emulate monitor can be built when every
/// sensitive instruction is privileged. `Strict` satisfies that. `Legacy` is
/// x86-like (Robin & Irvine 2000 counted 17 sensitive-but-unprivileged x86
/// instructions): `getf` reads the mode in user mode without trapping (like
/// SMSW/PUSHF) and `setf` silently drops an interrupt-enable change in user
/// mode (like POPF).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// Every sensitive instruction is privileged.
    #[default]
    Strict,
    /// `getf` and `setf` are sensitive but not privileged.
    Legacy,
}

impl Profile {
    /// Both profiles.
    pub const ALL: [Profile; 2] = [Profile::Strict, Profile::Legacy];

    /// The profile's name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Profile::Strict => "strict",
            Profile::Legacy => "legacy",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown profile name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ISA profile `{0}`: expected `strict` or `legacy`")]
pub struct ParseProfileError(pub String);

impl FromStr for Profile {
    type Err = ParseProfileError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Profile::Strict),
            "legacy" => Ok(Profile::Legacy),
            other => Err(ParseProfileError(other.to_string())),
        }
    }
}
