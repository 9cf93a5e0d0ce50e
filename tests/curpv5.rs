//! curpv5 (seed 003) against the real server.

use serde_json::json;

use crate::common::Sandbox;

const PATH: &str = "/api/curp/bycurp";
const KEY: (&str, &str) = ("apikey", "test-key");

#[tokio::test]
async fn success_has_every_documented_field() {
    let sb = Sandbox::start().await;
    let r = sb
        .post(PATH, &[KEY], json!({"curp": "PXNE660720HMCXTN06"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.scenario(), "success");
    let b = r.json();
    let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "isCURPValid",
            "curp",
            "lastName",
            "secondLastName",
            "firstName",
            "gender",
            "birthDate",
            "birthState",
            "nationalityCode",
            "proofDocumentType",
            "curpStatus",
            "inputDigest",
            "outputDigest",
            "timeStamp",
            "timeStampDigest",
            "validationDate",
            "ccbResponseCode",
            "ccbResponseDescription",
            "renapoResponseCode",
            "renapoResponseDescription",
            "warning"
        ]
    );
    assert_eq!(b["isCURPValid"], true);
    assert_eq!(b["curp"], "PXNE660720HMCXTN06");
    assert_eq!(b["gender"], "M");
    assert_eq!(b["birthDate"], "20/07/1966");
    assert_eq!(b["birthState"], "MC");
    assert_eq!(b["ccbResponseCode"], "CRGEN000");
    assert_eq!(b["validationDate"], "2024-05-15T10:00:00-06:00");
    assert_eq!(b["warning"], json!([]));
}

#[tokio::test]
async fn missing_apikey_is_curpsv001() {
    let sb = Sandbox::start().await;
    let r = sb
        .post(PATH, &[], json!({"curp": "PXNE660720HMCXTN06"}))
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"error": "CURPSV001", "message": "Access Denied. ApiKey header not found."})
    );
}
