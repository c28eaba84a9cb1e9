package node

import "io/fs"

// consoleAssets is the built reviewer console (console/web/dist), nil until
// the web bundle exists.
func consoleAssets() fs.FS { return nil }
