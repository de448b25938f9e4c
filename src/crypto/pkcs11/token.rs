//! One PKCS#11 token, opened and logged in once per process, with a small pool of
//! sessions. PKCS#11 allows a module to be initialised once per process and keeps the
//! login per application, not per session, so both the modules and the tokens live in
//! process-wide tables: every `LocalKms` in a process that names the same token shares it.
//!
//! A token that goes away (removed, the module's device lost, a session closed under us)
//! is marked broken; the next operation opens it again, with the PIN read again from its
//! source, so a server recovers without a restart when the token comes back.

use super::TokenError;
use super::uri::Pkcs11Uri;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use std::collections::HashMap;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use zeroize::Zeroizing;

/// Most idle sessions a token keeps open for the next operations.
const IDLE_SESSIONS: usize = 16;
/// Longest PIN file read: a PIN is a few dozen bytes.
const MAX_PIN_FILE: u64 = 4096;

/// An open, logged-in token.
pub struct Token {
    context: Pkcs11,
    slot: Slot,
    /// What the token calls itself, for messages: its label and serial.
    name: String,
    /// The session that logged in; never used for operations, kept so the login lasts.
    _login: Mutex<Session>,
    idle: Mutex<Vec<Session>>,
    broken: AtomicBool,
}

/// The modules this process has loaded and initialised, by path.
fn modules() -> &'static Mutex<HashMap<PathBuf, Pkcs11>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    MODULES.get_or_init(Default::default)
}

/// The tokens this process has logged in to, by module and slot.
type Tokens = Mutex<HashMap<(PathBuf, u64), Arc<Token>>>;

/// The tokens this process has logged in to.
fn tokens() -> &'static Tokens {
    static TOKENS: OnceLock<Tokens> = OnceLock::new();
    TOKENS.get_or_init(Default::default)
}

fn poisoned() -> TokenError {
    TokenError::Unavailable("a PKCS#11 lock is poisoned; restart keyseal".into())
}

impl Token {
    /// The token `uri` names, logged in: the one this process has open already, or opened
    /// now, reading the PIN from the URI's `pin-source` (or the terminal).
    pub fn open(uri: &Pkcs11Uri) -> Result<Arc<Token>, TokenError> {
        let context = module(uri)?;
        let slot = find_slot(&context, uri)?;
        let id = (uri.module_path.clone(), slot.id());
        if let Some(token) = tokens().lock().map_err(|_| poisoned())?.get(&id).filter(|t| !t.is_broken()) {
            return Ok(token.clone());
        }
        let info = context.get_token_info(slot).map_err(|e| from_pkcs11(e, "read the token's information"))?;
        let name = format!("{:?} (serial {})", info.label().trim_end(), info.serial_number().trim_end());
        let login = context.open_rw_session(slot).map_err(|e| from_pkcs11(e, "open a session"))?;
        let pin = read_pin(uri, &name)?;
        match login.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(Error::Pkcs11(RvError::PinIncorrect, _)) => {
                return Err(TokenError::PinIncorrect(format!(
                    "the PIN for token {name} is wrong; check the pin-source file (the token may lock after a few more tries)"
                )));
            }
            Err(e) => return Err(from_pkcs11(e, "log in")),
        }
        let token = Arc::new(Token {
            context,
            slot,
            name,
            _login: Mutex::new(login),
            idle: Mutex::new(Vec::new()),
            broken: AtomicBool::new(false),
        });
        tokens().lock().map_err(|_| poisoned())?.insert(id, token.clone());
        Ok(token)
    }

    /// The token's label and serial, as messages name it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Asks the token something (its information, on a session): whether it is still there
    /// and the login still holds. A token that does not answer is marked broken, whatever
    /// its error (SoftHSM answers a token removed under it with CKR_GENERAL_ERROR), so the
    /// next use finds and logs in to it afresh.
    pub fn check(&self) -> Result<(), TokenError> {
        self.with_session(|session| {
            session.get_session_info()?;
            self.context.get_token_info(self.slot).map(|_| ())
        })
        .map_err(|e| {
            self.broken.store(true, Ordering::Relaxed);
            from_pkcs11(e, "answer")
        })
    }

    /// Whether the token went away since it was opened (then [`Token::open`] opens it again).
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// Runs `operation` on one of the token's sessions. A failure that means the token or
    /// its login is gone marks the token broken.
    pub fn with_session<T>(&self, operation: impl FnOnce(&Session) -> Result<T, Error>) -> Result<T, Error> {
        let session = match self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            Some(session) => session,
            None => self.context.open_rw_session(self.slot).inspect_err(|e| self.note(e))?,
        };
        let result = operation(&session);
        match &result {
            Err(e) if gone(e) => self.note(e),
            _ => {
                if let Ok(mut idle) = self.idle.lock()
                    && idle.len() < IDLE_SESSIONS
                {
                    idle.push(session);
                }
            }
        }
        result
    }

    /// Marks the token broken when `err` says it is gone.
    fn note(&self, err: &Error) {
        if gone(err) {
            self.broken.store(true, Ordering::Relaxed);
        }
    }
}

/// Whether `err` means the token, the session or the login is gone.
fn gone(err: &Error) -> bool {
    matches!(
        err,
        Error::Pkcs11(
            RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::SessionClosed
                | RvError::SessionHandleInvalid
                | RvError::UserNotLoggedIn
                | RvError::CryptokiNotInitialized,
            _
        )
    )
}

/// The module `uri` names, loaded and initialised once per process.
fn module(uri: &Pkcs11Uri) -> Result<Pkcs11, TokenError> {
    let mut modules = modules().lock().map_err(|_| poisoned())?;
    if let Some(context) = modules.get(&uri.module_path) {
        return Ok(context.clone());
    }
    let path = uri.module_path.display();
    let context = Pkcs11::new(&uri.module_path).map_err(|e| {
        TokenError::Unavailable(format!(
            "cannot load the PKCS#11 module {path}: {e}; check module-path in the token's URI (`keyseal hsm configure`)"
        ))
    })?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(from_pkcs11(e, &format!("initialise the module {path}"))),
    }
    modules.insert(uri.module_path.clone(), context.clone());
    Ok(context)
}

/// The one slot whose token `uri` names.
fn find_slot(context: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot, TokenError> {
    let slots = context.get_slots_with_token().map_err(|e| from_pkcs11(e, "list the slots"))?;
    let mut found = Vec::new();
    for slot in slots {
        let Ok(info) = context.get_token_info(slot) else { continue };
        if uri.matches(slot.id(), info.label(), info.manufacturer_id(), info.serial_number(), info.model()) {
            found.push(slot);
        }
    }
    match found.as_slice() {
        [slot] => Ok(*slot),
        [] => Err(TokenError::Unavailable(format!(
            "no token in {} matches {}; is it inserted and initialised? (`pkcs11-tool --module {} --list-token-slots` lists them)",
            uri.module_path.display(),
            describe(uri),
            uri.module_path.display()
        ))),
        _ => Err(TokenError::Unavailable(format!(
            "{} tokens match {}; add serial= to the URI to pick one",
            found.len(),
            describe(uri)
        ))),
    }
}

/// The token attributes a URI asks for, in words.
fn describe(uri: &Pkcs11Uri) -> String {
    let mut parts = Vec::new();
    for (name, value) in
        [("token", &uri.token), ("manufacturer", &uri.manufacturer), ("serial", &uri.serial), ("model", &uri.model)]
    {
        if let Some(value) = value {
            parts.push(format!("{name}={}", crate::quote::escape_text(value)));
        }
    }
    if let Some(id) = uri.slot_id {
        parts.push(format!("slot-id={id}"));
    }
    if parts.is_empty() { "the URI (which names no token: any token would do)".into() } else { parts.join(" ") }
}

/// The user PIN: the `pin-source` file's first line, or asked on the terminal.
fn read_pin(uri: &Pkcs11Uri, name: &str) -> Result<AuthPin, TokenError> {
    let Some(path) = &uri.pin_source else {
        if !std::io::stdin().is_terminal() {
            return Err(TokenError::Unavailable(format!(
                "the PIN for token {name} is needed and there is no terminal to ask it on; add pin-source=file:PATH to the token's URI"
            )));
        }
        let pin = rpassword::prompt_password(format!("PIN for PKCS#11 token {name}: "))
            .map_err(|e| TokenError::Unavailable(format!("cannot read the PIN from the terminal: {e}")))?;
        return Ok(AuthPin::from(pin));
    };
    pin_file(path).map(|pin| AuthPin::from(pin.as_str()))
}

/// The first line of the PIN file `path`, which only its owner may read.
fn pin_file(path: &std::path::Path) -> Result<Zeroizing<String>, TokenError> {
    let unreadable = |e: std::io::Error| {
        TokenError::Unavailable(format!("cannot read the PIN file {} (pin-source): {e}", path.display()))
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    refuse_unprotected(&file, path)?;
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_PIN_FILE).read_to_string(&mut text).map_err(unreadable)?;
    let pin = Zeroizing::new(text.lines().next().unwrap_or("").to_string());
    if pin.is_empty() {
        return Err(TokenError::Unavailable(format!("the PIN file {} (pin-source) is empty", path.display())));
    }
    Ok(pin)
}

/// Refuses a PIN file that group or others may read, as the store refuses its own files
/// (and ssh an unprotected private key): the PIN is the token's only lock.
#[cfg(unix)]
fn refuse_unprotected(file: &std::fs::File, path: &std::path::Path) -> Result<(), TokenError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file
        .metadata()
        .map_err(|e| TokenError::Unavailable(format!("cannot read the PIN file {}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(TokenError::Unavailable(format!(
            "the PIN file {} is open to group or others (mode {:o}); run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_unprotected(_: &std::fs::File, _: &std::path::Path) -> Result<(), TokenError> {
    Ok(())
}

/// A PKCS#11 failure in words, with what keyseal was doing; the kind says how the KMS
/// answers it.
pub fn from_pkcs11(err: Error, doing: &str) -> TokenError {
    let words = format!("the token failed to {doing}: {err}");
    match err {
        Error::Pkcs11(RvError::PinIncorrect, _) => TokenError::PinIncorrect(words),
        Error::Pkcs11(RvError::PinLocked, _) => TokenError::Unavailable(format!(
            "{words}; the token's user PIN is locked: its security officer must unlock it"
        )),
        Error::Pkcs11(
            RvError::MechanismInvalid
            | RvError::MechanismParamInvalid
            | RvError::CurveNotSupported
            | RvError::DomainParamsInvalid
            | RvError::KeySizeRange
            | RvError::FunctionNotSupported,
            _,
        ) => TokenError::Unsupported(words),
        Error::Pkcs11(RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange, _) => {
            TokenError::DecryptionFailed
        }
        _ => TokenError::Unavailable(format!("{words}; try again when the token is back")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::context::Function;

    fn failed(rv: RvError) -> Error {
        Error::Pkcs11(rv, Function::Sign)
    }

    #[test]
    fn each_failure_is_answered_by_its_kind() {
        assert!(matches!(from_pkcs11(failed(RvError::PinIncorrect), "log in"), TokenError::PinIncorrect(_)));
        for rv in [RvError::MechanismInvalid, RvError::CurveNotSupported, RvError::DomainParamsInvalid] {
            assert!(matches!(from_pkcs11(failed(rv), "sign"), TokenError::Unsupported(_)), "{rv:?}");
        }
        for rv in [RvError::EncryptedDataInvalid, RvError::EncryptedDataLenRange] {
            assert_eq!(from_pkcs11(failed(rv), "decrypt"), TokenError::DecryptionFailed, "{rv:?}");
        }
        let TokenError::Unavailable(locked) = from_pkcs11(failed(RvError::PinLocked), "log in") else { panic!() };
        assert!(locked.contains("security officer"), "{locked}");
        let TokenError::Unavailable(other) = from_pkcs11(failed(RvError::DeviceError), "sign") else { panic!() };
        assert!(other.starts_with("the token failed to sign") && other.contains("try again"), "{other}");
    }

    #[test]
    fn only_a_lost_token_session_or_login_marks_the_token_broken() {
        for rv in
            [RvError::TokenNotPresent, RvError::DeviceRemoved, RvError::SessionHandleInvalid, RvError::UserNotLoggedIn]
        {
            assert!(gone(&failed(rv)), "{rv:?}");
        }
        for rv in [RvError::PinIncorrect, RvError::MechanismInvalid, RvError::DataInvalid] {
            assert!(!gone(&failed(rv)), "{rv:?}");
        }
        assert!(!gone(&Error::NotSupported));
    }

    #[test]
    fn pin_files_are_read_to_their_first_line_and_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pin");
        let write = |text: &str, mode: u32| {
            std::fs::write(&file, text).unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("1234\nignored\n", 0o600);
        assert_eq!(pin_file(&file).unwrap().as_str(), "1234");
        write("\n", 0o600);
        assert!(matches!(pin_file(&file), Err(TokenError::Unavailable(why)) if why.contains("empty")));
        write("1234\n", 0o640);
        assert!(matches!(pin_file(&file), Err(TokenError::Unavailable(why)) if why.contains("chmod 600")));
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(pin_file(&file), Err(TokenError::Unavailable(why)) if why.contains("cannot read")));
    }

    #[test]
    fn a_module_that_does_not_load_is_unavailable() {
        let uri = Pkcs11Uri { module_path: "/nonexistent/libpkcs11.so".into(), ..Pkcs11Uri::default() };
        let Err(TokenError::Unavailable(why)) = Token::open(&uri) else { panic!("opened") };
        assert!(why.contains("cannot load the PKCS#11 module /nonexistent/libpkcs11.so"), "{why}");
    }
}
