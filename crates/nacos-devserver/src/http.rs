//! HTTP/1.1 on hyper: accepts connections, reads each request's parameters, checks the token in
//! auth mode, calls the handler and writes what it must persist before answering.
//!
//! Every request is bounded in time: its head must arrive within the request timeout of the
//! connection's last answer (or its start), and its body within the request timeout of its head
//! (else 408 and the connection closes). The number of connections is capped; at the cap the
//! longest waiter gives way (see `connections`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_TYPE, LOCATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::body::{BodyBudget, BodyError, MAX_BODY};
use crate::connections::{Connection, Connections};
use crate::doors::{self, Door};
use crate::handlers::{self, Context, Route};
use crate::params::Params;
use crate::reply::{ApiError, Reply};

/// How long a newcomer turned away at the cap may take to receive its 503.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// What every connection shares.
pub(crate) struct Shared {
    pub(crate) cx: Context,
    pub(crate) connections: Arc<Connections>,
    /// The time a request's head, then its body, may take to arrive.
    pub(crate) request_timeout: Duration,
    /// The memory request bodies may hold, all connections together.
    pub(crate) body_budget: BodyBudget,
}

/// Accepts connections until the runtime is shut down.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: give connections time to close.
                log::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Answers are small and written at once: no reason to wait for more.
        let _ = stream.set_nodelay(true);
        let Some(connection) = shared.connections.admit() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        tokio::spawn(serve_connection(
            stream,
            peer,
            Arc::new(connection),
            shared.clone(),
        ));
    }
}

/// Serves one connection until the client closes it, a request is too slow, or the connection
/// is shed to make room for a newcomer.
pub(crate) async fn serve_connection(
    stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
    peer: SocketAddr,
    connection: Arc<Connection>,
    shared: Arc<Shared>,
) {
    let request_timeout = shared.request_timeout;
    let service = service_fn({
        let connection = connection.clone();
        move |req| {
            let (shared, connection) = (shared.clone(), connection.clone());
            async move {
                let response = respond(&shared, &connection, peer, req).await;
                connection.waiting();
                Ok::<_, Infallible>(response)
            }
        }
    });
    let serving = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(request_timeout)
        // A client may shut its writing side once its request is out (SHUT_WR): it still
        // waits for the answer.
        .half_close(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        served = serving => {
            if let Err(e) = served {
                log::debug!("connection from {peer}: {e}");
            }
        }
        () = connection.shed() => {
            log::debug!("connection from {peer} closed to make room for a new one");
        }
    }
}

/// Tells a newcomer that every connection is busy answering, without waiting for its request.
async fn refuse(mut stream: TcpStream) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
        content-type: text/plain;charset=UTF-8\r\ncontent-length: 34\r\n\
        connection: close\r\n\r\ncaused: too many connections busy;";
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await
    })
    .await;
}

async fn respond(
    shared: &Shared,
    connection: &Connection,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let endpoint =
        Route::find(req.method().as_str(), req.uri().path()).map_or("other", Route::name);
    let response = respond_to(shared, connection, peer, req).await;
    shared
        .cx
        .registry
        .metrics()
        .request(endpoint, response.status().as_u16());
    response
}

async fn respond_to(
    shared: &Shared,
    connection: &Connection,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    match answer(shared, connection, peer, req).await {
        Ok(reply) => {
            let kind = reply.media.unwrap_or(if reply.json {
                "application/json;charset=UTF-8"
            } else {
                "text/plain;charset=UTF-8"
            });
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
            let mut answer = response(status, kind, reply.body);
            let bearer = reply
                .bearer
                .and_then(|token| HeaderValue::try_from(format!("Bearer {token}")).ok());
            if let Some(bearer) = bearer {
                answer.headers_mut().insert(AUTHORIZATION, bearer);
            }
            if let Some(location) = reply.location {
                let location = HeaderValue::from_static(location);
                answer.headers_mut().insert(LOCATION, location);
            }
            answer
        }
        Err(e) => {
            log::debug!("{peer}: {} {}", e.status, e.message);
            let status =
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = response(status, "text/plain;charset=UTF-8", e.body());
            if body_left_unread(status) {
                // The rest of a body not read may still come: not a next request.
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            response
        }
    }
}

async fn answer(
    shared: &Shared,
    connection: &Connection,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Reply, ApiError> {
    let (parts, body) = req.into_parts();
    let route = match doors::route(shared.cx.version, parts.method.as_str(), parts.uri.path()) {
        Door::Open(route) => route,
        Door::Shut(reply) => return Ok(reply),
        Door::Missing(e) => return Err(e),
    };
    let body =
        match tokio::time::timeout(shared.request_timeout, shared.body_budget.read(body)).await {
            Err(_) => {
                return Err(ApiError {
                    status: 408,
                    message: format!(
                        "request body not received within {} ms",
                        shared.request_timeout.as_millis()
                    ),
                })
            }
            Ok(Ok(body)) => body,
            Ok(Err(BodyError::TooLarge)) => {
                return Err(ApiError {
                    status: 413,
                    message: format!("request body larger than {MAX_BODY} bytes"),
                })
            }
            Ok(Err(BodyError::OverBudget)) => {
                return Err(ApiError {
                    status: 503,
                    message: "too many large request bodies in flight; try again".to_owned(),
                })
            }
            Ok(Err(BodyError::Unreadable(e))) => {
                return Err(ApiError::bad_request(format!("cannot read the body: {e}")))
            }
        };
    connection.answering();
    let form: &[u8] = if is_form(&parts.headers) {
        body.bytes()
    } else {
        b""
    };
    let params = Params::parse(parts.uri.query().unwrap_or("").as_bytes(), form);
    let token = params
        .get("accessToken")
        .or_else(|| header(&parts.headers, "accessToken"))
        .or_else(|| {
            header(&parts.headers, AUTHORIZATION.as_str()).and_then(|h| h.strip_prefix("Bearer "))
        });
    if let Some(refused) = doors::refuse_token(&shared.cx, route, token, parts.uri.path()) {
        return refused;
    }
    let mut reply = handlers::handle(&shared.cx, route, &params, peer)?;
    if let Some(receipt) = reply.persist.take() {
        // Answered only once the change is on disk (one sync shared with every write that
        // arrived meanwhile), so an acknowledged write survives a kill.
        if let Err(e) = receipt.written().await {
            log::error!("cannot persist: {e}");
            return Err(ApiError::internal(format!("cannot persist: {e}")));
        }
    }
    Ok(reply)
}

/// Whether an error answer leaves the request's body unread (too slow, too large, over the
/// budget): the connection then closes.
fn body_left_unread(status: StatusCode) -> bool {
    [
        StatusCode::REQUEST_TIMEOUT,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::SERVICE_UNAVAILABLE,
    ]
    .contains(&status)
}

/// A form body, or a body without a type (some clients send forms untyped).
fn is_form(headers: &HeaderMap) -> bool {
    match headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(kind) => kind
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded"),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn response(status: StatusCode, kind: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    response
}
