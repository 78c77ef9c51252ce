package simulate

// Feature columns of the impressions the simulator writes (besides the
// contract's impression_id, ts, user_id and app_id). Configs are written
// against these names.
const (
	ColPosition      = "position"       // number: slot on the page, 1..PageSize
	ColCountry       = "country"        // string
	ColLanguage      = "language"       // string
	ColDevice        = "device"         // string
	ColAgeBucket     = "age_bucket"     // string
	ColInstalledApps = "installed_apps" // list of strings: the user's installed app ids
	ColAppCategory   = "app_category"   // string
	ColAppDeveloper  = "app_developer"  // string
	ColAppRating     = "app_rating"     // number in [1,5]
	ColAppSizeMB     = "app_size_mb"    // number
	ColAppPrice      = "app_price"      // number, 0 for free apps
	// ColTrueP is the impression's true install probability: ground truth
	// for the oracle AUC, never a feature.
	ColTrueP = "true_p"
)
