#!/bin/sh
# Regenerates fuzz/seeds/signed, the seeds of the `signed` fuzz target (run from the repository root, with
# sealmail built): sealmail's own detached, opaque and PSS signatures, openssl's detached and
# opaque ones (cms and the older smime command), and the bare DER SignedData of each kind.
# The key and certificate are the test fixtures in fixtures/keys (alice).
set -eu
S=${SEALMAIL:-target/debug/sealmail}
K=fixtures/keys
D=fuzz/seeds/signed
M=$D/message.eml
printf 'From: alice@example.org\nTo: bob@example.org\nSubject: seed\n\nA signed seed.\n' > "$M"
"$S" sign -i $K/alice.key --cert $K/alice.crt "$M" > $D/sealmail-detached.eml
"$S" sign -i $K/alice.key --cert $K/alice.crt --opaque "$M" > $D/sealmail-opaque.eml
"$S" sign -i $K/alice.key --cert $K/alice.crt --pss "$M" > $D/sealmail-pss.eml
openssl cms -sign -in "$M" -signer $K/alice.crt -inkey $K/alice.key -out $D/openssl-cms-detached.eml
openssl cms -sign -nodetach -in "$M" -signer $K/alice.crt -inkey $K/alice.key -out $D/openssl-cms-opaque.eml
openssl smime -sign -in "$M" -signer $K/alice.crt -inkey $K/alice.key -out $D/openssl-smime-detached.eml
openssl cms -sign -nodetach -binary -in "$M" -signer $K/alice.crt -inkey $K/alice.key -outform DER -out $D/openssl-opaque.der
openssl cms -sign -stream -nodetach -binary -in "$M" -signer $K/alice.crt -inkey $K/alice.key -outform DER -out $D/openssl-opaque-ber.der
openssl cms -sign -binary -in "$M" -signer $K/alice.crt -inkey $K/alice.key -outform DER -out $D/openssl-detached.der
rm "$M"
