//! `keyseal demo`, the README's main command, runs end to end on a scratch store — and
//! again on the same store.

mod common;

use common::Keyseal;

#[test]
fn the_demo_runs_twice_on_one_store() {
    let ks = Keyseal::new();
    for round in 1..=2 {
        let dir = ks.file(&format!("demo-{round}"));
        let run = ks.run(&["demo", "--dir", dir.to_str().unwrap()]);
        assert_eq!(run.status, 0, "round {round}:\n{}\n{}", run.stdout, run.stderr);
        for step in [
            "keyseal ca init",
            "keyseal ca issue",
            "keyseal sign",
            "keyseal verify",
            "MODIFIED linux/app: caught",
            "still verifies",
            "keyseal audit verify",
        ] {
            assert!(run.stdout.contains(step), "round {round} lacks {step:?}:\n{}", run.stdout);
        }
        assert!(dir.join("release/keyseal.bundle.json").exists() && dir.join("root.pem").exists());
    }
    assert_eq!(ks.run(&["audit", "verify"]).status, 0);
    // What the demo left behind verifies with the CLI, as its output says it would.
    let dir = ks.file("demo-1");
    let verified = ks.run(&[
        "verify",
        dir.join("release").to_str().unwrap(),
        "--bundle",
        dir.join("release/keyseal.bundle.json").to_str().unwrap(),
        "--trust",
        dir.join("root.pem").to_str().unwrap(),
    ]);
    assert_eq!(verified.status, 0, "{}", verified.stdout);
}
