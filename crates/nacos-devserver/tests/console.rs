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
/// page's Disable button disables it, which the client then reads from the server.
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

    let driver = Chromedriver::start(&chromium).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let page = format!("http://{}/nacos", server.addr());
    runtime
        .block_on(async {
            let mut capabilities = serde_json::Map::new();
            capabilities.insert(
                "goog:chromeOptions".into(),
                driver.chrome_options(1280, 760),
            );
            let browser = ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities)
                .connect(&driver.url())
                .await?;
            let driven = disable_from_the_page(&browser, &page).await;
            // The browser goes whatever happened; the test's own failure comes first.
            let closed = browser.close().await;
            driven?;
            closed.map_err(Failure::from)
        })
        .unwrap();

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
