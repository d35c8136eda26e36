//! The kernel's bootargs parser (`kernel::bootargs`): any command line, refused or accepted,
//! never a panic; and what it accepts obeys the key table.
#![no_main]

use kernel::bootargs::{check_run, key, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The kernel gets `/chosen/bootargs` as a string (the devicetree parser checks UTF-8).
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    let parsed = parse(s);
    // Tokens are split on ASCII whitespace: any spacing parses the same.
    let spaced: Vec<&str> = s.split_ascii_whitespace().collect();
    assert_eq!(
        parsed,
        parse(&spaced.join(" ")),
        "spacing changed the result"
    );
    match parsed {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(args) => {
            for (i, k) in args.given.iter().enumerate() {
                assert!(key(k).is_some(), "accepted unknown key {k}");
                assert!(!args.given[i + 1..].contains(k), "accepted duplicate {k}");
            }
            match check_run(&args) {
                Ok(()) => {
                    for k in &args.given {
                        let readers = key(k).map(|d| d.runs);
                        assert!(
                            matches!(readers, Some(r) if r.includes(&args.run)),
                            "run={} accepted {k}, which it does not read",
                            args.run
                        );
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains("it belongs to run="), "{msg}");
                }
            }
        }
    }
});
