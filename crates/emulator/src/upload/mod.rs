//! Upload sessions at run time: live state ([`live`]), streaming fragments to disk while
//! hashing them ([`ingest`]) and turning complete uploads into items ([`commit`]).

pub mod commit;
pub mod ingest;
pub mod live;
