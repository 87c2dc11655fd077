#!/usr/bin/env bash
# sealmail against `openssl cms` on this machine, same inputs and certificates (SPEC §6).
#
# Builds the release binary, makes the inputs in a scratch directory, and prints each workload's
# median wall time and peak RSS for both tools, the ratio sealmail/openssl and the target: the
# AEAD formats against `openssl cms -aes-256-gcm` with RSA-OAEP, then the installed-base format
# (`--cipher aes-256-cbc`, PKCS#1 v1.5) against `openssl cms -aes256` on the same inputs.
#
#   benches/compare.sh              # REPS=5 samples per measurement, median taken
#   REPS=9 SMALL_BATCH=40 benches/compare.sh
#   SKIP_GIB=1 benches/compare.sh   # skip the 1 GiB pipe test (it spools 1.4 GB to $TMPDIR)
#
# Needs: cargo, openssl, and GNU time as /usr/bin/time for peak RSS (Debian/Ubuntu: the `time`
# package; this script installs it with apt-get when it is missing and it runs as root).
# Wall time is taken with the shell's nanosecond clock around each run (GNU time's %e has only
# 10 ms resolution); peak RSS is GNU time's %M. A 4 KiB run takes a few milliseconds, so each
# small sample times SMALL_BATCH runs in a row and divides.
# The scratch directory is under $TMPDIR (default /tmp): it needs about 3 GB free for the 1 GiB
# test (the 1 GiB message's encrypted form is spooled there by `sealmail decrypt` from a pipe).
set -euo pipefail

REPS=${REPS:-5}
SMALL_BATCH=${SMALL_BATCH:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KEYS=$ROOT/fixtures/keys

if [ ! -x /usr/bin/time ]; then
    echo "compare.sh: /usr/bin/time (GNU time) is missing; installing the 'time' package" >&2
    apt-get install -y time >/dev/null
fi

echo "building release ..." >&2
(cd "$ROOT" && cargo build --release --quiet)
SEALMAIL=${CARGO_TARGET_DIR:-$ROOT/target}/release/sealmail

W=$(mktemp -d "${TMPDIR:-/tmp}/sealmail-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

# --- inputs --------------------------------------------------------------------------------
headers() { printf 'From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\nSubject: benchmark\nDate: Thu, 01 Jan 2026 00:00:00 +0000\nMessage-ID: <bench@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'; }
# Text bodies (LF lines of 76 characters, so canonicalisation to CRLF is exercised).
{ headers; head -c 2900 /dev/urandom | base64 -w 76; } | head -c 4096 > "$W/m4k.eml"
{ headers; head -c $((100 * 1024 * 1024 * 3 / 4)) /dev/urandom | base64 -w 76; } > "$W/m100.eml"

OAEP=(-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256)
OSSL_ENC3=(openssl cms -encrypt -aes-256-gcm
    -recip "$KEYS/alice.crt" "${OAEP[@]}" -recip "$KEYS/bob.crt" "${OAEP[@]}"
    -recip "$KEYS/carol.crt" "${OAEP[@]}")
OSSL_ENC1=(openssl cms -encrypt -aes-256-gcm -recip "$KEYS/alice.crt" "${OAEP[@]}")
OSSL_DEC=(openssl cms -decrypt -inkey "$KEYS/alice.key")
SM_ENC3=("$SEALMAIL" encrypt -r "$KEYS/alice.crt" -r "$KEYS/bob.crt" -r "$KEYS/carol.crt")
SM_ENC1=("$SEALMAIL" encrypt -r "$KEYS/alice.crt")
SM_DEC=("$SEALMAIL" decrypt -i "$KEYS/alice.key")
GCM=(--cipher aes-256-gcm)
# Named: the fixtures' certificates advertise no capabilities, so `auto` would pick CBC.
CHACHA=(--cipher chacha20-poly1305)

"${OSSL_ENC3[@]}" -in "$W/m4k.eml" -out "$W/o4k.p7m"
"${SM_ENC3[@]}" "${CHACHA[@]}" "$W/m4k.eml" > "$W/s4k.eml"
"${SM_ENC3[@]}" "${GCM[@]}" "$W/m4k.eml" > "$W/g4k.eml"
"${OSSL_ENC1[@]}" -in "$W/m100.eml" -out "$W/o100.p7m"
"${SM_ENC1[@]}" "${CHACHA[@]}" "$W/m100.eml" > "$W/s100.eml"
"${SM_ENC1[@]}" "${GCM[@]}" "$W/m100.eml" > "$W/g100.eml"
# Both tools must give back the input (openssl's output is the CRLF form; compare sealmail's).
"${OSSL_DEC[@]}" -in "$W/s100.eml" -out "$W/check.eml" 2>/dev/null || true
"${SM_DEC[@]}" "$W/o100.p7m" > "$W/check.eml"
cmp -s <(tr -d '\r' < "$W/check.eml" | tail -c 1000000) <(tail -c 1000000 "$W/m100.eml") \
    || { echo "compare.sh: round trip through openssl failed" >&2; exit 1; }

# --- measuring -----------------------------------------------------------------------------
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# sample BATCH CMD... : one sample: seconds per run of CMD (stdout discarded) over BATCH runs.
sample() {
    local batch=$1; shift
    local start end
    start=$(date +%s%N)
    for ((i = 0; i < batch; i++)); do "$@" > /dev/null; done
    end=$(date +%s%N)
    awk -v ns=$((end - start)) -v b="$batch" 'BEGIN {printf "%.6f\n", ns / 1e9 / b}'
}
# peak_rss CMD... : peak RSS of one run in KiB (GNU time).
peak_rss() { /usr/bin/time -f '%M' -o "$W/rss" "$@" > /dev/null; cat "$W/rss"; }

# measure BATCH CMD... -> "median_seconds median_rss_kib"
measure() {
    local batch=$1; shift
    local times=() rss=()
    "$@" > /dev/null # warm the page cache and the binary
    for ((r = 0; r < REPS; r++)); do
        times+=("$(sample "$batch" "$@")")
        rss+=("$(peak_rss "$@")")
    done
    echo "$(printf '%s\n' "${times[@]}" | median) $(printf '%s\n' "${rss[@]}" | median)"
}

printf '%-44s %11s %11s %7s %8s %9s %9s\n' workload sealmail openssl ratio target "RSS sm" "RSS ossl"
row() { # row NAME TARGET "sm_s sm_rss" "os_s os_rss"
    local name=$1 target=$2 sm=($3) os=($4)
    awk -v n="$name" -v t="$target" -v a="${sm[0]}" -v b="${os[0]}" -v ra="${sm[1]}" -v rb="${os[1]}" \
        'BEGIN {printf "%-44s %9.2fms %9.2fms %6.2fx %8s %7.1fMi %7.1fMi\n", n, a*1000, b*1000, a/b, t, ra/1024, rb/1024}'
}

os=$(measure "$SMALL_BATCH" "${OSSL_ENC3[@]}" -in "$W/m4k.eml")
row "encrypt 4 KiB, 3 recipients (chacha20)" "<=0.5x" "$(measure "$SMALL_BATCH" "${SM_ENC3[@]}" "${CHACHA[@]}" "$W/m4k.eml")" "$os"
row "encrypt 4 KiB, 3 recipients (aes-256-gcm)" "<=0.5x" "$(measure "$SMALL_BATCH" "${SM_ENC3[@]}" "${GCM[@]}" "$W/m4k.eml")" "$os"
os=$(measure "$SMALL_BATCH" "${OSSL_DEC[@]}" -in "$W/o4k.p7m")
row "decrypt 4 KiB, RSA-2048 (chacha20)" "<=0.8x" "$(measure "$SMALL_BATCH" "${SM_DEC[@]}" "$W/s4k.eml")" "$os"
row "decrypt 4 KiB, RSA-2048 (aes-256-gcm)" "<=0.8x" "$(measure "$SMALL_BATCH" "${SM_DEC[@]}" "$W/g4k.eml")" "$os"
os=$(measure 1 "${OSSL_ENC1[@]}" -in "$W/m100.eml")
sm100=$(measure 1 "${SM_ENC1[@]}" "${CHACHA[@]}" "$W/m100.eml")
row "encrypt 100 MiB (chacha20)" "<=0.35x" "$sm100" "$os"
row "encrypt 100 MiB (aes-256-gcm)" "<=0.35x" "$(measure 1 "${SM_ENC1[@]}" "${GCM[@]}" "$W/m100.eml")" "$os"
os=$(measure 1 "${OSSL_DEC[@]}" -in "$W/o100.p7m")
row "decrypt 100 MiB (chacha20)" "<=0.4x" "$(measure 1 "${SM_DEC[@]}" "$W/s100.eml")" "$os"
row "decrypt 100 MiB (aes-256-gcm)" "<=0.4x" "$(measure 1 "${SM_DEC[@]}" "$W/g100.eml")" "$os"

# --- installed-base format: EnvelopedData AES-256-CBC, RSA PKCS#1 v1.5 ----------------------
# What Thunderbird, Outlook, Apple Mail and gpgsm read (issue 11), against openssl writing the
# same format (`-aes256`, openssl's default PKCS#1 v1.5 key transport). CBC encryption is serial
# by construction; the targets are the AEAD rows' own.
CBC=(--cipher aes-256-cbc)
OSSL_CBC3=(openssl cms -encrypt -aes256 -recip "$KEYS/alice.crt" -recip "$KEYS/bob.crt" -recip "$KEYS/carol.crt")
OSSL_CBC1=(openssl cms -encrypt -aes256 -recip "$KEYS/alice.crt")
if "${SM_ENC1[@]}" "${CBC[@]}" "$W/m4k.eml" > "$W/c4k.eml" 2>/dev/null; then
    "${SM_ENC3[@]}" "${CBC[@]}" "$W/m4k.eml" > "$W/c4k.eml"
    "${OSSL_CBC3[@]}" -in "$W/m4k.eml" -out "$W/oc4k.p7m"
    "${OSSL_CBC1[@]}" -in "$W/m100.eml" -out "$W/oc100.p7m"
    "${SM_ENC1[@]}" "${CBC[@]}" "$W/m100.eml" > "$W/c100.eml"
    # openssl reads sealmail's CBC output and sealmail reads openssl's, or the rows mean nothing.
    "${OSSL_DEC[@]}" -in "$W/c100.eml" -out "$W/check.eml"
    cmp -s <(tr -d '\r' < "$W/check.eml" | tail -c 1000000) <(tail -c 1000000 "$W/m100.eml") \
        || { echo "compare.sh: CBC round trip through openssl failed" >&2; exit 1; }
    "${SM_DEC[@]}" "$W/oc100.p7m" > "$W/check.eml" 2>/dev/null
    cmp -s <(tr -d '\r' < "$W/check.eml" | tail -c 1000000) <(tail -c 1000000 "$W/m100.eml") \
        || { echo "compare.sh: sealmail did not read openssl's CBC message" >&2; exit 1; }
    rm -f "$W/check.eml"
    # sealmail warns on stderr that CBC content is not integrity-protected: kept off the table.
    os=$(measure "$SMALL_BATCH" "${OSSL_CBC3[@]}" -in "$W/m4k.eml")
    row "encrypt 4 KiB, 3 recipients (aes-256-cbc)" "<=0.5x" "$(measure "$SMALL_BATCH" "${SM_ENC3[@]}" "${CBC[@]}" "$W/m4k.eml")" "$os"
    os=$(measure "$SMALL_BATCH" "${OSSL_DEC[@]}" -in "$W/oc4k.p7m")
    row "decrypt 4 KiB, RSA-2048 (aes-256-cbc)" "<=0.8x" "$(measure "$SMALL_BATCH" "${SM_DEC[@]}" "$W/c4k.eml" 2>/dev/null)" "$os"
    os=$(measure 1 "${OSSL_CBC1[@]}" -in "$W/m100.eml")
    row "encrypt 100 MiB (aes-256-cbc)" "<=0.35x" "$(measure 1 "${SM_ENC1[@]}" "${CBC[@]}" "$W/m100.eml")" "$os"
    os=$(measure 1 "${OSSL_DEC[@]}" -in "$W/oc100.p7m")
    row "decrypt 100 MiB (aes-256-cbc)" "<=0.4x" "$(measure 1 "${SM_DEC[@]}" "$W/c100.eml" 2>/dev/null)" "$os"
    rm -f "$W/c100.eml" "$W/oc100.p7m"
    # A quarter gigabyte through pipes in the installed-base format: memory stays bounded.
    qgib() { headers; { yes 'All work and no play makes Jack a dull boy; all work and no play makes Jack.' || true; } | head -c $((256 << 20)); }
    qgib | /usr/bin/time -f '%M' -o "$W/rss-cenc" "${SM_ENC1[@]}" "${CBC[@]}" > "$W/q.eml"
    /usr/bin/time -f '%M' -o "$W/rss-cdec" "${SM_DEC[@]}" < <(cat "$W/q.eml") 2>/dev/null | tail -c 100 > "$W/q-tail"
    cmp -s "$W/q-tail" <(qgib | tail -c 100) || { echo "compare.sh: 256 MiB CBC round trip failed" >&2; exit 1; }
    rm -f "$W/q.eml"
    awk -v e="$(cat "$W/rss-cenc")" -v d="$(cat "$W/rss-cdec")" 'BEGIN {
        printf "256 MiB stdin -> stdout, aes-256-cbc: peak RSS encrypt %.1f MiB, decrypt %.1f MiB (target <= 32 MiB)\n", e / 1024, d / 1024 }'
else
    echo "(aes-256-cbc rows skipped: this sealmail has no --cipher aes-256-cbc)"
fi

# --- throughput against openssl speed ------------------------------------------------------
# openssl speed prints kB/s (1000 bytes) for 16 KiB blocks in its last line.
speed=$(openssl speed -evp chacha20-poly1305 -bytes 16384 -seconds 3 2>/dev/null | tail -1 | awk '{sub(/k$/, "", $NF); print $NF * 1000}')
size=$(stat -c %s "$W/m100.eml")
der=$(measure 1 "${SM_ENC1[@]}" "${CHACHA[@]}" --outform der "$W/m100.eml")
# A binary entity (Content-Transfer-Encoding: binary): no CRLF canonicalisation and so no
# length pre-pass; what is left is read, seal, base64, write.
{ printf 'Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n'; head -c $((100 * 1024 * 1024)) /dev/urandom; } > "$W/b100.bin"
bsize=$(stat -c %s "$W/b100.bin")
bin=$(measure 1 "${SM_ENC1[@]}" "${CHACHA[@]}" --entity "$W/b100.bin")
awk -v s="$speed" -v n="$size" -v t="${sm100%% *}" -v d="${der%% *}" -v bn="$bsize" -v b="${bin%% *}" 'BEGIN {
    printf "\nopenssl speed -evp chacha20-poly1305 (16 KiB blocks): %.0f MB/s\n", s / 1e6
    printf "sealmail encrypt, end to end, as a fraction of it (target >= 50%%):\n"
    printf "  100 MiB binary entity -> S/MIME: %5.0f MB/s = %.0f%%\n", bn / b / 1e6, 100 * bn / b / s
    printf "  100 MiB text file     -> S/MIME: %5.0f MB/s = %.0f%%  (text is read twice: DER needs its canonical length first)\n", n / t / 1e6, 100 * n / t / s
    printf "  100 MiB text file     -> DER:    %5.0f MB/s = %.0f%%\n", n / d / 1e6, 100 * n / d / s
}'

# --- 1 GiB through pipes -------------------------------------------------------------------
if [ -z "${SKIP_GIB:-}" ]; then
    # `yes` dies of SIGPIPE when head has enough; that is not a failure here.
    gib() { headers; { yes 'All work and no play makes Jack a dull boy; all work and no play makes Jack.' || true; } | head -c $((1 << 30)); }
    gib | /usr/bin/time -f '%M' -o "$W/rss-enc" "${SM_ENC1[@]}" "${CHACHA[@]}" > "$W/gib.eml"
    /usr/bin/time -f '%M' -o "$W/rss-dec" "${SM_DEC[@]}" < <(cat "$W/gib.eml") | tail -c 100 > "$W/gib-tail"
    cmp -s "$W/gib-tail" <(gib | tail -c 100) || { echo "compare.sh: 1 GiB round trip failed" >&2; exit 1; }
    rm -f "$W/gib.eml"
    awk -v e="$(cat "$W/rss-enc")" -v d="$(cat "$W/rss-dec")" 'BEGIN {
        printf "\n1 GiB stdin -> stdout (BER; decrypt spools ciphertext to $TMPDIR): peak RSS encrypt %.1f MiB, decrypt %.1f MiB (target <= 32 MiB)\n", e / 1024, d / 1024 }'
fi
