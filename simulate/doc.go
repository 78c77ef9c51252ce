// Package simulate generates a seeded, deterministic Google-Play-like world
// for evaluating the wdstream pipeline: users, apps, impressions with a slot
// position over several days with a daily rhythm, and the installs they
// cause, arriving late, duplicated or unattributed as real logs do.
//
// # The truth
//
// Every impression carries its true install probability in the true_p
// column (ground truth for the oracle AUC, never a feature):
//
//	true_p = sigmoid(b + appeal(app) - size(device, app) - price(country, app)
//	                 + position(pos) + taste(user, category, day) + pairs(user, app))
//
// where:
//
//   - appeal: category effect + developer quality + a nonlinear rating
//     effect (steep around 4 stars) + a small per-app term only the app id
//     explains. New apps' appeal is thus predictable from category,
//     developer and rating.
//   - size and price: low-end phones shy away from big apps; paid apps cost
//     more in poorer countries (nonlinear crosses of observable columns).
//   - position: -0.8 ln(pos).
//   - taste: the dot product of a user vector and a category vector
//     (generalization). The user vector is a function of observable columns
//     only: embeddings of country, language, age bucket and device plus the
//     mean vector of the categories of the installed apps. Category vectors
//     drift linearly over the days (Truth.TasteDrift), so a stale model
//     loses.
//   - pairs: a sparse set of strong pairs "installed A -> impressed B"
//     between popular apps of any category (memorization: only the
//     cross installed_apps x app_id learns them).
//   - b is calibrated so that the first day's mean true_p is
//     Truth.BaseRate.
//
// There is no unobservable per-user noise: everything but the per-app term
// is a function of the impression's columns and the day.
//
// Truth.LatentTaste makes the world harder: the user vector is private
// instead,
//
//	taste(user, category, day) = s · z(user, day) · v(category, day)
//	z(user, 0) ~ N(0, I),  z(user, d) = ρ z(user, d-1) + sqrt(1-ρ²) N(0, I),
//	ρ^(Days-1) = max(1 - TasteDrift²/2, 0)
//
// so no column determines it and each user's vector drifts on its own (a
// walk that keeps the vectors' spread and moves each by about TasteDrift
// of its length over the run, like the category vectors, which keep their
// drift); s scales the term to Truth.TasteScale as in the default world.
// Only behaviour reveals it: half of the initial installed apps come from
// categories drawn by softmax(1.5 z·v), so installed_apps carries the
// taste, later installs follow true_p, and the taste-based slots follow
// the latent taste. Installs no longer change the taste. The latent world
// also adds a country x developer term (regional publishers, N(0, 0.5²)
// per pair) to the static part of the logit. Its report's AUC without the
// taste term is the ceiling of a model that cannot infer the users' tastes
// from their installs.
//
// # The world
//
// Apps have Zipf popularity; new apps launch every day after the first with
// a launch boost that decays over the following days. A page view shows a
// user PageSize/2..PageSize apps the user has not installed: drawn by
// popularity, from categories the user likes, or as partners of installed
// apps ("because you installed A"). Page views follow a daily rhythm in the
// user's local time. An impression converts with probability true_p; the
// install arrives minutes later (a share of them after the label window);
// about 1% of installs are logged twice and a share carry no impression_id.
// A delivered install adds the app to the user's installed_apps for later
// impressions (earlier impressions keep their snapshot).
//
// # Using it
//
// NewWorld builds a world from a Config; World.Run replays its events in
// event-time order through a callback (the streaming mode's source) and
// returns a Report with the realized labels (joined by the contract's rule:
// by impression_id, else the latest impression of the user and app, within
// the label window), the oracle AUC of every day and, on the last day, the
// AUC of the true logit without the pair term, without the taste term and
// with the first day's tastes. WriteFiles writes the events to one Parquet
// or JSONL file per day and kind, each sorted by ts.
//
// Determinism: every part of the world draws from its own PCG stream
// derived from Config.Seed; generation runs on one goroutine, so the same
// seed and configuration give byte-identical files whatever GOMAXPROCS.
package simulate
