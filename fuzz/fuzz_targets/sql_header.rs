//! SQL rule header parser. The first byte is the length of the file stem, the rest the
//! stem and the file text. Invariants: nothing panics; an accepted rule's id is the stem,
//! its severity parses and citation and description are set; an error names the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tagtrail::checks::sql;
use tagtrail::vocab::Severity;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = usize::from(n % 64).min(rest.len());
    let Ok(stem) = std::str::from_utf8(&rest[..n]) else { return };
    let Ok(text) = std::str::from_utf8(&rest[n..]) else { return };
    if stem.is_empty() || stem.contains(['/', '\0']) || stem == "." || stem == ".." {
        return;
    }
    let path = Path::new("rules").join(format!("{stem}.sql"));
    match sql::parse(&path, text) {
        Ok(rule) => {
            assert_eq!(rule.id, stem);
            assert!(Severity::parse(&rule.severity).is_some());
            assert!(!rule.citation.is_empty() && !rule.description.is_empty());
        }
        Err(e) => assert!(e.to_string().contains(&path.display().to_string()), "{e}"),
    }
    let _ = sql::body(text);
});
