#!/usr/bin/env bash
# Downloads a MovieLens release from GroupLens, checks the archive against the md5 GroupLens
# publishes beside it (when the server offers one), extracts it, and checks the extracted files
# whose checksums gatrec knows.
#
#   scripts/download_movielens.sh NAME [DEST]       download DEST/NAME (DEST: $GATREC_DATA, else ./data)
#   scripts/download_movielens.sh --verify NAME DIR  only check an extracted NAME folder
#
# NAME: ml-100k, ml-1m, ml-latest-small, ml-25m, ml-32m. MovieLens is under the GroupLens research
# licence: read the README inside each archive before using the data (no redistribution).
# GATREC_MOVIELENS_URL overrides the server (a mirror, or file:// for offline tests).
set -euo pipefail

readonly program="download_movielens.sh"
readonly base_url="${GATREC_MOVIELENS_URL:-https://files.grouplens.org/datasets/movielens}"
readonly names="ml-100k ml-1m ml-latest-small ml-25m ml-32m"
tmp_dir=""  # removed at exit
trap '[[ -z "$tmp_dir" ]] || rm -rf "$tmp_dir"' EXIT

usage() {
  cat <<EOF
usage: $program NAME [DEST]
       $program --verify NAME DIR
       $program --help

Downloads $base_url/NAME.zip into DEST (default: \$GATREC_DATA, else ./data),
checks it against NAME.zip.md5 when the server offers one, extracts DEST/NAME and checks the
files whose checksums are known (every ml-100k file; ml-1m's movies.dat, users.dat, ratings.dat).
An existing DEST/NAME is kept when it passes the checks; --force downloads again.

NAME is one of: $names
Exit status: 0 success, 1 download or checksum failure, 2 bad arguments.
EOF
}

die() {
  echo "$program: error: $*" >&2
  exit 1
}

usage_error() {
  echo "$program: $*" >&2
  echo >&2
  usage >&2
  exit 2
}

is_known_name() {
  local n
  for n in $names; do [[ "$1" == "$n" ]] && return 0; done
  return 1
}

# Lines "ALGORITHM HASH FILE" for the files of NAME whose checksums we know.
known_checksums() {
  case "$1" in
    ml-100k)
      # sha256 of the unmodified GroupLens ml-100k files.
      cat <<'EOF'
sha256 4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52 README
sha256 bfc6a75cbd65c74bb38a0b580dbe866af252733dfa9a65a2c4b93258774ee8a3 allbut.pl
sha256 7929735c375e89a04340e34de621bf2ea643cd04b0bcda2c6f458e4be961ae71 mku.sh
sha256 06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490 u.data
sha256 9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb u.genre
sha256 5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b u.info
sha256 553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701 u.item
sha256 cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d u.occupation
sha256 f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c u.user
sha256 ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a u1.base
sha256 18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950 u1.test
sha256 6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e u2.base
sha256 4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3 u2.test
sha256 afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d u3.base
sha256 0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d u3.test
sha256 219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca u4.base
sha256 7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9 u4.test
sha256 a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485 u5.base
sha256 351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634 u5.test
sha256 67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2 ua.base
sha256 d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42 ua.test
sha256 237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881 ub.base
sha256 d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da ub.test
EOF
      ;;
    ml-1m)
      # ratings.dat: 1,000,209 lines, 24,594,131 bytes.
      cat <<'EOF'
sha256 0140fc2356357c1a851d0f52e893a1e4d3696df632c4141cea8d5bc3d621f0b9 movies.dat
sha256 1dc3a95300cb19f7c10e027daf29b8cdf1d908dab65b5edfb45950aa389a10a3 users.dat
md5 a89aa3591bc97d6d4e0c89459ff39362 ratings.dat
EOF
      ;;
    *) ;;  # the CSV releases: only the archive's md5
  esac
}

# Prints the lowercase hex digest of FILE with ALGORITHM (sha256 or md5).
digest() {
  local algorithm="$1" file="$2" out
  if command -v "${algorithm}sum" >/dev/null 2>&1; then
    out=$("${algorithm}sum" -- "$file")
  elif [[ "$algorithm" == sha256 ]] && command -v shasum >/dev/null 2>&1; then
    out=$(shasum -a 256 -- "$file")
  elif [[ "$algorithm" == md5 ]] && command -v md5 >/dev/null 2>&1; then
    out=$(md5 -q -- "$file")
  elif command -v python3 >/dev/null 2>&1; then
    out=$(python3 -c 'import hashlib, sys
h = hashlib.new(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
print(h.hexdigest())' "$algorithm" "$file")
  else
    die "no tool to compute $algorithm checksums (need ${algorithm}sum, shasum/md5 or python3)"
  fi
  printf '%s\n' "${out%% *}" | tr 'A-F' 'a-f'
}

# Checks the known files of NAME in DIR; prints one line per file. Returns 1 when any is missing
# or differs.
verify_files() {
  local name="$1" dir="$2" algorithm expected file actual status=0 count=0
  [[ -d "$dir" ]] || { echo "$dir: not a folder" >&2; return 1; }
  while read -r algorithm expected file; do
    [[ -n "$file" ]] || continue
    count=$((count + 1))
    if [[ ! -f "$dir/$file" ]]; then
      echo "$file: missing"
      status=1
      continue
    fi
    actual=$(digest "$algorithm" "$dir/$file")
    if [[ "$actual" == "$expected" ]]; then
      echo "$file: OK ($algorithm)"
    else
      echo "$file: BAD $algorithm checksum (expected $expected, got $actual)"
      status=1
    fi
  done < <(known_checksums "$name")
  if [[ $count -eq 0 ]]; then
    echo "$name: no per-file checksums known; the archive's md5 is the only check"
  fi
  return $status
}

# Downloads URL to OUT with curl or wget. Returns non-zero on failure (OUT is then removed).
fetch() {
  local url="$1" out="$2"
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 --connect-timeout 20 -o "$out" "$url" || { rm -f "$out"; return 1; }
  elif command -v wget >/dev/null 2>&1; then
    wget -q --tries=3 --timeout=20 -O "$out" "$url" || { rm -f "$out"; return 1; }
  else
    die "neither curl nor wget is installed"
  fi
}

extract() {
  local zip="$1" dest="$2"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$zip" -d "$dest"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -m zipfile -e "$zip" "$dest"
  else
    die "neither unzip nor python3 is installed to extract $zip"
  fi
}

download() {
  local name="$1" dest="$2" force="$3"
  local target="$dest/$name" tmp
  mkdir -p "$dest" || die "cannot create $dest"
  if [[ -d "$target" && "$force" -eq 0 ]]; then
    if [[ -n "$(known_checksums "$name")" ]]; then
      if verify_files "$name" "$target" >/dev/null; then
        echo "$target is already present and verified"
        return 0
      fi
      die "$target exists but does not match the known checksums (run: $program --verify $name $target); remove it or pass --force"
    fi
    echo "$target is already present (no per-file checksums to check it with; --force downloads again)"
    return 0
  fi

  tmp_dir=$(mktemp -d "${TMPDIR:-/tmp}/gatrec-movielens.XXXXXX")
  tmp="$tmp_dir"
  echo "downloading $base_url/$name.zip"
  fetch "$base_url/$name.zip" "$tmp/$name.zip" || die "could not download $base_url/$name.zip (no network, or a wrong name?)"

  if fetch "$base_url/$name.zip.md5" "$tmp/$name.zip.md5" 2>/dev/null; then
    local expected actual
    expected=$(grep -Eo '[0-9a-fA-F]{32}' "$tmp/$name.zip.md5" | head -n 1 | tr 'A-F' 'a-f' || true)
    [[ -n "$expected" ]] || die "$base_url/$name.zip.md5 holds no md5 checksum"
    actual=$(digest md5 "$tmp/$name.zip")
    [[ "$actual" == "$expected" ]] ||
      die "$name.zip: md5 $actual differs from the published $expected (a damaged or tampered download)"
    echo "$name.zip: md5 OK ($expected)"
  else
    echo "note: the server offers no $name.zip.md5; the archive itself is not checked"
  fi

  extract "$tmp/$name.zip" "$tmp/extract" || die "could not extract $name.zip"
  [[ -d "$tmp/extract/$name" ]] || die "$name.zip does not hold a $name/ folder"
  verify_files "$name" "$tmp/extract/$name" || die "extracted files of $name do not match the known checksums"
  rm -rf "$target"
  mv "$tmp/extract/$name" "$target" || die "cannot move the extracted files to $target"
  echo "ok: $target"
}

main() {
  local force=0 args=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -h | --help) usage; exit 0 ;;
      --force) force=1 ;;
      --verify)
        [[ $# -eq 3 ]] || usage_error "--verify needs NAME and DIR"
        is_known_name "$2" || usage_error "unknown dataset '$2'"
        if verify_files "$2" "$3"; then exit 0; fi
        echo "$program: error: $3 does not match the known checksums of $2" >&2
        exit 1
        ;;
      -*) usage_error "unknown option '$1'" ;;
      *) args+=("$1") ;;
    esac
    shift
  done
  [[ ${#args[@]} -ge 1 ]] || usage_error "missing NAME"
  [[ ${#args[@]} -le 2 ]] || usage_error "too many arguments"
  is_known_name "${args[0]}" || usage_error "unknown dataset '${args[0]}'"
  download "${args[0]}" "${args[1]:-${GATREC_DATA:-data}}" "$force"
}

main "$@"
