//! Conditional requests on driveItems: `If-Match` and `If-None-Match` against the item's eTag or
//! cTag, answered as Graph documents: 412 `resourceModified` (inner `entityTagDoesNotMatch`) when
//! the condition fails, 400 `malformedEntityTag` when a tag is not a quoted string.

use crate::error::EmulatorError;
use crate::store::items::ItemRow;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};

/// The eTag Graph would give `item` (changes with any change to the item).
pub fn etag(item: &ItemRow) -> String {
    format!("\"{{{}}},{}\"", item.id, item.version)
}

/// The cTag Graph would give `item`.
pub fn ctag(item: &ItemRow) -> String {
    format!("\"c:{{{}}},{}\"", item.id, item.version)
}

/// The tags of one conditional header.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tags {
    /// `*`: any current item.
    Any,
    /// Quoted tags (weak `W/` prefixes dropped), compared with the quotes.
    List(Vec<String>),
}

/// The `If-Match` and `If-None-Match` of a request, read once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    if_match: Option<Tags>,
    if_none_match: Option<Tags>,
}

fn parse(headers: &HeaderMap, name: HeaderName) -> Result<Option<Tags>, EmulatorError> {
    let values: Vec<&str> = headers.get_all(&name).iter().filter_map(|v| v.to_str().ok()).collect();
    if values.is_empty() {
        return Ok(None);
    }
    let malformed = || {
        EmulatorError::invalid_request(format!("The {name} header is malformed: ETags must be quoted strings."))
            .with_inner("malformedEntityTag")
    };
    let mut tags = Vec::new();
    for value in values {
        // A list of `*`, `"tag"` or `W/"tag"`, comma-separated; a tag may itself hold commas.
        let mut rest = value.trim();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('*') {
                if !after.trim_start().is_empty() && !after.trim_start().starts_with(',') {
                    return Err(malformed());
                }
                return Ok(Some(Tags::Any));
            }
            let quoted = rest.strip_prefix("W/").unwrap_or(rest).strip_prefix('"').ok_or_else(malformed)?;
            let end = quoted.find('"').ok_or_else(malformed)?;
            tags.push(format!("\"{}\"", &quoted[..end]));
            rest = quoted[end + 1..].trim_start();
            rest = match rest.strip_prefix(',') {
                Some(next) => next.trim_start(),
                None if rest.is_empty() => rest,
                None => return Err(malformed()),
            };
        }
    }
    Ok(Some(Tags::List(tags)))
}

impl Preconditions {
    /// Reads the two headers (400 if a tag is malformed).
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, EmulatorError> {
        Ok(Preconditions {
            if_match: parse(headers, header::IF_MATCH)?,
            if_none_match: parse(headers, header::IF_NONE_MATCH)?,
        })
    }

    /// Whether the request carries no condition.
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none() && self.if_none_match.is_none()
    }

    /// Checks the conditions against the current item (`None`: no item there yet).
    pub fn check(&self, item: Option<&ItemRow>) -> Result<(), EmulatorError> {
        let matches = |tags: &Tags| match (tags, item) {
            (_, None) => false,
            (Tags::Any, Some(_)) => true,
            (Tags::List(list), Some(item)) => {
                let (e, c) = (etag(item), ctag(item));
                list.iter().any(|t| *t == e || *t == c)
            }
        };
        let failed =
            self.if_match.as_ref().is_some_and(|t| !matches(t)) || self.if_none_match.as_ref().is_some_and(matches);
        if failed {
            return Err(EmulatorError::graph(
                StatusCode::PRECONDITION_FAILED,
                "resourceModified",
                "ETag does not match the current item's value.",
            )
            .with_inner("entityTagDoesNotMatch"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(if_match: Option<&str>, if_none_match: Option<&str>) -> Result<Preconditions, EmulatorError> {
        let mut h = HeaderMap::new();
        if let Some(v) = if_match {
            h.insert(header::IF_MATCH, HeaderValue::from_str(v).unwrap());
        }
        if let Some(v) = if_none_match {
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
        }
        Preconditions::from_headers(&h)
    }

    #[test]
    fn table() {
        let item = ItemRow { id: "01AB".into(), version: 3, ..ItemRow::folder("p", "n", 0) };
        let (e, c) = (etag(&item), ctag(&item));
        let stale = "\"{01AB},2\"";
        let weak = format!("W/{e}");
        let both = format!("{stale}, {c}");
        // (If-Match, If-None-Match, item exists, passes)
        let cases: &[(Option<&str>, Option<&str>, bool, bool)] = &[
            (None, None, true, true),
            (None, None, false, true),
            (Some(&e), None, true, true),
            (Some(&c), None, true, true),
            (Some(&weak), None, true, true),
            (Some(&both), None, true, true),
            (Some(stale), None, true, false),
            (Some(&e), None, false, false),
            (Some("*"), None, true, true),
            (Some("*"), None, false, false),
            (None, Some(&e), true, false),
            (None, Some(&c), true, false),
            (None, Some(stale), true, true),
            (None, Some("*"), true, false),
            (None, Some("*"), false, true),
            (None, Some(&e), false, true),
        ];
        for (m, n, exists, passes) in cases {
            let p = with(*m, *n).unwrap();
            let got = p.check(exists.then_some(&item));
            assert_eq!(got.is_ok(), *passes, "{m:?} {n:?} exists={exists}");
            if let Err(EmulatorError::Graph(g)) = got {
                assert_eq!(
                    (g.status.as_u16(), g.code.as_str(), g.inner.as_deref()),
                    (412, "resourceModified", Some("entityTagDoesNotMatch"))
                );
            }
        }
        for bad in ["01AB,3", "\"", "W/x"] {
            match with(Some(bad), None) {
                Err(EmulatorError::Graph(g)) => {
                    assert_eq!((g.status.as_u16(), g.inner.as_deref()), (400, Some("malformedEntityTag")))
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(with(None, None).unwrap().is_empty());
    }
}
