//! The engine's tests: the retry table row by row ([`machine`]), lost answers and session
//! retries ([`recovery`]), and whole uploads against a model server ([`sim`], [`sim_run`]).

mod machine;
mod recovery;
mod sim;
mod sim_run;
