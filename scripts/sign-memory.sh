#!/bin/sh
# Peak memory of signing and verifying a large message through pipes (issue 12: "signing and
# verifying stream in bounded memory, <= 32 MiB at any size"), measured with /usr/bin/time -v,
# and openssl's verdict on what was signed. A measurement, not a test: run it by hand.
#
#   scripts/sign-memory.sh [MiB]          (default 192; needs openssl and /usr/bin/time)
#
# The message is generated on the fly and piped into sealmail, so sealmail never sees a file
# length; every sealmail output goes to a pipe too. Uses target/release/sealmail when built,
# else target/debug/sealmail (dependencies are optimised in both), or $SEALMAIL.
set -eu
MIB=${1:-192}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=${SEALMAIL:-}
if [ -z "$S" ]; then
    if [ -x "$ROOT/target/release/sealmail" ]; then S=$ROOT/target/release/sealmail; else S=$ROOT/target/debug/sealmail; fi
fi
K=$ROOT/fixtures/keys
W=$(mktemp -d "${TMPDIR:-/tmp}/sealmail-sign-memory.XXXXXX")
trap 'rm -rf "$W"' EXIT

# A text message of MIB MiB: header, then 64-byte lines.
message() {
    printf 'From: alice@example.org\nTo: bob@example.org\nSubject: large\n\n'
    yes 'The quick brown fox jumps over the lazy dog, 0123456789 abcdef.' | head -c $((MIB * 1048576))
}

# The report goes to fd 3 (the script's stdout): the commands' own stdout is their output.
exec 3>&1

# body: the body of a message (after its first empty line).
body() { sed '1,/^$/d'; }

# rss LABEL COMMAND...: run COMMAND under /usr/bin/time -v, print its peak RSS.
rss() {
    label=$1; shift
    /usr/bin/time -v -o "$W/time" "$@"
    kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/time")
    printf '%-44s peak RSS %6d KiB (%d MiB)\n' "$label" "$kib" $((kib / 1024)) >&3
}

echo "sealmail: $S; message: $MIB MiB of text, through pipes"

message | rss "sign (multipart/signed) | cat" "$S" sign -i "$K/alice.key" --cert "$K/alice.crt" | cat > "$W/detached.eml"
message | rss "sign --opaque | cat" "$S" sign -i "$K/alice.key" --cert "$K/alice.crt" --opaque | cat > "$W/opaque.eml"
for kind in detached opaque; do
    cat "$W/$kind.eml" | rss "verify ($kind) | cat" "$S" verify --ca "$K/ca.crt" 2>/dev/null | cat > "$W/$kind.out"
    if openssl cms -verify -CAfile "$K/ca.crt" -in "$W/$kind.eml" -out /dev/null 2>"$W/openssl.err"; then
        echo "openssl cms -verify ($kind): $(cat "$W/openssl.err")"
    else
        echo "openssl cms -verify ($kind): FAILED: $(cat "$W/openssl.err")"
    fi
done
message | body > "$W/body"
for out in detached.out opaque.out; do
    body < "$W/$out" | cmp -s - "$W/body" && echo "verify ($out): the body comes back byte for byte" || echo "verify ($out): BODY DIFFERS"
done

message | rss "encrypt --sign | cat" "$S" encrypt --sign -i "$K/alice.key" --cert "$K/alice.crt" -r "$K/bob.crt" | cat > "$W/sealed.eml"
cat "$W/sealed.eml" | rss "decrypt (signed inside) | cat" "$S" decrypt -i "$K/bob.key" --ca "$K/ca.crt" 2>/dev/null | cat > "$W/sealed.out"
message | cmp -s - "$W/sealed.out" && echo "decrypt gives the message back byte for byte" || echo "decrypt: MESSAGE DIFFERS"
