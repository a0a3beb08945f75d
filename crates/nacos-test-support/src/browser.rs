//! Headless Chromium for the devserver console's test: where the browser and its WebDriver
//! (chromedriver) are, and chromedriver started on a free port of 127.0.0.1.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::peers::{find_program, non_empty_env};
use crate::{free_port, wait_until};

/// How long chromedriver may take to accept connections.
const DRIVER_START: Duration = Duration::from_secs(20);

/// A Chromium and the chromedriver that drives it.
#[derive(Debug, Clone)]
pub struct Chromium {
    /// The browser: `$CHROMIUM_BIN`, else `chromium` on `PATH`.
    pub browser: PathBuf,
    /// Its WebDriver: `$CHROMEDRIVER_BIN`, else `chromedriver` on `PATH`.
    pub driver: PathBuf,
}

/// Chromium and chromedriver, when both are found (Debian's `chromium` and `chromium-driver`
/// packages, which `scripts/ci` installs). A variable that names no file gives `None`.
pub fn chromium_path() -> Option<Chromium> {
    let find = |var: &str, program: &str| match non_empty_env(var) {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => find_program(program),
    };
    Some(Chromium {
        browser: find("CHROMIUM_BIN", "chromium")?,
        driver: find("CHROMEDRIVER_BIN", "chromedriver")?,
    })
}

/// A chromedriver listening on a free port of 127.0.0.1, killed when dropped, with a fresh
/// browser profile directory removed then too.
#[derive(Debug)]
pub struct Chromedriver {
    child: Child,
    addr: SocketAddr,
    profile: tempfile::TempDir,
    browser: PathBuf,
}

impl Chromedriver {
    /// Starts chromedriver and waits until it accepts connections.
    ///
    /// # Errors
    ///
    /// It cannot be started, or does not listen within 20 s.
    pub fn start(chromium: &Chromium) -> io::Result<Chromedriver> {
        let profile = tempfile::tempdir()?;
        let port = free_port();
        let child = Command::new(&chromium.driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut driver = Chromedriver {
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            profile,
            browser: chromium.browser.clone(),
        };
        let up = wait_until(DRIVER_START, || {
            if let Ok(Some(_)) = driver.child.try_wait() {
                return true;
            }
            TcpStream::connect_timeout(&driver.addr, Duration::from_millis(200)).is_ok()
        });
        if let Ok(Some(status)) = driver.child.try_wait() {
            return Err(io::Error::other(format!("chromedriver exited: {status}")));
        }
        if !up {
            return Err(io::Error::other(format!(
                "chromedriver not listening on {} after {DRIVER_START:?}",
                driver.addr
            )));
        }
        Ok(driver)
    }

    /// The WebDriver URL to connect to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `goog:chromeOptions` capability: the browser headless, in the fresh profile, with
    /// everything that would reach beyond this machine off, and any host name but 127.0.0.1
    /// unresolvable.
    pub fn chrome_options(&self, width: u32, height: u32) -> serde_json::Value {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--hide-scrollbars",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([
            format!("--user-data-dir={}", self.profile.path().display()),
            format!("--window-size={width},{height}"),
        ])
        .collect::<Vec<_>>();
        serde_json::json!({ "binary": self.browser, "args": args })
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
