//! Which TCP connections a server keeps: at most `max_connections` open, of which at most
//! `max_handshakes` not yet upgraded to a WebSocket. A connection at the first limit is closed
//! at accept, before anything is read or allocated for it; one at the second limit makes room
//! by dropping the oldest handshake, so sockets that connect and say nothing cannot keep a
//! window out.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{oneshot, Notify};

use crate::limits::Limits;

/// The open connections of one server.
pub(crate) struct Admission {
    max_connections: usize,
    max_handshakes: usize,
    state: Mutex<State>,
    /// Notified when the last connection closes.
    idle: Notify,
}

#[derive(Default)]
struct State {
    /// Connections admitted and not yet closed or evicted, handshakes included.
    open: usize,
    /// The id of the next handshake; ids grow, so the first key is the oldest handshake.
    next: u64,
    /// Connections in their handshake, each with the way to evict it.
    handshakes: BTreeMap<u64, oneshot::Sender<()>>,
}

/// What [`Admission::accept`] decided about a new connection.
pub(crate) enum Admitted {
    /// Admitted as a handshake; `evicted` says whether the oldest handshake was dropped for it.
    Yes { handshake: Handshake, evicted: bool },
    /// Closed at accept: `max_connections` WebSockets are open.
    Full,
}

impl Admission {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            max_connections: limits.max_connections.max(1),
            max_handshakes: limits.max_handshakes.max(1),
            state: Mutex::new(State::default()),
            idle: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the counts consistent; a panic cannot break them.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a connection just accepted, as a handshake: when `max_handshakes` are in
    /// progress, or `max_connections` are open and some of them are handshakes, the oldest
    /// handshake is evicted for it. Refused only when `max_connections` WebSockets are open.
    pub(crate) fn accept(self: &Arc<Self>) -> Admitted {
        let mut state = self.lock();
        let mut evicted = false;
        if state.handshakes.len() >= self.max_handshakes || state.open >= self.max_connections {
            if let Some((_, evict)) = state.handshakes.pop_first() {
                state.open -= 1;
                // The handshake's task may have just ended: then nobody listens, and its
                // connection is gone anyway.
                let _ = evict.send(());
                evicted = true;
            }
        }
        if state.open >= self.max_connections {
            return Admitted::Full;
        }
        let id = state.next;
        state.next += 1;
        state.open += 1;
        let (tx, rx) = oneshot::channel();
        state.handshakes.insert(id, tx);
        Admitted::Yes {
            handshake: Handshake {
                id,
                evicted: Some(rx),
                admission: self.clone(),
            },
            evicted,
        }
    }

    /// Turns handshake `id` into an open WebSocket, which counts until the returned guard is
    /// dropped. `None` when the handshake was evicted meanwhile.
    pub(crate) fn upgrade(self: &Arc<Self>, id: u64) -> Option<Open> {
        // Dropping the sender tells the handshake's task it can no longer be evicted.
        self.lock().handshakes.remove(&id)?;
        Some(Open(self.clone()))
    }

    /// Connections open now, handshakes included.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.lock().open
    }

    fn close_one(&self) {
        let mut state = self.lock();
        state.open -= 1;
        if state.open == 0 {
            self.idle.notify_waiters();
        }
    }

    /// Waits until no connection is open.
    pub(crate) async fn all_closed(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.lock().open == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// A connection in its handshake. Dropping it ends the handshake: the connection no longer
/// counts, unless it was upgraded (then [`Open`] counts it) or evicted (already uncounted).
pub(crate) struct Handshake {
    id: u64,
    evicted: Option<oneshot::Receiver<()>>,
    admission: Arc<Admission>,
}

impl Handshake {
    /// This handshake's id, for [`Admission::upgrade`].
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Resolves when the handshake is evicted to make room for a newer one; never once it has
    /// been upgraded.
    pub(crate) async fn evicted(&mut self) {
        match &mut self.evicted {
            Some(rx) => match rx.await {
                Ok(()) => {}
                // Upgraded: the sender was dropped without a word.
                Err(_) => {
                    self.evicted = None;
                    std::future::pending::<()>().await;
                }
            },
            None => std::future::pending::<()>().await,
        }
    }
}

impl Drop for Handshake {
    fn drop(&mut self) {
        let mut state = self.admission.lock();
        if state.handshakes.remove(&self.id).is_some() {
            drop(state);
            self.admission.close_one();
        }
    }
}

/// Counts an open WebSocket until dropped.
pub(crate) struct Open(Arc<Admission>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.close_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(connections: usize, handshakes: usize) -> Arc<Admission> {
        Arc::new(Admission::new(
            &Limits::default()
                .max_connections(connections)
                .max_handshakes(handshakes),
        ))
    }

    fn admit(a: &Arc<Admission>) -> (Handshake, bool) {
        match a.accept() {
            Admitted::Yes { handshake, evicted } => (handshake, evicted),
            Admitted::Full => panic!("refused"),
        }
    }

    #[tokio::test]
    async fn the_oldest_handshake_makes_room() {
        let a = admission(10, 2);
        let (mut first, e1) = admit(&a);
        let (_second, e2) = admit(&a);
        assert!(!e1 && !e2);
        let (_third, e3) = admit(&a);
        assert!(e3);
        // The first was evicted and no longer counts.
        tokio::time::timeout(std::time::Duration::from_secs(1), first.evicted())
            .await
            .expect("evicted");
        assert_eq!(a.open(), 2);
        drop(first);
        assert_eq!(a.open(), 2);
    }

    #[tokio::test]
    async fn websockets_count_until_closed_and_fill_the_server() {
        let a = admission(2, 2);
        let (h1, _) = admit(&a);
        let (mut h2, _) = admit(&a);
        let ws1 = a.upgrade(h1.id()).expect("upgraded");
        drop(h1);
        let ws2 = a.upgrade(h2.id()).expect("upgraded");
        // An upgraded handshake is never evicted.
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), h2.evicted()).await;
        assert!(waited.is_err());
        drop(h2);
        assert_eq!(a.open(), 2);
        assert!(matches!(a.accept(), Admitted::Full));
        drop(ws1);
        let (h3, evicted) = admit(&a);
        assert!(!evicted);
        drop((h3, ws2));
        assert_eq!(a.open(), 0);
        tokio::time::timeout(std::time::Duration::from_secs(1), a.all_closed())
            .await
            .expect("all closed");
    }

    #[test]
    fn a_full_server_evicts_a_handshake_rather_than_refuse() {
        let a = admission(2, 8);
        let (h1, _) = admit(&a);
        let _ws = a.upgrade(h1.id()).expect("upgraded");
        let (h2, _) = admit(&a);
        let (_h3, evicted) = admit(&a);
        assert!(evicted);
        assert!(
            a.upgrade(h2.id()).is_none(),
            "an evicted handshake cannot upgrade"
        );
        assert_eq!(a.open(), 2);
    }
}
