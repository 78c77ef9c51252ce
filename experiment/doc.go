// Package experiment runs the paper's online experiment on a simulated
// population (simulate.Live): requests of simulated users are split
// between arms by a hash of the user id, each arm ranks its candidates
// (its own served model line), the user sees the top Shown and installs
// with the world's true probability at the slot shown; installs are handed
// back to the arm (its installs topic) carrying the served impression id.
// It keeps per-user counts of every arm and reports each arm's acquisition
// rate and its relative gain over the control (stats.go).
//
// # Design
//
//   - Split: arm = FNV-1a 64(salt, user_id) mod arms, equal shares: a
//     user stays in one arm for the whole run.
//   - Common random numbers: request n's user and candidates, and the
//     decision uniforms of every app shown in it, are keyed by (seed, n,
//     app) in simulate.Live, not drawn from a stream, so that which arm
//     ranks it, and what was shown before, leave them unchanged (the
//     candidates change only through the user's own installs).
//   - Event time: request n is at Start + n·Step (Step = Speed/Rate
//     simulated ms per request), whatever the wall clock does; the wall
//     clock only paces the requests at Rate a second.
//   - Statistics: the rate of an arm is sum(installs)/sum(impressions)
//     over its users, its variance by the delta method with the user as
//     the unit (a user's impressions are correlated); the gain over the
//     control is the ratio of the two rates minus one, its variance by the
//     delta method; 95% normal intervals.
//   - Stop rule: a fixed horizon set before the start (Config.Requests,
//     or the caller's deadline on Run); the verdict is read once, at the
//     horizon, and only when every arm has at least MinImpressions
//     impressions. Report marks a snapshot taken before the end as
//     pending: the live numbers are for watching, not for stopping.
package experiment
