//! Command arguments: taken from the request's `params` by name or position, or injected by the
//! core (state, the caller, and any type implementing [`FromInvoke`]).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::marker::PhantomData;
use std::ops::Deref;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::bitset::CommandId;
use crate::caller::Caller;
use crate::error::RpcError;

/// One call being answered: what an argument extractor can see.
#[derive(Clone, Copy)]
pub struct Invocation<'a> {
    pub(crate) acl: &'a crate::acl::Acl,
    pub(crate) states: &'a StateMap,
    pub(crate) caller: &'a Caller,
    pub(crate) events: &'a std::sync::Arc<crate::event::hub::EventHub>,
    pub(crate) command: &'static str,
    pub(crate) id: CommandId,
    pub(crate) params: Option<&'a str>,
}

impl<'a> Invocation<'a> {
    /// Who is calling.
    pub fn caller(&self) -> &'a Caller {
        self.caller
    }

    /// The command's name.
    pub fn command(&self) -> &'static str {
        self.command
    }

    /// The command's id in the ACL.
    pub fn command_id(&self) -> CommandId {
        self.id
    }

    /// A handle to emit events from inside a command (commands can also take
    /// [`Emitter`](crate::Emitter) as an argument).
    pub fn emitter(&self) -> crate::event::hub::Emitter {
        self.events.emitter()
    }

    /// The managed state of type `T`, if the router manages one.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&'a T> {
        self.states.get::<T>()
    }

    /// The names of every command the caller may call, in the ACL's order (for a page or a
    /// plugin that wants to show what it can do).
    pub fn allowed_commands(&self) -> impl Iterator<Item = &'a str> + 'a {
        let names = self.acl.commands();
        self.caller
            .grants()
            .iter()
            .filter_map(move |id| names.get(id.index()).map(|n| n.as_ref()))
    }

    /// The request's `params`, as the JSON text it was sent as (an object or an array).
    pub fn params(&self) -> Option<&'a str> {
        self.params
    }
}

impl fmt::Debug for Invocation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invocation")
            .field("command", &self.command)
            .field("caller", &self.caller.label())
            .finish_non_exhaustive()
    }
}

/// A command argument.
///
/// Every `T: Deserialize` is one: it is read from the request's `params`. Types the core supplies
/// instead — [`State`], [`Caller`], or your own — implement [`from_invoke`](Self::from_invoke)
/// only. A type must not be both, which is what keeps the two kinds apart.
///
/// ```
/// use gatehouse_runtime::{FromInvoke, Invocation, RpcError};
///
/// /// The caller's window label, injected into any command that asks for it.
/// struct Label(String);
///
/// impl<'a> FromInvoke<'a> for Label {
///     fn from_invoke(invocation: &Invocation<'a>) -> Result<Self, RpcError> {
///         Ok(Label(invocation.caller().label().to_owned()))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a command argument",
    label = "neither deserialisable nor injected",
    note = "an argument the caller sends must implement `serde::Deserialize`; for a local type, add `#[derive(serde::Deserialize)]`",
    note = "an argument the core supplies, like `State<'_, T>` or `Caller`, must implement `gatehouse::FromInvoke`"
)]
pub trait FromInvoke<'a>: Sized {
    /// Whether the argument is read from `params` (true for `Deserialize` types).
    #[doc(hidden)]
    const FROM_PARAMS: bool = false;

    /// Produces the argument for this call.
    ///
    /// # Errors
    ///
    /// An error becomes the reply, and the command does not run.
    fn from_invoke(invocation: &Invocation<'a>) -> Result<Self, RpcError>;

    /// Declares what the router must provide; checked when the router is built.
    fn requirements(_requirements: &mut Requirements) {}

    /// Reads the argument from a `params` value; injected arguments refuse.
    #[doc(hidden)]
    fn from_param<D: Deserializer<'a>>(_deserializer: D) -> Result<Self, D::Error> {
        Err(de::Error::custom(
            "this argument is supplied by the core and cannot be sent by the caller",
        ))
    }

    /// The value of a `params` argument the request left out (`None` for `Option`).
    #[doc(hidden)]
    fn from_missing() -> Option<Self> {
        None
    }

    /// Completes an argument read from `params` with what only the call knows (a
    /// [`Channel`](crate::Channel) learns its caller's connection here).
    #[doc(hidden)]
    #[inline(always)]
    fn bind(self, _invocation: &Invocation<'a>, _key: &str) -> Result<Self, RpcError> {
        Ok(self)
    }
}

impl<'a, T: Deserialize<'a>> FromInvoke<'a> for T {
    const FROM_PARAMS: bool = true;

    fn from_invoke(_invocation: &Invocation<'a>) -> Result<Self, RpcError> {
        Self::from_missing().ok_or_else(|| RpcError::invalid_params(None, "missing argument"))
    }

    fn from_param<D: Deserializer<'a>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer)
    }

    fn from_missing() -> Option<Self> {
        T::deserialize(Missing).ok()
    }
}

/// A command may take the whole [`Invocation`] (its caller, the ACL's view of it, the raw
/// params).
impl<'a> FromInvoke<'a> for Invocation<'a> {
    fn from_invoke(invocation: &Invocation<'a>) -> Result<Self, RpcError> {
        Ok(*invocation)
    }
}

impl<'a> FromInvoke<'a> for Caller {
    fn from_invoke(invocation: &Invocation<'a>) -> Result<Self, RpcError> {
        Ok(invocation.caller.clone())
    }
}

/// Managed state of type `T`, shared by all calls; give it to the router with
/// [`RouterBuilder::manage`](crate::RouterBuilder::manage). Use interior mutability
/// (`Mutex`, atomics, a connection pool) for state that changes.
pub struct State<'a, T: Send + Sync + 'static>(&'a T);

impl<'a, T: Send + Sync + 'static> State<'a, T> {
    /// The state, for as long as the call lasts.
    pub fn inner(&self) -> &'a T {
        self.0
    }
}

impl<T: Send + Sync + 'static> Deref for State<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0
    }
}

impl<T: Send + Sync + 'static> Clone for State<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for State<'_, T> {}

impl<T: Send + Sync + 'static + fmt::Debug> fmt::Debug for State<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'a, T: Send + Sync + 'static> FromInvoke<'a> for State<'a, T> {
    fn from_invoke(invocation: &Invocation<'a>) -> Result<Self, RpcError> {
        // `RouterBuilder::build` refuses commands whose state is not managed, so this only fails
        // for a hand-made entry that did not declare its requirements.
        invocation.state::<T>().map(State).ok_or_else(|| {
            RpcError::internal(format!(
                "state `{}` is not managed by this router",
                std::any::type_name::<T>()
            ))
        })
    }

    fn requirements(requirements: &mut Requirements) {
        requirements.state::<T>();
    }
}

/// Managed state by type.
#[derive(Default)]
pub(crate) struct StateMap {
    map: HashMap<TypeId, Box<dyn Any + Send + Sync>, BuildHasherDefault<TypeIdHasher>>,
}

impl StateMap {
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> bool {
        self.map
            .insert(TypeId::of::<T>(), Box::new(value))
            .is_none()
    }

    pub(crate) fn contains(&self, id: TypeId) -> bool {
        self.map.contains_key(&id)
    }

    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|b| b.downcast_ref::<T>())
    }
}

/// `TypeId`s are already hashes; feed them through unchanged.
#[derive(Default)]
pub(crate) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64 ^ (n >> 64) as u64;
    }
}

/// The argument slots of one command, written by `#[command]`: one `Option` per argument.
pub trait ArgSlots<'de>: Sized {
    /// The keys of all arguments, in declaration order.
    const KEYS: &'static [&'static str];

    /// For each argument of [`KEYS`](Self::KEYS), whether the caller sends it (`false` for
    /// injected ones, like `State` or `Caller`).
    const FROM_PARAMS: &'static [bool];

    /// Slots with nothing filled.
    fn empty() -> Self;

    /// Fills argument `index` from the map's next value.
    ///
    /// # Errors
    ///
    /// The deserialiser's error for a value that does not fit the argument.
    fn fill_key<A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error>;

    /// Fills the `params` arguments from a positional array, in declaration order, recording
    /// the index of the argument being read in `current`.
    ///
    /// # Errors
    ///
    /// The deserialiser's error for a value that does not fit its argument.
    fn fill_seq<A: SeqAccess<'de>>(
        &mut self,
        seq: &mut A,
        current: &mut Option<usize>,
    ) -> Result<(), A::Error>;
}

/// Deserialises one argument through [`FromInvoke::from_param`].
pub struct ArgSeed<T>(PhantomData<fn() -> T>);

impl<T> ArgSeed<T> {
    /// A seed for `T`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<'de, T: FromInvoke<'de>> DeserializeSeed<'de> for ArgSeed<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::from_param(deserializer)
    }
}

/// Reads the map's next value as argument `T`. Generic so that a type that is not an argument
/// is blamed on the turbofish the macro spans on the user's type.
///
/// # Errors
///
/// The deserialiser's error.
pub fn next_value<'de, T: FromInvoke<'de>, A: MapAccess<'de>>(map: &mut A) -> Result<T, A::Error> {
    map.next_value_seed(ArgSeed::<T>::new())
}

/// Reads the sequence's next element as argument `T`; see [`next_value`].
///
/// # Errors
///
/// The deserialiser's error.
pub fn next_element<'de, T: FromInvoke<'de>, A: SeqAccess<'de>>(
    seq: &mut A,
) -> Result<Option<T>, A::Error> {
    seq.next_element_seed(ArgSeed::<T>::new())
}

/// Adds argument `T`'s requirements.
pub fn requires<'a, T: FromInvoke<'a>>(requirements: &mut Requirements) {
    T::requirements(requirements);
}

/// The slots of a command, read by the single-pass path: `Deserialize` for any [`ArgSlots`].
/// Why a value failed is not kept: on failure the router answers through the two-pass path,
/// which says which argument it was.
pub(crate) struct Typed<S>(pub(crate) S);

impl<'de, S: ArgSlots<'de>> Deserialize<'de> for Typed<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut slots = S::empty();
        let mut failure = Failure::None;
        deserializer.deserialize_any(ParamsVisitor {
            slots: &mut slots,
            failure: &mut failure,
        })?;
        Ok(Typed(slots))
    }
}

/// Why argument parsing stopped.
enum Failure {
    None,
    Arg(usize),
    Unknown(String),
    Duplicate(usize),
    TooMany,
}

/// Reads `params` into the command's slots in one pass over the request bytes.
///
/// # Errors
///
/// `-32602` naming the argument: a value of the wrong type, an unknown or repeated key, too many
/// positional values.
pub fn parse_params<'de, S: ArgSlots<'de>>(params: Option<&'de str>) -> Result<S, RpcError> {
    let mut slots = S::empty();
    let Some(params) = params else {
        return Ok(slots);
    };
    let mut failure = Failure::None;
    let mut de = serde_json::Deserializer::from_str(params);
    let result = de.deserialize_any(ParamsVisitor {
        slots: &mut slots,
        failure: &mut failure,
    });
    match result {
        Ok(()) => Ok(slots),
        Err(e) => Err(params_error::<S>(failure, &e)),
    }
}

fn params_error<'de, S: ArgSlots<'de>>(failure: Failure, e: &serde_json::Error) -> RpcError {
    match failure {
        Failure::Arg(i) => RpcError::invalid_params(S::KEYS.get(i).copied(), &strip_position(e)),
        Failure::Duplicate(i) => {
            RpcError::invalid_params(S::KEYS.get(i).copied(), "the argument is given twice")
        }
        Failure::Unknown(key) => {
            // Only what the caller may send: injected arguments are not the caller's to name.
            let sent: Vec<String> = S::KEYS
                .iter()
                .zip(S::FROM_PARAMS)
                .filter(|(_, &sent)| sent)
                .map(|(k, _)| format!("`{k}`"))
                .collect();
            let expected = if sent.is_empty() {
                "the command takes no arguments".to_owned()
            } else {
                format!("expected one of {}", sent.join(", "))
            };
            RpcError::invalid_params(Some(&key), &format!("unknown argument; {expected}"))
        }
        Failure::TooMany => RpcError::invalid_params(None, "too many positional arguments"),
        Failure::None => RpcError::invalid_params(None, &strip_position(e)),
    }
}

fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let mut reason = match text.rfind(" at line ") {
        Some(at) if e.line() > 0 => text[..at].to_owned(),
        _ => text,
    };
    if reason.contains("expected a borrowed string") {
        // `&str` arguments borrow from the request, which only works without escapes.
        reason.push_str(
            " (the command takes `&str`, which cannot hold a string with escape sequences; \
             it should take `String` instead)",
        );
    }
    reason
}

struct ParamsVisitor<'s, S> {
    slots: &'s mut S,
    failure: &'s mut Failure,
}

impl<'de, S: ArgSlots<'de>> Visitor<'de> for ParamsVisitor<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of named arguments or an array of positional ones")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = 0u128;
        while let Some(key) = map.next_key_seed(KeySeed { keys: S::KEYS })? {
            match key {
                Key::Index(i) => {
                    if i < 128 && seen & (1 << i) != 0 {
                        *self.failure = Failure::Duplicate(i);
                        return Err(de::Error::custom("duplicate argument"));
                    }
                    seen |= 1u128.checked_shl(i as u32).unwrap_or(0);
                    *self.failure = Failure::Arg(i);
                    self.slots.fill_key(i, &mut map)?;
                }
                Key::Unknown(name) => {
                    *self.failure = Failure::Unknown(name);
                    return Err(de::Error::custom("unknown argument"));
                }
            }
        }
        *self.failure = Failure::None;
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut current = None;
        let filled = self.slots.fill_seq(&mut seq, &mut current);
        if let Err(e) = filled {
            *self.failure = current.map_or(Failure::None, Failure::Arg);
            return Err(e);
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            *self.failure = Failure::TooMany;
            return Err(de::Error::custom("too many positional arguments"));
        }
        Ok(())
    }
}

enum Key {
    Index(usize),
    Unknown(String),
}

struct KeySeed {
    keys: &'static [&'static str],
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an argument name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match self.keys.iter().position(|k| *k == key) {
            Some(i) => Key::Index(i),
            None => Key::Unknown(key.to_owned()),
        })
    }
}

/// Takes argument `key` out of its slot, or supplies it: a missing `Option` is `None`, a missing
/// required argument is an error, an injected argument comes from [`FromInvoke::from_invoke`].
///
/// # Errors
///
/// `-32602` for a missing required argument; the extractor's own error for injected ones.
pub fn finish<'a, T: FromInvoke<'a>>(
    slot: Option<T>,
    invocation: &Invocation<'a>,
    key: &str,
) -> Result<T, RpcError> {
    match slot {
        Some(value) => value.bind(invocation, key),
        None if T::FROM_PARAMS => {
            T::from_missing().ok_or_else(|| RpcError::invalid_params(Some(key), "missing argument"))
        }
        None => T::from_invoke(invocation),
    }
}

/// A deserialiser for an absent value: `Option` reads it as `None`, everything else refuses.
struct Missing;

impl<'de> Deserializer<'de> for Missing {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("missing argument"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}
/// What a command needs from the router, declared by its arguments' types and checked when the
/// router is built, so that a missing `manage(…)` fails at start-up instead of at the first call.
#[derive(Debug, Default)]
pub struct Requirements {
    pub(crate) states: Vec<(TypeId, &'static str)>,
}

impl Requirements {
    /// Declares that the command needs managed state of type `T`.
    pub fn state<T: Send + Sync + 'static>(&mut self) {
        self.states
            .push((TypeId::of::<T>(), std::any::type_name::<T>()));
    }
}
