//! async against seed 004 read letter by letter: what the other async tests
//! do not pin (redeliveries whose attempts a reset or a shutdown drops,
//! clock moves whose attempts a shutdown drops, settings reloaded between
//! verifications). Sandbox time only moves through `POST /__admin/clock`;
//! the only real waits are for a webhook request to reach the test's own
//! receiver.

use std::time::Duration;

use mxid_sandbox::Source;
use serde_json::{json, Value};

use super::{
    create, deliveries, set_webhook, status, write_async_yaml, Answer, Hook, EPN, KEY, NSS, RFC,
};
use crate::common::{config, Sandbox};

// ---- tests -------------------------------------------------------------------

// README, async, Webhooks: "Every attempt runs on its own task: a target
// that hangs holds up no request, no shutdown (shutdown, and a reset, drop
// attempts in flight, redeliveries too: the redeliver route then answers
// 503)". A redelivery to a target that never answers, cut short by a reset
// of its namespace, answers 503 at once (not after webhook_timeout), and
// the fresh namespace lists no attempt.
#[tokio::test]
async fn a_redelivery_dropped_by_a_reset_answers_503_at_once() {
    let sb = Sandbox::start().await;
    let hook = Hook::start().await;
    hook.always(Answer::Hang);
    // Completed with no target, then pointed at one that never answers.
    let id = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 9})).await;
    sb.advance("2s").await;
    assert_eq!(status(&sb, &id).await["verificationStatus"], 4);
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    let started = std::time::Instant::now();
    let redeliver = sb.send_in_background(
        "POST",
        &format!("/__admin/webhooks/deliveries/{id}/redeliver"),
        &[],
        "",
    );
    hook.arrived(1).await;
    let r = sb.admin_post("/__admin/reset", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = tokio::time::timeout(Duration::from_secs(5), redeliver)
        .await
        .expect("the redeliver route answered")
        .unwrap()
        .expect("an answer, not a closed connection");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(r.status, 503, "{}", r.text());
    let e = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(e.contains("was dropped"), "{e}");
    assert!(deliveries(&sb).await.is_empty());
}

// README, async settings: "The settings below are a verification's from its
// creation: a reload that changes them (delays, retries, attempts, the
// timeout) applies to the verifications made after it, as a provider's new
// policy would." A verification made before a reload keeps the 2 s
// processing delay, the 15 min retry interval and the 5 attempts; one made
// after it takes the reloaded 10 s, 1 min and 2 attempts.
#[tokio::test]
async fn a_reload_of_the_settings_applies_only_to_verifications_made_after_it() {
    let dir = crate::common::temp_dir("async-reload-settings");
    let _gone = crate::common::RemovedOnDrop(dir.clone());
    write_async_yaml(&dir, &[]);
    let sb = Sandbox::start_with(mxid_sandbox::Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let hook = Hook::start().await;
    hook.always(Answer::Status(500));
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    let before = create(&sb, NSS, KEY, json!({"curp": EPN})).await;
    write_async_yaml(
        &dir,
        &[
            ("processing_delay: 2s", "processing_delay: 10s"),
            ("webhook_attempts: 5", "webhook_attempts: 2"),
            ("webhook_retry_interval: 15m", "webhook_retry_interval: 1m"),
        ],
    );
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let after = create(&sb, NSS, KEY, json!({"curp": "HEGJ900515HDFRRN01"})).await;
    sb.advance("2s").await;
    assert_eq!(status(&sb, &before).await["verificationStatus"], 3);
    assert_eq!(status(&sb, &after).await["verificationStatus"], 1);
    sb.advance("8s").await;
    assert_eq!(status(&sb, &after).await["verificationStatus"], 3);
    sb.advance("3h").await;
    let times = |id: &str, d: &[Value]| -> Vec<String> {
        d.iter()
            .filter(|e| e["verificationId"] == id)
            .map(|e| e["time"].as_str().unwrap().to_string())
            .collect()
    };
    let d = deliveries(&sb).await;
    assert_eq!(
        times(&before, &d),
        [
            "2024-05-15T10:00:02.000000-06:00",
            "2024-05-15T10:15:02.000000-06:00",
            "2024-05-15T10:30:02.000000-06:00",
            "2024-05-15T10:45:02.000000-06:00",
            "2024-05-15T11:00:02.000000-06:00",
        ]
    );
    assert_eq!(
        times(&after, &d),
        [
            "2024-05-15T10:00:10.000000-06:00",
            "2024-05-15T10:01:10.000000-06:00",
        ]
    );
    assert_eq!(hook.received().len(), 7);
    hook.always(Answer::Completed);
    for id in [&before, &after] {
        assert_eq!(status(&sb, id).await["verificationStatus"], 4);
    }
}

// README, async, Webhooks: "(shutdown, and a reset, drop attempts in flight,
// redeliveries too: the redeliver route then answers 503)". A redelivery to
// a target that never answers, in flight when the sandbox is shut down: the
// shutdown is not held up by it, and its admin client gets the 503 (not a
// connection closed under it).
#[tokio::test]
async fn a_redelivery_dropped_by_shutdown_answers_503() {
    let sb = Sandbox::start().await;
    let hook = Hook::start().await;
    hook.always(Answer::Hang);
    let id = create(&sb, RFC, KEY, json!({"curp": EPN, "state": 9})).await;
    sb.advance("2s").await;
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    let redeliver = sb.send_in_background(
        "POST",
        &format!("/__admin/webhooks/deliveries/{id}/redeliver"),
        &[],
        "",
    );
    hook.arrived(1).await;
    assert!(sb.stop_within(Duration::from_secs(3)).await);
    let r = tokio::time::timeout(Duration::from_secs(5), redeliver)
        .await
        .expect("the redeliver route answered")
        .unwrap()
        .expect("an answer, not a closed connection");
    assert_eq!(r.status, 503, "{}", r.text());
    let e = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(e.contains("was dropped"), "{e}");
}

// README, admin API: `POST /__admin/clock` "answers only once every status
// change and webhook attempt that the move made due has happened". An
// attempt the move made due that the shutdown drops never happens: the
// move answers 503 saying so, as a dropped redelivery does, not 200 as if
// it had. (A reset's drop answers 200 with the clock put back: see
// `a_reset_during_an_attempt_in_flight_records_nothing_after_it`.)
#[tokio::test]
async fn a_clock_move_whose_attempt_shutdown_drops_answers_503() {
    let sb = Sandbox::start().await;
    let hook = Hook::start().await;
    hook.always(Answer::Hang);
    set_webhook(&sb, KEY, json!({"url": hook.url})).await;
    create(&sb, RFC, KEY, json!({"curp": EPN, "state": 9})).await;
    let moved = sb.send_in_background("POST", "/__admin/clock", &[], r#"{"advance":"2s"}"#);
    hook.arrived(1).await;
    assert!(sb.stop_within(Duration::from_secs(3)).await);
    let r = tokio::time::timeout(Duration::from_secs(5), moved)
        .await
        .expect("the clock route answered")
        .unwrap()
        .expect("an answer, not a closed connection");
    assert_eq!(r.status, 503, "{}", r.text());
    let e = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(e.contains("shutting down"), "{e}");
}
