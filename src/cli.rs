//! The command line, as clap derive types and nothing else: no logic lives here. `app` turns
//! these into plans; the rest of the library never sees a clap type. The man page and the shell
//! completions are generated from [`Cli::command`].

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "sealmail",
    version,
    about = "Encrypt and decrypt email the S/MIME 4.0 way",
    long_about = "Encrypt and decrypt email the S/MIME 4.0 way.\n\nEach message gets one fresh random \
session key, wrapped for every recipient, in a standard application/pkcs7-mime (CMS) envelope. The \
format follows the recipients (--cipher auto): AuthEnvelopedData with ChaCha20-Poly1305 or AES-256-GCM \
(and RSA-OAEP) when every recipient is known to read it, else EnvelopedData with AES-256-CBC (and RSA \
PKCS#1 v1.5), which every S/MIME client reads. Decryption verifies an authenticated message whole \
before it releases a single byte.",
    after_help = "Examples:\n  \
sealmail encrypt -r alice.crt message.eml > sealed.eml\n  \
sealmail decrypt -i alice.key sealed.eml > message.eml\n  \
sealmail keygen --email alice@example.org -o alice\n  \
sealmail inspect sealed.eml\n\n\
Exit codes follow sysexits(3): 64 usage, 65 bad data or failed integrity check, 66 cannot read an \
input, 67 unknown recipient, 73 cannot create the output, 74 I/O error, 77 no identity can decrypt \
(or a wrong PKCS#12 passphrase, or a signer who is not trusted), 78 unusable key or certificate."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parse the process's arguments, and note what only their order can tell: whether INPUT
    /// came right after an `--attach FILE` (see [`EncryptArgs::input_follows_attach`]).
    pub fn parse_args() -> Result<Cli, clap::Error> {
        Self::parse_from_args(std::env::args_os())
    }

    pub fn parse_from_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        // `--attach FILE -- INPUT` says INPUT is meant as INPUT.
        let separated = args.iter().any(|a| a == "--");
        let mut command = Cli::command();
        let mut matches = command.try_get_matches_from_mut(args)?;
        // Which --attach value (by position) INPUT directly follows; read before the matches
        // are consumed below.
        let follows = match matches.subcommand() {
            Some(("encrypt", m)) if !separated => m
                .index_of("input")
                .and_then(|input| m.indices_of("attach")?.position(|index| index + 1 == input)),
            _ => None,
        };
        let mut cli =
            Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command))?;
        if let Command::Encrypt(args) = &mut cli.command {
            args.input_follows_attach = follows.and_then(|i| args.attach.get(i).cloned());
        }
        Ok(cli)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Encrypt a message (or a MIME entity, or a body to compose) to one or more recipients
    #[command(after_help = "Examples:\n  \
sealmail encrypt -r alice.crt message.eml > sealed.eml\n  \
sealmail encrypt -r alice.crt -r bob.pem -o sealed.eml message.eml\n  \
cat message.eml | sealmail encrypt -R team.txt | sendmail -t\n  \
sealmail encrypt --cipher aes-256-gcm --outform pem -r alice.crt message.eml\n  \
echo 'build 42 passed' | sealmail encrypt -r ops.crt --from ci@example.org --to ops@example.org --subject 'CI result' | sendmail -t\n  \
sealmail encrypt --entity --outform der -r alice.crt entity.txt > part.der   # neomutt\n  \
sealmail encrypt --sign -i me.key -r alice.crt message.eml > signed-sealed.eml")]
    Encrypt(Box<EncryptArgs>),
    /// Decrypt a message; an authenticated one (AuthEnvelopedData) is verified whole before
    /// anything is written
    #[command(after_help = "Examples:\n  \
sealmail decrypt -i alice.key sealed.eml > message.eml\n  \
sealmail decrypt -i alice.key -o message.eml sealed.eml\n  \
sealmail decrypt -i alice.key --passphrase-file pass.txt sealed.eml\n  \
sealmail decrypt sealed.eml   # keys from $SEALMAIL_IDENTITY or ~/.config/sealmail/keys/\n  \
sealmail decrypt --entity --inform der -i alice.key --passphrase-fd 0 part.der   # neomutt\n  \
sealmail decrypt -i bob.key --ca company-ca.pem --require-trusted --import signed-sealed.eml\n\n\
A message signed inside the encryption (encrypt --sign, Thunderbird, Outlook) is verified before \
anything is written: an invalid signature is exit 65; an untrusted signer is a warning, or exit \
77 with --require-trusted.")]
    Decrypt(DecryptArgs),
    /// Make an RSA key and a self-signed S/MIME certificate for an address, or an ECDH / ML-KEM key
    #[command(after_help = "Examples:\n  \
sealmail keygen --email alice@example.org -o alice          # writes alice.key and alice.crt\n  \
sealmail keygen --kind ml-kem-768 -o alice-pq               # writes alice-pq.key and alice-pq.pub\n  \
sealmail keygen --kind x25519 --email alice@example.org --issuer-key alice.key \\\n      \
--issuer-cert alice.crt -o alice-x  # alice-x.key, alice-x.pub and alice-x.crt (issued by alice)\n  \
sealmail keygen --email alice@example.org --name 'Alice Liddell' --bits 3072 --days 730 -o alice\n  \
sealmail keygen --email alice@example.org --passphrase-file pass.txt -o alice")]
    Keygen(KeygenArgs),
    /// Show who can decrypt a message, its cipher and sizes (no key needed), and each
    /// recipient's certificate in the keyring: trusted or not, and whether encrypt would choose it
    #[command(
        after_help = "Examples:\n  sealmail inspect sealed.eml\n  sealmail inspect --inform der part.der\n  sealmail inspect --ca company-ca.pem --keyring ~/certs sealed.eml"
    )]
    Inspect(InspectArgs),
    /// Add certificates and keys to neomutt's S/MIME folders and their .index files
    #[command(
        name = "neomutt-index",
        long_about = "Add certificates and keys to neomutt's S/MIME folders and write the .index \
lines neomutt reads to find them ($smime_certificates/.index, $smime_keys/.index).\n\n\
A certificate file (PEM, several certificates allowed, or DER) goes into the certificates folder, \
one index line per email address in it. A private key (PEM) goes into the keys folder together \
with its certificate: from the same file, or NAME.crt beside NAME.key, as keygen writes them. \
Each file is named after its certificate's fingerprint (3f2a9c01.0); stdout lists what was added, \
and a key's name is the value for neomutt's smime_default_key. Running it again adds nothing.",
        after_help = "Examples:\n  \
sealmail neomutt-index alice.key                   # your key (alice.crt beside it)\n  \
sealmail neomutt-index bob.crt carol.pem           # correspondents' certificates\n  \
sealmail neomutt-index --certs ~/.smime/certificates --keys ~/.smime/keys alice.key"
    )]
    NeomuttIndex(NeomuttIndexArgs),
    /// Sign a message: multipart/signed (default) or opaque signed-data
    #[command(after_help = "Examples:\n  \
sealmail sign -i alice.key --cert alice.crt message.eml > signed.eml\n  \
sealmail sign -i alice.pem --opaque -o signed.eml message.eml\n  \
sealmail sign -i alice.key --pss --chain ca-chain.pem message.eml | sendmail -t")]
    Sign(SignArgs),
    /// Verify a signed message; write it without its signature only when valid and trusted
    #[command(after_help = "Examples:\n  \
sealmail verify signed.eml > message.eml\n  \
sealmail verify --ca company-ca.pem --import signed.eml > message.eml\n  \
sealmail verify --allow-untrusted signed.eml   # content of a valid but untrusted signature\n\n\
Exit codes: 0 valid and trusted, 65 invalid (nothing written), 77 valid but not trusted \
(nothing written unless --allow-untrusted, which then exits 0 with a warning).")]
    Verify(VerifyArgs),
    /// Write a key and its certificate (and chain) as a PKCS#12 file for mail clients
    #[command(after_help = "Examples:\n  \
sealmail export -i alice.key --cert alice.crt --passphrase-file p12.pass -o alice.p12\n  \
sealmail export -i alice.key --cert alice.crt --chain ca.crt --legacy -o alice.pfx   # older Outlook, macOS\n  \
sealmail export -i alice.key --key-passphrase-file key.pass --passphrase-fd 3 -o alice.p12 3<p12.pass")]
    Export(ExportArgs),
    /// Put a key (a PKCS#12 file, or a key file and its certificate) where decrypt finds it
    #[command(after_help = "Examples:\n  \
sealmail import --passphrase-file p12.pass alice.p12    # key into ~/.config/sealmail/keys/, certificate into the keyring\n  \
sealmail import alice.key alice.crt\n  \
sealmail import --passphrase-file p12.pass --new-passphrase-file key.pass alice.pfx")]
    Import(ImportArgs),
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  sealmail completions bash > /etc/bash_completion.d/sealmail\n  sealmail completions zsh > ~/.zfunc/_sealmail"
    )]
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// The message: a file, or - / absent for stdin (in compose mode: the plain-text body)
    pub input: Option<PathBuf>,

    /// More recipient certificates or addresses after INPUT, as neomutt's %c passes them
    #[arg(value_name = "RECIPIENT", requires = "input")]
    pub more_recipients: Vec<String>,

    /// Recipient: a certificate, a public key file, or an email address looked up in the keyring
    #[arg(short = 'r', long = "recipient", value_name = "R")]
    pub recipients: Vec<String>,

    /// A file of recipients, one per line (paths or addresses; # comments)
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,

    /// Also encrypt to every To and Cc address (from the keyring), and to From when the keyring
    /// has it. A message with a Bcc field is refused: send Bcc recipients a separate copy
    #[arg(long)]
    pub header_recipients: bool,

    /// Directory of recipient certificates [default: $SEALMAIL_KEYRING, else ~/.config/sealmail/certs]
    #[arg(long, value_name = "DIR")]
    pub keyring: Option<PathBuf>,

    /// Trust the CA certificates in FILE (PEM bundle; repeatable) when choosing among the
    /// keyring's certificates for an address, besides the system store and ~/.config/sealmail/ca/
    #[arg(long = "ca", value_name = "FILE")]
    pub ca: Vec<PathBuf>,

    /// Content cipher; `auto` follows what every recipient is known to read (their
    /// certificates' S/MIME capabilities, the keyring's ADDRESS.caps)
    #[arg(long, value_enum, default_value_t = CipherArg::Auto, value_name = "C")]
    pub cipher: CipherArg,

    /// Say on stderr which format, and which keyring certificate for each address, was chosen
    /// and why
    #[arg(short = 'v', long = "verbose", visible_alias = "explain")]
    pub verbose: bool,

    /// INPUT is a bare MIME entity (as neomutt hands over); output only the S/MIME part
    #[arg(long)]
    pub entity: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = OutFormArg::Smime, value_name = "F")]
    pub outform: OutFormArg,

    /// Compose: the sender; INPUT is then the plain-text body
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,

    /// Compose: To addresses, separated by commas or semicolons (repeatable)
    #[arg(long, value_name = "ADDRS")]
    pub to: Vec<String>,

    /// Compose: Cc addresses, separated by commas or semicolons (repeatable)
    #[arg(long, value_name = "ADDRS")]
    pub cc: Vec<String>,

    /// Compose: the subject
    #[arg(long, value_name = "S")]
    pub subject: Option<String>,

    /// Compose: attach FILE; one file per --attach, repeat it for more. The body is INPUT, or
    /// stdin when INPUT is absent or -
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<PathBuf>,

    /// Set after parsing: the --attach value INPUT directly follows, if any.
    #[arg(skip)]
    pub input_follows_attach: Option<PathBuf>,

    /// Do not hide the Subject in the outer headers
    #[arg(long)]
    pub keep_subject: bool,

    /// Write to FILE instead of stdout (atomically: nothing is left on failure)
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write DER even to a terminal
    #[arg(long)]
    pub force: bool,

    /// Sign the message first (multipart/signed inside the encryption, as Thunderbird and
    /// Outlook send it), with the key given by -i
    #[arg(long, requires = "sign_identity")]
    pub sign: bool,

    /// With --sign: the signing key (RSA or P-256, optionally with its certificate)
    #[arg(
        short = 'i',
        long = "identity",
        value_name = "KEY",
        id = "sign_identity",
        requires = "sign"
    )]
    pub sign_identity: Option<PathBuf>,

    /// With --sign: the key's certificate [default: in the key file, or KEY.crt beside it]
    #[arg(long = "cert", value_name = "FILE", requires = "sign")]
    pub sign_cert: Option<PathBuf>,

    /// With --sign: intermediate CA certificates to send along (PEM bundle)
    #[arg(long = "chain", value_name = "FILE", requires = "sign")]
    pub sign_chain: Option<PathBuf>,

    /// With --sign: RSASSA-PSS instead of PKCS#1 v1.5
    #[arg(long = "pss", requires = "sign")]
    pub sign_pss: bool,

    /// With --sign: read the key passphrase from FILE (first line)
    #[arg(
        long = "passphrase-file",
        value_name = "FILE",
        conflicts_with = "passphrase_fd",
        requires = "sign"
    )]
    pub passphrase_file: Option<PathBuf>,

    /// With --sign: read the key passphrase from file descriptor N (first line; 0 = stdin)
    #[arg(long = "passphrase-fd", value_name = "N", requires = "sign")]
    pub passphrase_fd: Option<u32>,
}

#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The encrypted message: a file, or - / absent for stdin
    pub input: Option<PathBuf>,

    /// A private key (PKCS#8 or PKCS#1, PEM or DER, optionally with its certificate; or PKCS#12)
    /// [default: $SEALMAIL_IDENTITY, else every key in ~/.config/sealmail/keys/]
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,

    /// Read the key passphrase from FILE (first line)
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_fd")]
    pub passphrase_file: Option<PathBuf>,

    /// Read the key passphrase from file descriptor N (first line; 0 = stdin)
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,

    /// Output only the decrypted inner MIME entity
    #[arg(long)]
    pub entity: bool,

    /// Input format
    #[arg(long, value_enum, default_value_t = InFormArg::Auto, value_name = "F")]
    pub inform: InFormArg,

    /// Write to FILE instead of stdout (created 0600, atomically)
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Refuse messages without integrity protection (EnvelopedData, e.g. AES-CBC), writing
    /// nothing [also: $SEALMAIL_REQUIRE_AEAD=1]
    #[arg(long)]
    pub require_aead: bool,

    /// A signed message inside: trust the CA certificates in FILE (PEM bundle; repeatable),
    /// besides the system store and ~/.config/sealmail/ca/
    #[arg(long = "ca", value_name = "FILE")]
    pub ca: Vec<PathBuf>,

    /// Keyring: its pinned/ certificates are trusted, and --import writes to it
    /// [default: $SEALMAIL_KEYRING, else ~/.config/sealmail/certs]
    #[arg(long, value_name = "DIR")]
    pub keyring: Option<PathBuf>,

    /// Store a trusted inner signer's certificate (pinned/) and capabilities (ADDRESS.caps) in
    /// the keyring
    #[arg(long)]
    pub import: bool,

    /// Refuse a message that is not signed inside its encryption, or whose signer does not chain
    /// to a trust anchor (77, nothing written); without it, an untrusted signer is a warning
    #[arg(long)]
    pub require_trusted: bool,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The message: a file, or - / absent for stdin
    pub input: Option<PathBuf>,

    /// The signing key (RSA or P-256; PKCS#8, PKCS#1 or SEC1, PEM or DER, optionally with its
    /// certificate; or a PKCS#12 file, whose certificate and chain are used)
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identity: PathBuf,

    /// The key's certificate [default: in the key file, or KEY.crt beside it]
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Intermediate CA certificates to send along (PEM bundle)
    #[arg(long, value_name = "FILE")]
    pub chain: Option<PathBuf>,

    /// Write application/pkcs7-mime signed-data (content inside) instead of multipart/signed
    #[arg(long)]
    pub opaque: bool,

    /// Sign with RSASSA-PSS instead of PKCS#1 v1.5
    #[arg(long)]
    pub pss: bool,

    /// Read the key passphrase from FILE (first line)
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_fd")]
    pub passphrase_file: Option<PathBuf>,

    /// Read the key passphrase from file descriptor N (first line; 0 = stdin)
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,

    /// Write to FILE instead of stdout (atomically: nothing is left on failure)
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signed message: a file, or - / absent for stdin
    pub input: Option<PathBuf>,

    /// Trust the CA certificates in FILE (PEM bundle; repeatable), besides the system store
    /// and ~/.config/sealmail/ca/
    #[arg(long = "ca", value_name = "FILE")]
    pub ca: Vec<PathBuf>,

    /// Keyring: its pinned/ certificates are trusted [default: $SEALMAIL_KEYRING, else ~/.config/sealmail/certs]
    #[arg(long, value_name = "DIR")]
    pub keyring: Option<PathBuf>,

    /// Store a trusted signer's certificate (pinned/) and capabilities (ADDRESS.caps) in the
    /// keyring; with --allow-untrusted, an untrusted signer's certificate unpinned (it stays
    /// untrusted) and without its capabilities
    #[arg(long)]
    pub import: bool,

    /// Write the content of a valid signature even when the signer is not trusted (exit 0, warning)
    #[arg(long)]
    pub allow_untrusted: bool,

    /// Write to FILE instead of stdout (atomically: nothing is left on failure)
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The email address the certificate is for (required for RSA)
    #[arg(long, value_name = "ADDR")]
    pub email: Option<String>,

    /// The kind of key: RSA with a self-signed certificate, or a P-256 / X25519 (key agreement) or
    /// ML-KEM (post-quantum) key written as PREFIX.key and PREFIX.pub
    #[arg(long, default_value = "rsa", value_parser = ["rsa", "p256", "x25519", "ml-kem-768", "ml-kem-1024"])]
    pub kind: String,

    /// The name in the certificate's subject [default: the address]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// RSA key size
    #[arg(long, default_value = "3072", value_parser = ["2048", "3072", "4096"])]
    pub bits: String,

    /// Days the certificate is valid
    #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: u32,

    /// Write PREFIX.key and PREFIX.crt (PREFIX.pub for a --kind key) [default: the address]
    #[arg(short = 'o', long = "output", value_name = "PREFIX")]
    pub prefix: Option<PathBuf>,

    /// Encrypt the key with the passphrase in FILE (first line)
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_fd")]
    pub passphrase_file: Option<PathBuf>,

    /// Encrypt the key with the passphrase read from file descriptor N
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,

    /// Have KEY (RSA or EC) issue the certificate instead of self-signing: also writes
    /// PREFIX.crt for a P-256, X25519 or ML-KEM key, so the keyring can hold it (needs --email
    /// and --issuer-cert)
    #[arg(long, value_name = "KEY", requires = "issuer_cert")]
    pub issuer_key: Option<PathBuf>,

    /// The certificate of --issuer-key: the new certificate's issuer
    #[arg(long, value_name = "CERT", requires = "issuer_key")]
    pub issuer_cert: Option<PathBuf>,

    /// The passphrase of an encrypted --issuer-key, from FILE (first line) [default:
    /// $SEALMAIL_PASSPHRASE, else asked on the terminal]
    #[arg(long, value_name = "FILE", requires = "issuer_key")]
    pub issuer_passphrase_file: Option<PathBuf>,

    /// Also write PREFIX.p12 (PKCS#12 for mail clients, protected by the key's passphrase);
    /// with --kind, only together with --issuer-key, which gives the key its certificate
    #[arg(long)]
    pub p12: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The private key: PKCS#8 or PKCS#1, PEM or DER (with its certificate, or not), or PKCS#12
    #[arg(short = 'i', long = "identity", value_name = "KEY")]
    pub key: PathBuf,

    /// The key's certificate [default: one in KEY, or KEY's STEM.crt beside it]
    #[arg(long, value_name = "CRT")]
    pub cert: Option<PathBuf>,

    /// CA certificates to include after the key's certificate (PEM, several allowed)
    #[arg(long, value_name = "FILE")]
    pub chain: Vec<PathBuf>,

    /// The PKCS#12 file to write (mode 0600)
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,

    /// Protect the PKCS#12 file with the passphrase in FILE (first line)
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_fd")]
    pub passphrase_file: Option<PathBuf>,

    /// Protect the PKCS#12 file with the passphrase read from file descriptor N
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,

    /// The passphrase of an encrypted KEY, from FILE (first line) [default: $SEALMAIL_PASSPHRASE, else a prompt]
    #[arg(long, value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,

    /// 3DES and an HMAC-SHA-1 MAC, for older Outlook and macOS [default: AES-256 and SHA-256]
    #[arg(long)]
    pub legacy: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A PKCS#12 file, or a private key file (PKCS#8 or PKCS#1, PEM or DER)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The key's certificate, when FILE does not hold it
    #[arg(value_name = "CERT")]
    pub cert: Option<PathBuf>,

    /// The passphrase that opens FILE, from FILE (first line)
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_fd")]
    pub passphrase_file: Option<PathBuf>,

    /// The passphrase that opens FILE, from file descriptor N
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,

    /// Encrypt the stored key with this passphrase instead of the one that opened FILE
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,

    /// Where the certificate goes, and is pinned in pinned/ [default: $SEALMAIL_KEYRING, else ~/.config/sealmail/certs]
    #[arg(long, value_name = "DIR")]
    pub keyring: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NeomuttIndexArgs {
    /// Certificates and private keys to add
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// neomutt's $smime_certificates folder [default: ~/.smime/certificates]
    #[arg(long, value_name = "DIR")]
    pub certs: Option<PathBuf>,

    /// neomutt's $smime_keys folder [default: ~/.smime/keys]
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The encrypted message: a file, or - / absent for stdin
    pub input: Option<PathBuf>,

    /// Input format
    #[arg(long, value_enum, default_value_t = InFormArg::Auto, value_name = "F")]
    pub inform: InFormArg,

    /// Keyring to find the recipients' certificates in [default: $SEALMAIL_KEYRING, else ~/.config/sealmail/certs]
    #[arg(long, value_name = "DIR")]
    pub keyring: Option<PathBuf>,

    /// Trust the CA certificates in FILE (PEM bundle; repeatable), as encrypt --ca does
    #[arg(long = "ca", value_name = "FILE")]
    pub ca: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CipherArg {
    /// ChaCha20-Poly1305 when every recipient reads it, else AES-256-GCM when every one does,
    /// else AES-256-CBC (EnvelopedData, what every S/MIME client reads)
    Auto,
    /// ChaCha20-Poly1305 (RFC 8103)
    #[value(name = "chacha20-poly1305", alias = "chacha20")]
    Chacha20Poly1305,
    /// AES-256-GCM (RFC 5084)
    #[value(name = "aes-256-gcm")]
    Aes256Gcm,
    /// AES-128-GCM (RFC 5084)
    #[value(name = "aes-128-gcm")]
    Aes128Gcm,
    /// AES-256-CBC in EnvelopedData (RFC 3565): no integrity protection; `aes256` as neomutt
    /// and openssl say it
    #[value(name = "aes-256-cbc", alias = "aes256")]
    Aes256Cbc,
    /// AES-128-CBC in EnvelopedData (RFC 3565): no integrity protection; `aes128` as neomutt
    /// and openssl say it
    #[value(name = "aes-128-cbc", alias = "aes128")]
    Aes128Cbc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormArg {
    /// A MIME message (application/pkcs7-mime, base64)
    Smime,
    /// A -----BEGIN CMS----- block
    Pem,
    /// Raw DER (BER when the input length is not known)
    Der,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InFormArg {
    /// Detect S/MIME, PEM or DER
    Auto,
    Smime,
    Pem,
    Der,
}

// ---------------------------------------------------------------------------------------------
// From flags to requests: the only place clap's types meet the library's.

use crate::aead::ContentCipher;
use crate::app::{self, Compose, PassphraseFrom, Request};
use crate::policy::{CipherRequest, ContentChoice};
use crate::smime::{InForm, OutForm};

impl From<CipherArg> for CipherRequest {
    fn from(c: CipherArg) -> Self {
        use crate::cbc::CbcCipher;
        let named = |c| CipherRequest::Named(c);
        match c {
            CipherArg::Auto => CipherRequest::Auto,
            CipherArg::Chacha20Poly1305 => {
                named(ContentChoice::Aead(ContentCipher::ChaCha20Poly1305))
            }
            CipherArg::Aes256Gcm => named(ContentChoice::Aead(ContentCipher::Aes256Gcm)),
            CipherArg::Aes128Gcm => named(ContentChoice::Aead(ContentCipher::Aes128Gcm)),
            CipherArg::Aes256Cbc => named(ContentChoice::Cbc(CbcCipher::Aes256)),
            CipherArg::Aes128Cbc => named(ContentChoice::Cbc(CbcCipher::Aes128)),
        }
    }
}

impl From<OutFormArg> for OutForm {
    fn from(f: OutFormArg) -> Self {
        match f {
            OutFormArg::Smime => OutForm::Smime,
            OutFormArg::Pem => OutForm::Pem,
            OutFormArg::Der => OutForm::Der,
        }
    }
}

impl From<InFormArg> for InForm {
    fn from(f: InFormArg) -> Self {
        match f {
            InFormArg::Auto => InForm::Auto,
            InFormArg::Smime => InForm::Smime,
            InFormArg::Pem => InForm::Pem,
            InFormArg::Der => InForm::Der,
        }
    }
}

fn passphrase_from(file: Option<PathBuf>, fd: Option<u32>) -> Option<PassphraseFrom> {
    match (file, fd) {
        (Some(f), _) => Some(PassphraseFrom::File(f)),
        (None, Some(fd)) => Some(PassphraseFrom::Fd(fd)),
        (None, None) => None,
    }
}

impl Command {
    /// The request for `app::run`; `None` for `completions`, which the binary answers itself.
    pub fn into_request(self) -> Option<Request> {
        Some(match self {
            Command::Encrypt(a) => {
                let a = *a;
                let composing = a.from.is_some()
                    || !a.to.is_empty()
                    || !a.cc.is_empty()
                    || a.subject.is_some()
                    || !a.attach.is_empty();
                Request::Encrypt(app::EncryptRequest {
                    input: a.input,
                    recipients: a.recipients.into_iter().chain(a.more_recipients).collect(),
                    recipients_files: a.recipients_files,
                    header_recipients: a.header_recipients,
                    keyring: a.keyring,
                    ca: a.ca,
                    cipher: a.cipher.into(),
                    explain: a.verbose,
                    entity: a.entity,
                    outform: a.outform.into(),
                    compose: composing.then_some(Compose {
                        from: a.from,
                        to: a.to,
                        cc: a.cc,
                        subject: a.subject,
                        attach: a.attach,
                        body_follows: a.input_follows_attach,
                    }),
                    keep_subject: a.keep_subject,
                    output: a.output,
                    force: a.force,
                    sign: a.sign_identity.filter(|_| a.sign).map(|identity| {
                        Box::new(app::SignKey {
                            identity,
                            cert: a.sign_cert,
                            chain: a.sign_chain,
                            pss: a.sign_pss,
                            passphrase: passphrase_from(a.passphrase_file, a.passphrase_fd)
                                .unwrap_or(PassphraseFrom::Default),
                        })
                    }),
                })
            }
            Command::Decrypt(a) => Request::Decrypt(app::DecryptRequest {
                input: a.input,
                identities: a.identities,
                passphrase: passphrase_from(a.passphrase_file, a.passphrase_fd)
                    .unwrap_or(PassphraseFrom::Default),
                entity: a.entity,
                inform: a.inform.into(),
                output: a.output,
                require_aead: a.require_aead,
                ca: a.ca,
                keyring: a.keyring,
                import: a.import,
                require_trusted: a.require_trusted,
            }),
            Command::Keygen(a) => Request::Keygen(app::KeygenRequest {
                kind: match a.kind.as_str() {
                    "p256" => Some(crate::keys::ModernKind::P256),
                    "x25519" => Some(crate::keys::ModernKind::X25519),
                    "ml-kem-768" => Some(crate::keys::ModernKind::MlKem768),
                    "ml-kem-1024" => Some(crate::keys::ModernKind::MlKem1024),
                    _ => None,
                },
                email: a.email,
                name: a.name,
                bits: a.bits.parse().unwrap_or(3072),
                days: a.days,
                prefix: a.prefix,
                passphrase: passphrase_from(a.passphrase_file, a.passphrase_fd),
                issuer: a
                    .issuer_key
                    .zip(a.issuer_cert)
                    .map(|(key, cert)| app::Issuer {
                        key,
                        cert,
                        passphrase: a
                            .issuer_passphrase_file
                            .map_or(PassphraseFrom::Default, PassphraseFrom::File),
                    }),
                p12: a.p12,
            }),
            Command::Export(a) => Request::Export(app::ExportRequest {
                key: a.key,
                cert: a.cert,
                chain: a.chain,
                output: a.output,
                passphrase: passphrase_from(a.passphrase_file, a.passphrase_fd)
                    .unwrap_or(PassphraseFrom::Default),
                key_passphrase: a
                    .key_passphrase_file
                    .map(PassphraseFrom::File)
                    .unwrap_or(PassphraseFrom::Default),
                legacy: a.legacy,
            }),
            Command::Import(a) => Request::Import(app::ImportRequest {
                file: a.file,
                cert: a.cert,
                passphrase: passphrase_from(a.passphrase_file, a.passphrase_fd)
                    .unwrap_or(PassphraseFrom::Default),
                new_passphrase: a.new_passphrase_file.map(PassphraseFrom::File),
                keyring: a.keyring,
            }),
            Command::Inspect(a) => Request::Inspect(app::InspectRequest {
                input: a.input,
                inform: a.inform.into(),
                keyring: a.keyring,
                ca: a.ca,
            }),
            Command::NeomuttIndex(a) => Request::NeomuttIndex(app::NeomuttIndexRequest {
                files: a.files,
                certificates: a.certs,
                keys: a.keys,
            }),
            Command::Sign(a) => Request::Sign(app::SignRequest {
                input: a.input,
                identity: a.identity,
                cert: a.cert,
                chain: a.chain,
                opaque: a.opaque,
                pss: a.pss,
                passphrase: passphrase_from(a.passphrase_file, a.passphrase_fd)
                    .unwrap_or(PassphraseFrom::Default),
                output: a.output,
            }),
            Command::Verify(a) => Request::Verify(app::VerifyRequest {
                input: a.input,
                ca: a.ca,
                keyring: a.keyring,
                import: a.import,
                allow_untrusted: a.allow_untrusted,
                output: a.output,
            }),
            Command::Completions { .. } => return None,
        })
    }
}
