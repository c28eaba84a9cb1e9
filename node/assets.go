package node

import (
	"io/fs"

	"github.com/openekyc/ekyc/console/web"
)

// consoleAssets is the built reviewer console (console/web/dist, embedded;
// rebuilt with make web).
func consoleAssets() fs.FS {
	sub, err := fs.Sub(web.Dist, "dist")
	if err != nil {
		return nil
	}
	return sub
}
