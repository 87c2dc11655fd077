#!/usr/bin/env bash
# Check Cargo.lock (and the fuzz crate's) against the RustSec advisory database, offline.
#
#   scripts/audit.sh [ADVISORY_DB]
#
# The database is a checkout of https://github.com/rustsec/advisory-db: the first argument,
# else $SEALMAIL_ADVISORY_DB, else ../shared/advisory-db beside the project. Ignores and their
# reasons live in .cargo/audit.toml (see SECURITY.md). Needs `cargo install cargo-audit`.
# Not part of scripts/test.sh or CI: it needs cargo-audit and a database checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

db="${1:-${SEALMAIL_ADVISORY_DB:-../shared/advisory-db}}"
if [[ ! -d "$db/crates" ]]; then
    echo "audit.sh: no advisory database at $db" >&2
    echo "audit.sh: clone one (git clone https://github.com/rustsec/advisory-db) and pass its path," >&2
    echo "audit.sh: or set SEALMAIL_ADVISORY_DB" >&2
    exit 66
fi
if ! cargo audit --version >/dev/null 2>&1; then
    echo "audit.sh: cargo-audit is not installed (cargo install cargo-audit --locked)" >&2
    exit 69
fi

status=0
for lock in Cargo.lock fuzz/Cargo.lock; do
    [[ -f "$lock" ]] || continue
    echo "== $lock"
    cargo audit --db "$db" --no-fetch --file "$lock" || status=$?
done
exit "$status"
