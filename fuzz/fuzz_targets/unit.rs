//! Unit, number, boolean and Item.QuantityType parsers. Invariants: nothing panics; a unit
//! has a positive finite factor and its canonical name parses to itself; ASCII case does
//! not matter; a number is finite; a quantity type's own name parses back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagtrail::ingest::normalize::{parse_bool, parse_item_quantity_type, parse_number, parse_unit};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let unit = parse_unit(s);
    if let Some(u) = unit {
        assert!(u.factor.is_finite() && u.factor > 0.0, "{u:?}");
        assert_eq!(parse_unit(u.name), Some(u));
    }
    if s.is_ascii() {
        assert_eq!(parse_unit(&s.to_ascii_uppercase()), unit, "{s:?}");
        assert_eq!(parse_bool(&s.to_ascii_uppercase()), parse_bool(s), "{s:?}");
    }
    if let Ok(x) = parse_number(s) {
        assert!(x.is_finite(), "{s:?} → {x}");
    }
    let _ = parse_bool(s);
    if let Some(q) = parse_item_quantity_type(s) {
        assert_eq!(parse_item_quantity_type(q.as_str()), Some(q));
    }
});
