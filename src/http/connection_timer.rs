//! The timer hyper uses for one connection's header deadline (see
//! [`crate::app::ConnectionLimits`]).
//!
//! hyper asks for a new timer each time it starts reading a request's headers, and drops it once
//! they are in. With tokio's timer behind each, every request on a keep-alive connection puts an
//! entry in the timer wheel and takes it out again, under the wheel's lock: a measurable part of
//! a cheap request. Here the connection has one tokio timer, armed once; each of hyper's timers
//! only notes its own deadline. The tokio timer is moved only when it fires before the deadline
//! hyper is now waiting for (a connection's deadlines only move forward), so a busy keep-alive
//! connection touches the wheel about once per timeout, not once per request.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};

/// One connection's timer; give each connection its own (`http1::Builder::timer`).
#[derive(Clone, Default)]
pub struct ConnectionTimer {
    /// The tokio timer shared by the connection's deadlines; made at the first wait.
    shared: Arc<Mutex<Option<Pin<Box<tokio::time::Sleep>>>>>,
}

impl Timer for ConnectionTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(Deadline {
            deadline: deadline.into(),
            shared: self.shared.clone(),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Deadline>() {
            Some(mut sleep) => sleep.deadline = new_deadline.into(),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// One of hyper's timers: ready at `deadline`, woken by the connection's tokio timer.
struct Deadline {
    deadline: tokio::time::Instant,
    shared: Arc<Mutex<Option<Pin<Box<tokio::time::Sleep>>>>>,
}

impl Sleep for Deadline {}

impl Future for Deadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        // One connection polls one deadline at a time: the lock is never contended.
        let mut shared = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let timer = shared.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() > deadline {
            timer.as_mut().reset(deadline);
        }
        loop {
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if tokio::time::Instant::now() >= deadline {
                return Poll::Ready(());
            }
            // It fired for an earlier deadline: wait on for this one.
            timer.as_mut().reset(deadline);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop() -> Context<'static> {
        Context::from_waker(std::task::Waker::noop())
    }

    #[tokio::test]
    async fn a_deadline_is_ready_once_it_has_passed_and_not_before() {
        let timer = ConnectionTimer::default();
        let mut later = timer.sleep(Duration::from_secs(3600));
        assert!(later.as_mut().poll(&mut noop()).is_pending());
        let soon = timer.sleep(Duration::from_millis(1));
        soon.await;
        assert!(later.as_mut().poll(&mut noop()).is_pending());
    }

    #[tokio::test]
    async fn later_deadlines_share_one_tokio_timer() {
        let timer = ConnectionTimer::default();
        let mut first = timer.sleep(Duration::from_secs(10));
        assert!(first.as_mut().poll(&mut noop()).is_pending());
        let armed = || timer.shared.lock().unwrap().as_ref().unwrap().deadline();
        let at_first = armed();
        drop(first);
        let mut second = timer.sleep(Duration::from_secs(20));
        assert!(second.as_mut().poll(&mut noop()).is_pending());
        // Still armed for the first deadline: it is moved only when it fires.
        assert_eq!(armed(), at_first);
    }

    #[tokio::test]
    async fn an_earlier_deadline_moves_the_timer_forward() {
        let timer = ConnectionTimer::default();
        let mut late = timer.sleep(Duration::from_secs(3600));
        assert!(late.as_mut().poll(&mut noop()).is_pending());
        drop(late);
        timer.sleep(Duration::from_millis(1)).await;
    }

    #[tokio::test]
    async fn reset_moves_a_deadline() {
        let timer = ConnectionTimer::default();
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        assert!(sleep.as_mut().poll(&mut noop()).is_pending());
        timer.reset(&mut sleep, Instant::now() + Duration::from_millis(1));
        sleep.await;
    }
}
