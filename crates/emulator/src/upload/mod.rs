//! Upload sessions at run time: live state ([`live`]), streaming fragments to disk while
//! hashing them ([`ingest`]), at a benchmark's network rate
//! ([`rate`]), and turning complete uploads into items ([`commit`]).

pub mod commit;
pub mod ingest;
pub mod live;
pub mod rate;
