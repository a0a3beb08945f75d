//! Reading request bodies with the memory they may hold bounded across all connections.
//!
//! Every connection may hold a small body of its own ([`FREE_PER_REQUEST`]); what a body holds
//! beyond that is drawn from one budget that all connections share. A body that would overdraw
//! it is answered 503 at once (and its connection closed), while the small requests real
//! clients send go on being served. So a flood of connections each sending a large body slowly
//! holds at most the budget plus the small allowance per open connection, however many there
//! are, instead of the per-request maximum times the connection cap.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Largest request body read (form parameters); larger ones get 413.
pub(crate) const MAX_BODY: usize = 1 << 20;
/// What a body may hold without drawing from the shared budget.
pub(crate) const FREE_PER_REQUEST: usize = 64 * 1024;
/// The default shared budget for the bytes bodies hold beyond [`FREE_PER_REQUEST`].
pub(crate) const DEFAULT_BUDGET: usize = 64 << 20;

/// The bytes that bodies being read may hold beyond their free allowance, all connections
/// together.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    /// One permit per byte.
    bytes: Arc<Semaphore>,
}

impl BodyBudget {
    /// A budget of `bytes` (at most what a semaphore can count).
    pub(crate) fn new(bytes: usize) -> BodyBudget {
        BodyBudget {
            bytes: Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))),
        }
    }

    /// Reads the whole body, holding its bytes beyond the free allowance from the budget.
    pub(crate) async fn read(&self, mut body: Incoming) -> Result<HeldBody, BodyError> {
        let mut held = HeldBody::empty();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| BodyError::Unreadable(e.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers: not used
            };
            held.append(&data, self)?;
        }
        Ok(held)
    }
}

/// A body read whole; its bytes go back to the budget when it is dropped.
#[derive(Debug)]
pub(crate) struct HeldBody {
    bytes: Vec<u8>,
    _drawn: Option<OwnedSemaphorePermit>,
}

impl HeldBody {
    fn empty() -> HeldBody {
        HeldBody {
            bytes: Vec::new(),
            _drawn: None,
        }
    }

    /// The body's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn append(&mut self, data: &Bytes, budget: &BodyBudget) -> Result<(), BodyError> {
        let len = self.bytes.len() + data.len();
        if len > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        if len > self.bytes.capacity() {
            // Grown in powers of two, so what is held (the capacity) is what is counted.
            let capacity = len.next_power_of_two();
            let more = capacity.saturating_sub(FREE_PER_REQUEST)
                - self.bytes.capacity().saturating_sub(FREE_PER_REQUEST);
            if more > 0 {
                // MAX_BODY fits a u32.
                let more = u32::try_from(more).map_err(|_| BodyError::TooLarge)?;
                let drawn = budget
                    .bytes
                    .clone()
                    .try_acquire_many_owned(more)
                    .map_err(|_| BodyError::OverBudget)?;
                match &mut self._drawn {
                    Some(held) => held.merge(drawn),
                    None => self._drawn = Some(drawn),
                }
            }
            self.bytes.reserve_exact(capacity - self.bytes.len());
        }
        self.bytes.extend_from_slice(data);
        Ok(())
    }
}

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Larger than [`MAX_BODY`].
    TooLarge,
    /// Holding it would overdraw the shared budget.
    OverBudget,
    /// The connection failed while it was read.
    Unreadable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn available(budget: &BodyBudget) -> usize {
        budget.bytes.available_permits()
    }

    #[test]
    fn only_what_is_held_beyond_the_allowance_is_drawn_and_it_comes_back() {
        let budget = BodyBudget::new(256 * 1024);
        let mut small = HeldBody::empty();
        small
            .append(&Bytes::from(vec![b'a'; 60 * 1024]), &budget)
            .unwrap();
        assert_eq!(available(&budget), 256 * 1024, "within the allowance");

        let mut large = HeldBody::empty();
        for _ in 0..100 {
            large
                .append(&Bytes::from(vec![b'b'; 1024]), &budget)
                .unwrap();
        }
        assert_eq!(large.bytes().len(), 100 * 1024);
        // 100 KiB is held in 128 KiB, 64 KiB of it beyond the allowance.
        assert_eq!(available(&budget), 192 * 1024);

        let mut another = HeldBody::empty();
        assert_eq!(
            another.append(&Bytes::from(vec![b'c'; 300 * 1024]), &budget),
            Err(BodyError::OverBudget),
            "512 KiB held would need 448 KiB"
        );
        assert_eq!(available(&budget), 192 * 1024, "a refusal draws nothing");
        drop(large);
        assert_eq!(available(&budget), 256 * 1024);
        drop(small);
    }

    #[test]
    fn a_body_over_the_maximum_is_refused() {
        let budget = BodyBudget::new(DEFAULT_BUDGET);
        let mut body = HeldBody::empty();
        body.append(&Bytes::from(vec![0; MAX_BODY]), &budget)
            .unwrap();
        assert_eq!(
            body.append(&Bytes::from_static(b"x"), &budget),
            Err(BodyError::TooLarge)
        );
    }
}
