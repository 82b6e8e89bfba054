//! Resolving a request beneath the scope's folder handles, one component at a time.
//!
//! Every component is opened beneath the handle of the folder before it without following a
//! symbolic link. When a component is a link, its target is read (through the same handle) and
//! the walk starts again from the root that holds the target's path, so the path the walk
//! reports is the real location of what it opened, and nothing a racing process does between
//! two steps can make a step leave the folder it started from: a swapped folder is either the
//! one already opened or a link that is read, not followed.

use std::ffi::{OsStr, OsString};
use std::io;
use std::ops::Deref;
use std::path::{Component, Path, PathBuf};

use cap_fs_ext::DirExt;
use cap_std::fs::Dir;

use super::root::depth;
use super::{resolve, PathScope, PathScopeError};

/// How many symbolic links one request may go through, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: u32 = 40;

/// What the walk does at the end of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// The operation is on what the path leads to: a final symbolic link is followed.
    Follow,
    /// The operation is on the entry itself (create, remove, rename): a final symbolic link is
    /// the entry, and the target lies strictly beneath a root, in a folder the walk opened.
    Entry,
    /// Only a decision: like `Follow`, but components that do not exist yet are fine.
    Check,
}

/// A folder handle: a root's, or one the walk opened.
pub(super) enum Handle<'s> {
    Root(&'s Dir),
    Opened(Dir),
}

impl Deref for Handle<'_> {
    type Target = Dir;

    fn deref(&self) -> &Dir {
        match self {
            Handle::Root(dir) => dir,
            Handle::Opened(dir) => dir,
        }
    }
}

/// Where a request leads, checked against the patterns: the opened folder holding it and its
/// name there, or a root itself.
pub(super) struct Target<'s> {
    /// The folder holding the target, or the target itself when `name` is `None`.
    pub(super) dir: Handle<'s>,
    /// The target's name in `dir`; `None` when the target is a root of the scope.
    pub(super) name: Option<OsString>,
    /// The target's real path, which the patterns accepted.
    pub(super) path: PathBuf,
    /// The index of the target's last component among the path's normal components.
    pub(super) index: usize,
    /// Whether the target came from a symbolic link's target, so that creating it would
    /// create through a dangling link.
    pub(super) must_exist: bool,
}

/// What a walk found.
pub(super) enum Found<'s> {
    /// The target, its folder opened.
    Target(Target<'s>),
    /// (Only in [`Mode::Check`]) the path, accepted by the patterns, does not exist from this
    /// component on.
    Missing(PathBuf),
}

/// One request being resolved.
pub(super) struct Walk<'s> {
    scope: &'s PathScope,
    requested: &'s Path,
    mode: Mode,
    /// The absolute, lexically normal path still to resolve.
    path: PathBuf,
    links: u32,
    /// How many leading normal components of `path` came from a symbolic link's target and so
    /// must exist: the link dangles if one does not.
    protected: usize,
    last_link: Option<PathBuf>,
    /// Whether `path`, beneath no root, was already resolved through the file system.
    realised: bool,
    /// Whether `path` is no longer the request's lexical path (a link was followed, or it was
    /// resolved through the file system): the deny patterns, checked against the lexical path
    /// already, must be checked against the result again only then or if it differs.
    moved: bool,
}

impl<'s> Walk<'s> {
    /// Starts resolving `requested`: refused if relative, denied as written, or if the scope
    /// allows nothing.
    pub(super) fn new(
        scope: &'s PathScope,
        requested: &'s Path,
        mode: Mode,
    ) -> Result<Self, PathScopeError> {
        if !requested.is_absolute() {
            return Err(PathScopeError::Relative {
                requested: requested.to_owned(),
            });
        }
        let lexical = resolve::lexical(requested);
        scope.refuse_denied(requested, &lexical)?;
        if scope.allow.is_empty() {
            return Err(PathScopeError::NotAllowed {
                requested: requested.to_owned(),
                resolved: lexical,
            });
        }
        Ok(Self {
            scope,
            requested,
            mode,
            path: lexical,
            links: 0,
            protected: 0,
            last_link: None,
            realised: false,
            moved: false,
        })
    }

    /// Resolves the path beneath the roots, up to its last component (not opened), and checks
    /// the result against the patterns.
    ///
    /// # Errors
    ///
    /// A refusal, a root that cannot be opened, or what the file system said on the way.
    pub(super) fn resolve(&mut self) -> Result<Found<'s>, PathScopeError> {
        'restart: loop {
            let proper = self.mode == Mode::Entry;
            let Some((root, covered)) = self
                .scope
                .roots
                .iter()
                .filter_map(|root| root.covers(&self.path, proper).map(|n| (root, n)))
                .max_by_key(|&(root, covered)| (covered, root.is_shared()))
            else {
                // Beneath no root as written: perhaps through a symbolic link outside the
                // scope that leads into it. Where it leads only picks a root; what is opened is
                // still resolved beneath that root's handle.
                if !self.realised {
                    self.realised = true;
                    if let Some(real) = resolve::real(&self.path) {
                        if real != self.path {
                            self.path = real;
                            self.protected = 0;
                            self.moved = true;
                            continue 'restart;
                        }
                    }
                }
                return Err(self.not_allowed(self.path.clone()));
            };
            let names: Vec<OsString> = self
                .path
                .components()
                .filter_map(|component| match component {
                    Component::Normal(name) => Some(name.to_owned()),
                    _ => None,
                })
                .skip(covered)
                .collect();
            let dir = match root.handle() {
                Ok(dir) => dir,
                Err(error)
                    if self.mode == Mode::Check && error.kind() == io::ErrorKind::NotFound =>
                {
                    let mut path = root.real().to_owned();
                    path.extend(&names);
                    self.admit(&path)?;
                    return Ok(Found::Missing(path));
                }
                Err(source) => {
                    return Err(PathScopeError::RootUnavailable {
                        requested: self.requested.to_owned(),
                        root: root.real().to_owned(),
                        source,
                    })
                }
            };
            let mut dir = Handle::Root(dir);
            let mut real = root.real().to_owned();
            let Some((last, folders)) = names.split_last() else {
                self.admit(&real)?;
                return Ok(Found::Target(Target {
                    dir,
                    name: None,
                    path: real,
                    index: covered.saturating_sub(1),
                    must_exist: false,
                }));
            };
            for (i, name) in folders.iter().enumerate() {
                let index = covered + i;
                match dir.open_dir_nofollow(name) {
                    Ok(opened) => {
                        dir = Handle::Opened(opened);
                        real.push(name);
                    }
                    Err(error) => {
                        if is_symlink(&dir, name) {
                            self.follow(&dir, &real, name, &names[i + 1..], index)?;
                            continue 'restart;
                        }
                        if error.kind() == io::ErrorKind::NotFound {
                            self.refuse_dangling(index)?;
                            if self.mode == Mode::Check {
                                real.extend(&names[i..]);
                                self.admit(&real)?;
                                return Ok(Found::Missing(real));
                            }
                        }
                        return Err(self.io(error));
                    }
                }
            }
            real.push(last);
            self.admit(&real)?;
            let index = covered + folders.len();
            return Ok(Found::Target(Target {
                dir,
                name: Some(last.clone()),
                path: real,
                index,
                must_exist: self.refuse_dangling(index).is_err(),
            }));
        }
    }

    /// Opens the path for reading in one system call if it is beneath a root and no component
    /// is a symbolic link (Linux's `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`):
    /// then its real path is the root's joined with the rest, exactly what the walk would find,
    /// and the patterns are checked on that before the call. `None` whenever the walk must
    /// decide: a link on the way, a refusal of the link-free reading (a link may lead into the
    /// scope), any error.
    #[cfg(target_os = "linux")]
    pub(super) fn open_without_links(&self) -> Option<std::fs::File> {
        use rustix::fs::{Mode, OFlags, ResolveFlags};

        let (root, _) = self
            .scope
            .roots
            .iter()
            .filter_map(|root| root.covers(&self.path, true).map(|n| (root, n)))
            .max_by_key(|&(root, covered)| (covered, root.is_shared()))?;
        let handle = root.handle().ok()?;
        let rest = root.rest(&self.path)?;
        let real = root.real().join(rest);
        self.admit(&real).ok()?;
        let fd = rustix::fs::openat2(
            handle,
            rest,
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        )
        .ok()?;
        Some(std::fs::File::from(fd))
    }

    /// Resolves to a target that exists up to its folder (every mode but `Check` gives one).
    pub(super) fn target(&mut self) -> Result<Target<'s>, PathScopeError> {
        match self.resolve()? {
            Found::Target(target) => Ok(target),
            Found::Missing(_) => Err(self.io(io::ErrorKind::NotFound.into())),
        }
    }

    /// If `target`'s last component is (now) a symbolic link, sets the walk to go on at its
    /// target and returns `true`. Either way it counts as a step towards the link limit, so a
    /// racing process flipping the entry cannot keep a caller looping.
    ///
    /// # Errors
    ///
    /// Too many links, or the link cannot be read.
    pub(super) fn follow_last(&mut self, target: &Target<'s>) -> Result<bool, PathScopeError> {
        let Some(name) = &target.name else {
            return Ok(false);
        };
        if !is_symlink(&target.dir, name) {
            self.count_link()?;
            return Ok(false);
        }
        let folder = target.path.parent().unwrap_or(&target.path).to_owned();
        self.follow(&target.dir, &folder, name, &[], target.index)?;
        Ok(true)
    }

    /// The error for `error`, met at `target`: a dangling link if the missing component came
    /// from one.
    pub(super) fn fail(&self, target: &Target<'_>, error: io::Error) -> PathScopeError {
        if error.kind() == io::ErrorKind::NotFound {
            if let Err(dangling) = self.refuse_dangling(target.index) {
                return dangling;
            }
        }
        self.io(error)
    }

    /// Whether a missing component at `index` means a link dangles.
    pub(super) fn refuse_dangling(&self, index: usize) -> Result<(), PathScopeError> {
        match &self.last_link {
            Some(link) if index < self.protected => Err(PathScopeError::DanglingSymlink {
                requested: self.requested.to_owned(),
                link: link.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Goes on at the target of the link `name` in `dir` (whose real path is `folder`), with
    /// the components `rest` after it; `index` is the link's among the path's components.
    fn follow(
        &mut self,
        dir: &Dir,
        folder: &Path,
        name: &OsStr,
        rest: &[OsString],
        index: usize,
    ) -> Result<(), PathScopeError> {
        self.count_link()?;
        let target = match dir.read_link_contents(name) {
            Ok(target) => target,
            // No longer a link (a racing process swapped it back): resolve the same path again.
            Err(error) if error.kind() == io::ErrorKind::InvalidInput => return Ok(()),
            Err(error) => return Err(self.io(error)),
        };
        // An absolute target replaces the folder; `..` in it is applied to the folder's real
        // path, as the kernel does, since the walk went through no link to get there.
        let base = resolve::lexical(&folder.join(target));
        let from_link = depth(&base);
        self.protected = from_link + self.protected.saturating_sub(index + 1);
        let mut path = base;
        path.extend(rest);
        self.path = path;
        self.last_link = Some(folder.join(name));
        self.realised = false;
        self.moved = true;
        Ok(())
    }

    /// Accepts the real path `path` if the patterns do (see `moved`).
    fn admit(&self, path: &Path) -> Result<(), PathScopeError> {
        let denied_already = !self.moved && path.as_os_str() == self.path.as_os_str();
        self.scope.admit(self.requested, path, !denied_already)
    }

    fn count_link(&mut self) -> Result<(), PathScopeError> {
        self.links += 1;
        if self.links > MAX_LINKS {
            return Err(self.io(io::Error::other("too many levels of symbolic links")));
        }
        Ok(())
    }

    fn not_allowed(&self, resolved: PathBuf) -> PathScopeError {
        PathScopeError::NotAllowed {
            requested: self.requested.to_owned(),
            resolved,
        }
    }

    pub(super) fn io(&self, source: io::Error) -> PathScopeError {
        PathScopeError::Io {
            requested: self.requested.to_owned(),
            source,
        }
    }
}

/// Whether `name` in `dir` is a symbolic link (at this instant).
fn is_symlink(dir: &Dir, name: &OsStr) -> bool {
    dir.symlink_metadata(name)
        .is_ok_and(|meta| meta.file_type().is_symlink())
}
