//! Awaiting the entries of a batch together, so that one slow `async` command does not hold up
//! the others (JSON-RPC lets a server answer a batch's requests in any order, or at once).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls every future until all are done; outputs in the order the futures were given.
pub(crate) struct JoinAll<'a, T> {
    slots: Vec<Slot<'a, T>>,
}

enum Slot<'a, T> {
    Pending(Pin<Box<dyn Future<Output = T> + Send + 'a>>),
    Done(Option<T>),
}

impl<'a, T> JoinAll<'a, T> {
    pub(crate) fn new(
        futures: impl IntoIterator<Item = Pin<Box<dyn Future<Output = T> + Send + 'a>>>,
    ) -> Self {
        Self {
            slots: futures.into_iter().map(Slot::Pending).collect(),
        }
    }
}

impl<T> Future for JoinAll<'_, T> {
    type Output = Vec<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let mut pending = false;
        for slot in self.slots.iter_mut() {
            if let Slot::Pending(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *slot = Slot::Done(Some(value)),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            return Poll::Pending;
        }
        let outputs = self
            .slots
            .iter_mut()
            .filter_map(|slot| match slot {
                Slot::Done(value) => value.take(),
                Slot::Pending(_) => None,
            })
            .collect();
        Poll::Ready(outputs)
    }
}

// Every slot is boxed, so moving the vector never moves a future.
impl<T> Unpin for JoinAll<'_, T> {}
