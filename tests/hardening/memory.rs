//! What the sandbox keeps, against the bounds README, Limitations states:
//! no request makes an entry, a target or a listing hold more than them.

use serde_json::{json, Value};

use crate::common::{config, Sandbox, Served};
use mxid_sandbox::Config;

const PATH: &str = "/api/curp/bycurp";

// README, Admin API: "an entry keeps … 2 KB of the method, path, query and
// CURP". hyper takes an extension method as long as its head (400 KB) and
// keeps it on the heap: the journal kept it whole, and 1,000 requests with a
// 100 KB method grew the process by 104 MB.
#[tokio::test]
async fn the_journal_keeps_2_kb_of_a_long_method() {
    let sb = Sandbox::start().await;
    let method = "M".repeat(100 * 1024);
    let r = sb.send(&method, PATH, &[("apikey", "k")], "").await;
    assert_eq!(r.status, 405, "{}", r.text());
    let listed = sb.admin_get("/__admin/requests").await;
    assert_eq!(listed[0]["method"], "M".repeat(2048));
    // A method that fits is kept as sent.
    let r = sb.send("PURGE", PATH, &[("apikey", "k")], "").await;
    assert_eq!(r.status, 405, "{}", r.text());
    assert_eq!(
        sb.admin_get("/__admin/requests").await[1]["method"],
        "PURGE"
    );
}

// Listing a journal is written entry by entry. As one `Value` tree, a
// journal of 16 KB bodies of `[0,0,…]` (8,192 values each) took hundreds of
// MB to list (40 → 472 MB for 1,000 entries). Here 100 such entries: the
// process's peak may grow by the listing's text and a copy of the entries
// (about 3.3 MB), not by the 60 MB of their trees.
#[tokio::test]
async fn listing_the_journal_costs_about_its_text() {
    let served = Served::start(&["--port", "0", "--journal-limit", "100"], &[]);
    let zeros = format!("[{}0]", "0,".repeat(8190));
    let sent: Vec<_> = (0..100)
        .map(|_| served.send_in_background("POST", PATH, &[("apikey", "k")], zeros.clone()))
        .collect();
    for s in sent {
        assert_eq!(s.await.unwrap().unwrap().status, 400);
    }
    let before = served.memory_kb("VmHWM");
    let listed = served.admin_get("/__admin/requests").await;
    assert_eq!(listed.as_array().unwrap().len(), 100);
    assert_eq!(listed[99]["body"].as_array().unwrap().len(), 8191);
    let grew = served.memory_kb("VmHWM") - before;
    assert!(
        grew < 30 * 1024,
        "the listing took {grew} KB more at its peak"
    );
}

/// PUT /__admin/webhooks/{key} with `body`: the status and error text.
async fn put(sb: &Sandbox, key: &str, body: Value) -> (u16, String) {
    put_text(sb, key, body.to_string()).await
}

/// [`put`] with the body written already (a test sending thousands).
async fn put_text(sb: &Sandbox, key: &str, body: impl Into<bytes::Bytes>) -> (u16, String) {
    let r = sb
        .send(
            "PUT",
            &format!("/__admin/webhooks/{key}"),
            &[("content-type", "application/json")],
            body,
        )
        .await;
    if r.status == 200 {
        return (200, String::new());
    }
    let text = r.json()["error"].as_str().unwrap_or_default().to_string();
    (r.status, text)
}

// README, Admin API: a webhook URL and header apikey of at most 2,048
// bytes, a route apikey of 256 (a credential's bound), at most 1,000
// targets a namespace. Neither was bounded: 200 PUTs of 500 KB
// apikeys grew the process by 109 MB, and every attempt lists its URL.
#[tokio::test]
async fn webhook_targets_are_bounded_in_size_and_number() {
    let sb = Sandbox::start_with(Config {
        journal_limit: 10,
        ..config()
    })
    .await;
    let url = |len: usize| {
        let root = "http://127.0.0.1:9/";
        format!("{root}{}", "h".repeat(len - root.len()))
    };
    assert_eq!(put(&sb, "k", json!({"url": url(2048)})).await.0, 200);
    let (status, why) = put(&sb, "k", json!({"url": url(2049)})).await;
    assert_eq!(status, 400);
    assert_eq!(why, "a webhook URL of 2049 bytes: at most 2048");
    // The route's apikey is a credential a request presents: 256 bytes.
    let (status, why) = put(&sb, &"k".repeat(257), json!({"url": url(30)})).await;
    assert_eq!(status, 400);
    assert_eq!(
        why,
        "an apikey of 257 bytes: a credential is at most 256 bytes, so no verification is made with a longer one"
    );
    assert_eq!(
        put(&sb, &"k".repeat(256), json!({"url": url(30)})).await.0,
        200
    );
    let header = |len: usize| json!({"url": url(30), "apikey": "a".repeat(len)});
    assert_eq!(put(&sb, "k", header(2048)).await.0, 200);
    let (status, why) = put(&sb, "k", header(2049)).await;
    assert_eq!(status, 400);
    assert!(why.contains("of at most 2048 bytes"), "{why}");
    for i in 2..1000 {
        assert_eq!(
            put(&sb, &format!("k{i}"), json!({"url": url(30)})).await.0,
            200
        );
    }
    let (status, why) = put(&sb, "one-more", json!({"url": url(30)})).await;
    assert_eq!(status, 400);
    assert!(
        why.contains("too many webhook targets in this namespace (at most 1000)"),
        "{why}"
    );
    // One that is set can be changed; one deleted makes room.
    assert_eq!(put(&sb, "k", json!({"url": url(40)})).await.0, 200);
    assert_eq!(sb.admin_delete("/__admin/webhooks/k2").await.status, 200);
    assert_eq!(put(&sb, "one-more", json!({"url": url(30)})).await.0, 200);
    assert_eq!(sb.admin_count("/__admin/webhooks").await, 1000);
}

// README, Decisions ("What requests store is bounded across namespaces
// too"): the webhook targets set in every namespace together hold at most
// 16 MB, beyond 64 KB each namespace keeps whatever the others hold.
// 1,025 namespaces of 1,000 targets of some 4 KB would hold 4 GB.
#[tokio::test]
async fn webhook_targets_are_bounded_in_all_namespaces_together() {
    let sb = Sandbox::start().await;
    let root = "http://127.0.0.1:9/";
    let big = json!({
        "url": format!("{root}{}", "h".repeat(2048 - root.len())),
        "apikey": "a".repeat(2048),
    });
    let big_text = bytes::Bytes::from(big.to_string());
    // A route apikey of 256 bytes: a target of some 4.4 KB in all.
    let key = |i: usize, ns: &str| format!("{i:0>256}?namespace={ns}");
    let fill = |ns: &'static str| {
        let (sb, big) = (&sb, &big_text);
        async move {
            for i in 0..1000 {
                let (status, why) = put_text(sb, &key(i, ns), big.clone()).await;
                if status != 200 {
                    return (i, status, why);
                }
            }
            (1000, 200, String::new())
        }
    };
    let filled = tokio::join!(fill("f0"), fill("f1"), fill("f2"), fill("f3"), fill("f4"));
    let filled = [filled.0, filled.1, filled.2, filled.3, filled.4];
    let set: usize = filled.iter().map(|f| f.0).sum();
    // 16 MB of 4.4 KB, and some of the floors.
    assert!((3_700..3_900).contains(&set), "{set} set");
    for (_, status, why) in &filled {
        assert_eq!(*status, 507);
        assert_eq!(
            why,
            "no room for this target in what the webhook targets of every namespace may hold together (16 MB beyond the first 64 KB of each); delete some with DELETE /__admin/webhooks/{apikey}, or free a namespace with POST /__admin/reset?namespace=NAME"
        );
    }
    // A namespace keeps its floor (some fourteen of these) whatever the
    // others hold.
    for i in 0..14 {
        assert_eq!(put(&sb, &key(i, "late"), big.clone()).await.0, 200);
    }
    let past = put(&sb, &key(14, "late"), big.clone()).await.0;
    let past = if past == 200 {
        put(&sb, &key(15, "late"), big.clone()).await.0
    } else {
        past
    };
    assert_eq!(past, 507);
    // A smaller one in place of one is always taken.
    assert_eq!(put(&sb, &key(0, "f0"), json!({"url": root})).await.0, 200);
    // Room comes back as a namespace is freed.
    let r = sb
        .send("POST", "/__admin/reset?namespace=f1", &[], "")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(put(&sb, &key(16, "late"), big.clone()).await.0, 200);
}
