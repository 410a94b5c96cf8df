//! Sums whose bits do not depend on the order of their terms.
//!
//! Polars adds a group's values in whatever order its threads hand them over (a group by
//! with few groups runs on the streaming engine, which merges per-thread partial sums as
//! they finish), so float totals over many rows differed in the last bits between runs,
//! thread counts and batch sizes. [`ExactSum`] keeps the exact sum (Shewchuk's algorithm,
//! as Python's `math.fsum`) and rounds once at the end: the result is the correctly
//! rounded sum of the terms, whatever their order, chunking or grouping.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::error::{PolarsContext, Result};

/// The exact sum of finite `f64` terms as non-overlapping partials (smallest first).
/// Terms that are infinite or NaN make the sum their own (IEEE) sum. A running sum beyond
/// `f64::MAX` is not supported (quantities are nowhere near).
#[derive(Debug, Clone, Default)]
pub struct ExactSum {
    partials: Vec<f64>,
    special: Option<f64>,
}

impl ExactSum {
    /// Add one term (exactly).
    pub fn add(&mut self, term: f64) {
        if !term.is_finite() {
            // inf + inf, inf + NaN, … do not depend on the order either.
            self.special = Some(self.special.map_or(term, |s| s + term));
            return;
        }
        let mut x = term;
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// Add another exact sum (exactly): merging partial sums in any order gives the same.
    pub fn merge(&mut self, other: &ExactSum) {
        for &p in &other.partials {
            self.add(p);
        }
        if let Some(s) = other.special {
            self.add(s);
        }
    }

    /// The exact sum rounded to the nearest `f64` (ties to even); 0 without terms.
    pub fn value(&self) -> f64 {
        if let Some(s) = self.special {
            return s;
        }
        let p = &self.partials;
        let Some(mut n) = p.len().checked_sub(1) else {
            return 0.0;
        };
        // Add from the largest partial down until a rounding error appears.
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        // The partials below can tip a tie (lo exactly half an ulp) one way: round half
        // to even across all of them, not just the top two.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

/// Per group of the two string `keys`, the exact sum of each of `values` (input column,
/// output name), with the same bits for any row order: one pass over the collected rows,
/// groups in key order (nulls first). Null values are skipped and a group of nulls sums
/// to 0, as Polars' `sum`; null keys form groups, as in Polars' `group_by`.
pub fn exact_group_sums(
    lf: LazyFrame,
    keys: [&str; 2],
    values: &[(&str, &str)],
) -> Result<DataFrame> {
    let mut select: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    select.extend(values.iter().map(|(v, _)| col(*v).cast(DataType::Float64)));
    let df = lf.select(select).collect().ctx(|| "terms of exact sums".into())?;
    let key_cols = keys
        .iter()
        .map(|k| df.column(k).and_then(|c| c.str().cloned()))
        .collect::<PolarsResult<Vec<_>>>()
        .ctx(|| "exact sum keys".into())?;
    let value_cols = values
        .iter()
        .map(|(v, _)| df.column(v).and_then(|c| c.f64().cloned()))
        .collect::<PolarsResult<Vec<_>>>()
        .ctx(|| "exact sum terms".into())?;

    type Key = (Option<String>, Option<String>);
    let mut groups: BTreeMap<Key, Vec<ExactSum>> = BTreeMap::new();
    // Rows come in long runs of one key (each table's rows by license), so the map is
    // only looked up where the key changes.
    let mut run: Option<(Option<&str>, Option<&str>)> = None;
    let mut sums = vec![ExactSum::default(); values.len()];
    let mut flush = |run: Option<(Option<&str>, Option<&str>)>, sums: &mut Vec<ExactSum>| {
        if let Some((a, b)) = run {
            let group = groups
                .entry((a.map(str::to_owned), b.map(str::to_owned)))
                .or_insert_with(|| vec![ExactSum::default(); values.len()]);
            for (g, s) in group.iter_mut().zip(sums.iter_mut()) {
                g.merge(s);
                *s = ExactSum::default();
            }
        }
    };
    let mut terms: Vec<_> = value_cols.iter().map(|c| c.iter()).collect();
    for key in key_cols[0].iter().zip(key_cols[1].iter()) {
        if run != Some(key) {
            flush(run, &mut sums);
            run = Some(key);
        }
        for (sum, column) in sums.iter_mut().zip(terms.iter_mut()) {
            if let Some(Some(v)) = column.next() {
                sum.add(v);
            }
        }
    }
    flush(run, &mut sums);

    let n = groups.len();
    let mut columns: Vec<Column> = Vec::with_capacity(2 + values.len());
    for (i, name) in keys.iter().enumerate() {
        let key: Vec<Option<&str>> =
            groups.keys().map(|k| if i == 0 { k.0.as_deref() } else { k.1.as_deref() }).collect();
        columns.push(Column::new((*name).into(), key));
    }
    for (i, (_, name)) in values.iter().enumerate() {
        let total: Vec<f64> = groups.values().map(|s| s[i].value()).collect();
        columns.push(Column::new((*name).into(), total));
    }
    DataFrame::new(n, columns).ctx(|| "exact sums".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(terms: &[f64]) -> f64 {
        let mut s = ExactSum::default();
        terms.iter().for_each(|&t| s.add(t));
        s.value()
    }

    #[test]
    fn exact_and_order_independent() {
        assert_eq!(sum(&[]), 0.0);
        assert_eq!(sum(&[0.1; 10]), 1.0); // naive: 0.9999999999999999
        assert_eq!(sum(&[1e100, 1.0, -1e100, 1e-100]), 1.0);
        assert_eq!(sum(&[1.0, 1e-16, 1e-16]), 1.0000000000000002);
        // Ties to even across partials (Python: fsum([1, 2**-53, 2**-106]) == 1 + 2**-52).
        assert_eq!(sum(&[1.0, 2f64.powi(-53), 2f64.powi(-106)]), 1.0 + 2f64.powi(-52));
        assert!(sum(&[1.0, f64::NAN]).is_nan());
        assert_eq!(sum(&[1.0, f64::INFINITY]), f64::INFINITY);
        // Any order and any split into merged parts: the same bits.
        let terms: Vec<f64> = (0..5000)
            .map(|i| ((i * 7919) % 1013) as f64 * 0.37 - 150.0 + 1.0 / (i + 1) as f64)
            .collect();
        let forward = sum(&terms);
        let mut reversed = terms.clone();
        reversed.reverse();
        assert_eq!(forward.to_bits(), sum(&reversed).to_bits());
        let mut a = ExactSum::default();
        let mut b = ExactSum::default();
        for (i, &t) in terms.iter().enumerate() {
            if i % 3 == 0 { a.add(t) } else { b.add(t) }
        }
        b.merge(&a);
        assert_eq!(forward.to_bits(), b.value().to_bits());
    }

    #[test]
    fn group_sums_match_groups_in_key_order() {
        let df = df!(
            "license" => [Some("B"), Some("A"), Some("B"), Some("A"), Some("A")],
            "qt" => [Some("w"), Some("w"), Some("w"), None, Some("w")],
            "x" => [Some(1.0), Some(0.1), None, Some(5.0), Some(0.2)],
        )
        .unwrap();
        let out = exact_group_sums(df.lazy(), ["license", "qt"], &[("x", "total")]).unwrap();
        let expected = df!(
            "license" => ["A", "A", "B"],
            "qt" => [None, Some("w"), Some("w")],
            "total" => [5.0, 0.30000000000000004, 1.0],
        )
        .unwrap();
        assert!(out.equals_missing(&expected), "{out}");
    }
}
