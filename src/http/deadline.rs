//! The request deadline: a request not answered within [`super::REQUEST_TIMEOUT`] (a body that
//! trickles in, a handler stuck on something) is answered 408 and dropped, so no client can
//! hold a worker forever.
//!
//! tower-http's `TimeoutLayer` does the same, but arms a timer for every request: an entry in
//! tokio's timer wheel, made and removed under its lock, even for the answers that are ready at
//! their first poll, which is most of them. Here the timer is armed only when the answer first
//! has to wait, for what is left of the deadline.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

/// Answers 408 to a request still unanswered `timeout` after it arrived.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    timeout: Duration,
}

impl DeadlineLayer {
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            timeout: self.timeout,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    timeout: Duration,
}

impl<S> Service<Request> for Deadline<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Bounded<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        Bounded {
            inner: self.inner.call(request),
            deadline: Instant::now() + self.timeout,
            timer: None,
        }
    }
}

pin_project! {
    /// An answer with a deadline; its timer exists only once the answer has had to wait.
    pub struct Bounded<F> {
        #[pin]
        inner: F,
        deadline: Instant,
        timer: Option<Pin<Box<Sleep>>>,
    }
}

impl<F> Future for Bounded<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(answer) = this.inner.poll(cx) {
            return Poll::Ready(answer);
        }
        let deadline = *this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Ok(StatusCode::REQUEST_TIMEOUT.into_response())),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    fn request() -> Request {
        Request::new(Body::empty())
    }

    #[tokio::test]
    async fn an_answer_ready_at_once_is_passed_on_at_the_first_poll() {
        let service = DeadlineLayer::new(Duration::from_secs(30)).layer(tower::service_fn(
            |_: Request| async { Ok::<_, Infallible>(StatusCode::IM_A_TEAPOT.into_response()) },
        ));
        let mut answer = std::pin::pin!(service.oneshot(request()));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let Poll::Ready(Ok(response)) = answer.as_mut().poll(&mut cx) else {
            panic!("a ready answer is ready at the first poll");
        };
        assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    }

    #[tokio::test]
    async fn an_answer_that_never_comes_is_a_408_at_the_deadline() {
        let service =
            DeadlineLayer::new(Duration::from_millis(1)).layer(tower::service_fn(|_: Request| {
                std::future::pending::<Result<Response, Infallible>>()
            }));
        let Ok(response) = service.oneshot(request()).await;
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    }

    #[tokio::test]
    async fn an_answer_that_waits_within_the_deadline_is_passed_on() {
        let (answer, answered) = tokio::sync::oneshot::channel::<StatusCode>();
        let answered = std::sync::Mutex::new(Some(answered));
        let service = DeadlineLayer::new(Duration::from_secs(3600)).layer(tower::service_fn(
            move |_: Request| {
                let answered = answered.lock().unwrap().take().unwrap();
                async move { Ok::<_, Infallible>(answered.await.unwrap().into_response()) }
            },
        ));
        let waiting = tokio::spawn(service.oneshot(request()));
        tokio::task::yield_now().await;
        answer.send(StatusCode::ACCEPTED).unwrap();
        let Ok(response) = waiting.await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
}
