//! Stable codes: every refusal keyseal prints carries one (`error [not-a-ca]: ...`), and
//! scripts match on them, so each domain declares its codes once, in one table made with
//! [`codes!`]: the enum, its spellings, `ALL` for the documentation test, and the codes of
//! lower layers it passes through unchanged (a KMS refusal stays `Rejected.Disabled`).

/// A value with a stable code, whichever table it comes from.
pub trait Coded: Copy {
    /// The code as printed.
    fn code(self) -> &'static str;
}

/// Declares a domain's code enum from its table: `Variant => "spelling"` for the
/// domain's own codes, then `pass Variant(Type)` for codes of other tables it carries.
macro_rules! codes {
    (
        $(#[$meta:meta])* $name:ident {
            $($(#[$vmeta:meta])* $variant:ident => $code:literal,)+
        }
        $(pass { $($(#[$pmeta:meta])* $pvariant:ident($ptype:ty),)+ })?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            $($($(#[$pmeta])* $pvariant($ptype),)+)?
        }

        impl $name {
            /// The domain's own codes, in table order (not those it passes through).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code as printed.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                    $($($name::$pvariant(inner) => $crate::codes::Coded::code(inner),)+)?
                }
            }
        }

        impl $crate::codes::Coded for $name {
            fn code(self) -> &'static str {
                self.as_str()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}
pub(crate) use codes;

codes! {
    /// Codes every domain uses with one meaning.
    Common {
        /// A flag, file or request is unusable; the message says which and why.
        BadInput => "bad-input",
        /// Not the user's doing: a bug, or an encoding that failed.
        Internal => "internal",
    }
}
