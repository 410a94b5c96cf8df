//! Lenient JSON field values: every field is read as whatever JSON put there, and turned
//! into its canonical type afterwards, so that one bad field rejects one record with the
//! field's name instead of failing the file.

use std::borrow::Cow;

use chrono_tz::Tz;

use super::normalize::{self, QuantityType, Stamp, Unit};

/// A JSON value as found, without its content when it is nested.
#[derive(Debug, Default, Clone)]
pub enum Raw<'a> {
    /// The key was absent.
    #[default]
    Missing,
    /// `null`.
    Null,
    /// A string.
    Str(Cow<'a, str>),
    /// A number.
    Num(f64),
    /// `true` / `false`.
    Bool(bool),
    /// An array (content skipped).
    Array,
    /// An object (content skipped).
    Object,
}

impl Raw<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Raw::Missing | Raw::Null => "null",
            Raw::Str(_) => "string",
            Raw::Num(_) => "number",
            Raw::Bool(_) => "boolean",
            Raw::Array => "array",
            Raw::Object => "object",
        }
    }
}

/// A nested object or array read as `T` when it has that shape; its JSON kind otherwise.
#[derive(Debug, Default)]
pub enum Nested<T> {
    /// Absent or null.
    #[default]
    None,
    /// The expected shape.
    Some(T),
    /// Another JSON kind (named).
    Wrong(&'static str),
}

/// Whether a nested value is a JSON array (`Vec<_>`) or an object (a record struct), so that
/// an array where an object belongs (or the reverse) is a wrong type, not a positional read.
pub trait Shape {
    /// `true` for arrays.
    const IS_LIST: bool;
}

impl<T> Shape for Vec<T> {
    const IS_LIST: bool = true;
}

/// The first problem found in a record: the column and why.
#[derive(Debug, Clone)]
pub struct Bad {
    /// Field name as in the input (`Transactions[2].QuantitySold`).
    pub column: String,
    /// Why it cannot be read.
    pub reason: String,
}

/// Collects the fields of one record, remembering the first bad one.
pub struct Fields {
    /// Facility time zone for naive times.
    pub tz: Tz,
    /// First problem, if any.
    pub bad: Option<Bad>,
    /// Count of further problems.
    pub more: usize,
    /// Nested field names: the parent field and, in an array, the element's index.
    prefix: Option<(&'static str, Option<usize>)>,
}

impl Fields {
    /// Start a record.
    pub fn new(tz: Tz) -> Self {
        Fields { tz, bad: None, more: 0, prefix: None }
    }

    /// Name the fields that follow `Parent.Name`, or `Parent[i].Name` for element `i` of an
    /// array (`None`: top-level names again). Only a failure builds the name.
    pub fn set_prefix(&mut self, prefix: Option<(&'static str, Option<usize>)>) {
        self.prefix = prefix;
    }

    /// Record a problem with `column`.
    pub fn fail(&mut self, column: &str, reason: impl Into<String>) {
        if self.bad.is_none() {
            let column = match self.prefix {
                None => column.to_owned(),
                Some((parent, None)) => format!("{parent}.{column}"),
                Some((parent, Some(i))) => format!("{parent}[{i}].{column}"),
            };
            self.bad = Some(Bad { column, reason: reason.into() });
        } else {
            self.more += 1;
        }
    }

    fn wrong(&mut self, column: &str, want: &str, got: &Raw<'_>) {
        self.fail(column, format!("wrong JSON type: expected {want}, got {}", got.kind()));
    }

    /// A text field; blank is null.
    pub fn text<'r>(&mut self, column: &str, v: &'r Raw<'_>) -> Option<&'r str> {
        match v {
            Raw::Missing | Raw::Null => None,
            Raw::Str(s) => Some(s.trim()).filter(|s| !s.is_empty()),
            other => {
                self.wrong(column, "string", other);
                None
            }
        }
    }

    /// A required text field (e.g. `Label`): missing or blank is a problem.
    pub fn required<'r>(&mut self, column: &str, v: &'r Raw<'_>) -> Option<&'r str> {
        let t = self.text(column, v);
        if t.is_none() && matches!(v, Raw::Missing | Raw::Null | Raw::Str(_)) {
            self.fail(column, "missing or blank");
        }
        t
    }

    /// A number, as a JSON number or a string holding one; blank is null.
    pub fn number(&mut self, column: &str, v: &Raw<'_>) -> Option<f64> {
        match v {
            Raw::Missing | Raw::Null => None,
            Raw::Num(x) if x.is_finite() => Some(*x),
            Raw::Num(_) => {
                self.fail(column, "not a finite number");
                None
            }
            Raw::Str(s) if s.trim().is_empty() => None,
            Raw::Str(s) => match normalize::parse_number(s) {
                Ok(x) => Some(x),
                Err(why) => {
                    self.fail(column, why);
                    None
                }
            },
            other => {
                self.wrong(column, "number", other);
                None
            }
        }
    }

    /// A boolean, as JSON or a string/number holding one.
    pub fn boolean(&mut self, column: &str, v: &Raw<'_>) -> Option<bool> {
        match v {
            Raw::Missing | Raw::Null => None,
            Raw::Bool(b) => Some(*b),
            Raw::Str(s) if s.trim().is_empty() => None,
            Raw::Str(s) => match normalize::parse_bool(s) {
                Ok(b) => Some(b),
                Err(why) => {
                    self.fail(column, why);
                    None
                }
            },
            Raw::Num(x) if *x == 0.0 || *x == 1.0 => Some(*x == 1.0),
            other => {
                self.wrong(column, "boolean", other);
                None
            }
        }
    }

    /// A timestamp; blank and the `0001-01-01` sentinel are null.
    pub fn stamp(&mut self, column: &str, v: &Raw<'_>) -> Option<Stamp> {
        match v {
            Raw::Missing | Raw::Null => None,
            Raw::Str(s) => match normalize::parse_timestamp(s, self.tz) {
                Ok(st) => st,
                Err(why) => {
                    self.fail(column, format!("{why}: `{}`", clip(s)));
                    None
                }
            },
            other => {
                self.wrong(column, "date-time string", other);
                None
            }
        }
    }

    /// A unit of measure name; an unknown name is a problem (the quantity cannot be compared).
    pub fn unit(&mut self, column: &str, v: &Raw<'_>) -> (Option<String>, Option<Unit>) {
        match self.text(column, v) {
            None => (None, None),
            Some(name) => {
                let unit = normalize::parse_unit(name);
                if unit.is_none() {
                    self.fail(column, format!("unknown unit of measure `{}`", clip(name)));
                }
                (Some(name.to_owned()), unit)
            }
        }
    }

    /// A converted quantity; one beyond the f64 range in its base unit (`1e308` kg) is a
    /// problem, not an infinite total.
    pub fn converted(&mut self, column: &str, q: Qty) -> Qty {
        if q.base.is_some_and(|b| !b.is_finite()) {
            self.fail(column, "quantity out of range once converted to its base unit");
        }
        q
    }

    /// `Item.QuantityType`: a string or a number; unknown values are null.
    pub fn item_quantity_type(&mut self, column: &str, v: &Raw<'_>) -> Option<QuantityType> {
        match v {
            Raw::Missing | Raw::Null => None,
            Raw::Str(s) => normalize::parse_item_quantity_type(s),
            Raw::Num(x) => normalize::parse_item_quantity_type(&format!("{x}")),
            other => {
                self.wrong(column, "string or number", other);
                None
            }
        }
    }
}

fn clip(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A quantity with its unit, converted to the base unit of its quantity type.
#[derive(Debug, Clone, Copy, Default)]
pub struct Qty {
    /// As given.
    pub value: Option<f64>,
    /// weight / each / volume.
    pub qtype: Option<QuantityType>,
    /// In g / ea / ml.
    pub base: Option<f64>,
}

impl Qty {
    /// Convert `value` given in `unit`; when the unit is absent the quantity type may come
    /// from elsewhere (the item) and the value is then taken as already in base units.
    pub fn new(value: Option<f64>, unit: Option<Unit>, fallback: Option<QuantityType>) -> Self {
        match unit {
            Some(u) => Qty { value, qtype: Some(u.qtype), base: value.map(|v| v * u.factor) },
            None => Qty { value, qtype: fallback, base: fallback.and(value) },
        }
    }

    /// `weight` / `each` / `volume`.
    pub fn qtype_str(&self) -> Option<&'static str> {
        self.qtype.map(QuantityType::as_str)
    }

    /// `g` / `ea` / `ml`.
    pub fn base_unit(&self) -> Option<&'static str> {
        self.qtype.map(QuantityType::base_unit)
    }
}
