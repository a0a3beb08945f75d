//! A one-shot HTTP request, for tests that look at a server behind the client's back.

use std::time::Duration;

/// A server's answer: status and body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body, decoded as UTF-8 (lossily).
    pub body: String,
}

/// Sends `method path_and_query` to `http://{address}` with an empty body and returns the
/// answer, whatever its status. Errors are transport errors only (refused, timed out after
/// 5 s). Tests use it to check what a server holds without going through the client under test.
pub fn http(address: &str, method: &str, path_and_query: &str) -> Result<HttpAnswer, String> {
    let url = format!("http://{address}{path_and_query}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let answer = match method {
        "GET" => agent.get(&url).call(),
        "DELETE" => agent.delete(&url).call(),
        "POST" => agent.post(&url).send_empty(),
        "PUT" => agent.put(&url).send_empty(),
        other => return Err(format!("unsupported method {other}")),
    };
    let mut answer = answer.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = answer.status().as_u16();
    let body = answer
        .body_mut()
        .read_to_vec()
        .map_err(|e| format!("{method} {url}: reading the body: {e}"))?;
    Ok(HttpAnswer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
