//! The web console in a real browser: headless Chromium driven through chromedriver.
//!
//! With `CONSOLE_SCREENSHOT=<file.png>` the test also saves a screenshot of the populated page
//! there (the README's `docs/console.png` is made so).

use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use nacos_devserver::DevServer;
use nacos_naming::NamingClient;
use nacos_test_support::{expect_within, skip_unless_chromium, Chromedriver};

/// How long the page may take to show what the server holds (it polls every second).
const PAGE_WAIT: Duration = Duration::from_secs(20);

/// Metadata that would run as script if the page rendered it as HTML.
const HOSTILE: &str = "<img src=x onerror=alert(1)><script>alert(2)</script>";

type Failure = Box<dyn std::error::Error>;

/// An instance the client registers appears on the page with its metadata shown as text; the
/// page's Disable button disables it and its weight field sets another's weight, which the
/// client then reads from the server.
#[test]
fn an_instance_the_client_registers_is_disabled_from_the_page() {
    let chromium = skip_unless_chromium!();
    // No expiry while the browser starts, however slow the machine.
    let server = DevServer::builder()
        .expire_timeout(Duration::from_secs(600))
        .health_timeout(Duration::from_secs(600))
        .start()
        .unwrap();
    let client = NamingClient::builder()
        .server_addresses(server.addr().to_string())
        .build()
        .unwrap();
    let register = |ip: &str, port: u16, metadata: &[(&str, &str)]| {
        client
            .add_naming_instance("orders", ip, port)
            .group_name("shop")
            .metadata(metadata.iter().copied())
            .send()
            .unwrap();
    };
    register(
        "127.0.0.1",
        8080,
        &[("version", "1.4.2"), ("note", HOSTILE)],
    );
    register("127.0.0.2", 8080, &[("version", "1.4.2")]);
    client
        .add_naming_instance("payments", "127.0.0.3", 9090)
        .group_name("shop")
        .cluster_name("eu")
        .weight(2.0)
        .ephemeral(false)
        .send()
        .unwrap();

    let browser = Browser::open(&chromium);
    let page = format!("http://{}/nacos", server.addr());
    browser.run(|b| disable_from_the_page(b, &page));

    expect_within("the client reads the instance disabled", PAGE_WAIT, || {
        client
            .get_naming_instance("orders", "127.0.0.1", 8080)
            .group_name("shop")
            .send()
            .is_ok_and(|instance| !instance.enabled)
    });
    let other = client
        .get_naming_instance("orders", "127.0.0.2", 8080)
        .group_name("shop")
        .send()
        .unwrap();
    assert!(other.enabled, "only the instance clicked is disabled");
    assert_eq!(other.weight, 2.5, "its weight set from the page");
}

/// In auth mode the page asks for a login; once logged in it shows the services and
/// registers an instance from its form.
#[test]
fn in_auth_mode_the_page_logs_in_and_registers() {
    let chromium = skip_unless_chromium!();
    let server = DevServer::builder()
        .auth("nacos", "secret")
        .start()
        .unwrap();
    let client = NamingClient::builder()
        .server_addresses(server.addr().to_string())
        .username("nacos")
        .password("secret")
        .build()
        .unwrap();
    client
        .add_naming_instance("inventory", "127.0.0.1", 7000)
        .ephemeral(false)
        .send()
        .unwrap();

    let browser = Browser::open(&chromium);
    let page = format!("http://{}/nacos/", server.addr());
    browser.run(|b| log_in_and_register(b, &page));

    expect_within(
        "the client finds the page's registration",
        PAGE_WAIT,
        || {
            client
                .get_naming_instance("catalog", "127.0.0.9", 7100)
                .cluster_name("eu")
                .send()
                .is_ok_and(|i| !i.ephemeral && i.weight == 3.0 && i.metadata["tier"] == "gold")
        },
    );
}

async fn log_in_and_register(browser: &Client, page: &str) -> Result<(), Failure> {
    browser.goto(page).await?;
    let user = wait_for(browser, "#login-form input[name=username]").await?;
    wait_until_displayed(&user).await?;
    user.send_keys("nacos").await?;
    let password = browser
        .find(Locator::Css("#login-form input[name=password]"))
        .await?;
    password.send_keys("secret").await?;
    browser
        .find(Locator::Css("#login-form button[type=submit]"))
        .await?
        .click()
        .await?;
    wait_for(browser, r#"tr[data-service="DEFAULT_GROUP@@inventory"]"#).await?;
    assert!(
        !browser
            .find(Locator::Id("login"))
            .await?
            .is_displayed()
            .await?
    );

    let form = browser.find(Locator::Id("register-form")).await?;
    for (field, value) in [
        ("serviceName", "catalog"),
        ("ip", "127.0.0.9"),
        ("port", "7100"),
        ("metadata", "tier=gold"),
    ] {
        let input = form
            .find(Locator::Css(&format!("input[name={field}]")))
            .await?;
        input.send_keys(value).await?;
    }
    for (field, value) in [("clusterName", "eu"), ("weight", "3")] {
        let input = form
            .find(Locator::Css(&format!("input[name={field}]")))
            .await?;
        input.clear().await?;
        input.send_keys(value).await?;
    }
    form.find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;
    // The page shows the new instance, whose service it selects.
    wait_for(browser, r#"tr[data-instance="eu 127.0.0.9:7100"]"#).await?;
    Ok(())
}

async fn wait_until_displayed(element: &Element) -> Result<(), Failure> {
    let deadline = std::time::Instant::now() + PAGE_WAIT;
    while !element.is_displayed().await? {
        if std::time::Instant::now() > deadline {
            return Err("the login form is not shown".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// A headless Chromium session through a chromedriver of its own, closed when dropped.
struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    _driver: Chromedriver,
}

impl Browser {
    fn open(chromium: &nacos_test_support::Chromium) -> Browser {
        let driver = Chromedriver::start(chromium).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            driver.chrome_options(1280, 760),
        );
        let client = runtime
            .block_on(
                ClientBuilder::new(HttpConnector::new())
                    .capabilities(capabilities)
                    .connect(&driver.url()),
            )
            .unwrap();
        Browser {
            runtime,
            client: Some(client),
            _driver: driver,
        }
    }

    /// Runs `drive` on the session; panics with its error.
    fn run<'a, F>(&'a self, drive: impl FnOnce(&'a Client) -> F)
    where
        F: std::future::Future<Output = Result<(), Failure>>,
    {
        let client = self.client.as_ref().unwrap();
        if let Err(e) = self.runtime.block_on(drive(client)) {
            panic!("in the browser: {e}");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
    }
}

async fn disable_from_the_page(browser: &Client, page: &str) -> Result<(), Failure> {
    // `/nacos` redirects to the page at `/nacos/`.
    browser.goto(page).await?;
    assert!(browser.current_url().await?.as_str().ends_with("/nacos/"));

    wait_for(browser, r#"tr[data-service="shop@@orders"]"#)
        .await?
        .click()
        .await?;
    let row = r#"tr[data-instance="DEFAULT 127.0.0.1:8080"]"#;
    let shown = wait_for(browser, &format!(r#"{row}[data-enabled="true"]"#)).await?;
    let cells = shown.find_all(Locator::Css("td")).await?;
    let metadata = cells[6].text().await?;
    assert!(
        metadata.contains(&format!("note = {HOSTILE}")),
        "metadata shown as text: {metadata:?}"
    );
    // Had the metadata run as HTML, its handlers would have left an alert open, and no
    // image element would be in the table.
    assert!(browser.get_alert_text().await.is_err(), "an alert opened");
    assert!(shown
        .find_all(Locator::Css("img, script"))
        .await?
        .is_empty());
    let definition = browser
        .find(Locator::Id("service-definition"))
        .await?
        .text()
        .await?;
    assert_eq!(definition, "protection threshold 0 · metadata none");
    let services = browser.find(Locator::Id("services")).await?.text().await?;
    assert!(
        services.contains("orders") && services.contains("payments"),
        "{services}"
    );

    if let Some(path) = std::env::var_os("CONSOLE_SCREENSHOT") {
        std::fs::write(path, browser.screenshot().await?)?;
    }

    shown
        .find(Locator::Css("button.toggle-enabled"))
        .await?
        .click()
        .await?;
    // The page shows what the server now holds.
    wait_for(browser, &format!(r#"{row}[data-enabled="false"]"#)).await?;

    let other = wait_for(browser, r#"tr[data-instance="DEFAULT 127.0.0.2:8080"]"#).await?;
    let weight = other.find(Locator::Css("input.weight")).await?;
    weight.clear().await?;
    weight.send_keys("2.5").await?;
    other
        .find(Locator::Css("button.set-weight"))
        .await?
        .click()
        .await?;
    wait_for(
        browser,
        r#"tr[data-instance="DEFAULT 127.0.0.2:8080"][data-weight="2.5"]"#,
    )
    .await?;
    Ok(())
}

async fn wait_for(browser: &Client, css: &str) -> Result<Element, Failure> {
    browser
        .wait()
        .at_most(PAGE_WAIT)
        .every(Duration::from_millis(50))
        .for_element(Locator::Css(css))
        .await
        .map_err(|e| format!("{css} not on the page within {PAGE_WAIT:?}: {e}").into())
}
