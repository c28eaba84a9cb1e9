// Package web holds the reviewer console's built page (dist/: index.html
// and assets/), embedded so that `go build` needs no npm. The sources are
// in src/; `make web` rebuilds dist/ (commit it). The console package
// serves it: console.WithAssets(fs.Sub(web.Dist, "dist")).
package web

import "embed"

// Dist is the built console: dist/index.html and dist/assets/.
//
//go:embed dist
var Dist embed.FS
