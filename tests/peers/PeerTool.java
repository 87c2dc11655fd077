// Bouncy Castle as an S/MIME peer of sealmail's interop tests (tests/peers/mod.rs compiles this
// with javac against the system's bcprov/bcpkix/bcutil jars and runs it).
//
// It is a test tool, not an example of how to use Bouncy Castle: it reads the whole message into
// memory except where a streaming parser or generator is the point of the test.
//
//   PeerTool decrypt KEY.pem CERT.pem < message.der > content
//   PeerTool encrypt [--cipher aes256-cbc|aes128-cbc|des3|aes256-gcm|aes128-gcm]
//                    [--oaep sha1|sha256] [--keyid] [--stream] CERT.pem... < content > message.der
//
// decrypt accepts EnvelopedData (DER or BER) and AuthEnvelopedData; the recipient is found by
// the certificate's issuer and serial number or its subjectKeyIdentifier. encrypt writes DER
// unless --stream asks for the BER stream generator (indefinite lengths, chunked content).
// Exit status: 0 done, 1 the message was refused (reason on stderr), 2 usage.

import java.io.FileReader;
import java.io.OutputStream;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.security.spec.MGF1ParameterSpec;
import java.util.ArrayList;
import java.util.List;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;

import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1InputStream;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSAuthEnvelopedData;
import org.bouncycastle.cms.CMSAuthEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSEnvelopedDataParser;
import org.bouncycastle.cms.CMSEnvelopedDataStreamGenerator;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.RecipientInformationStore;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyTransAuthEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientId;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OutputAEADEncryptor;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;

public final class PeerTool {
    public static void main(String[] args) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        if (args.length >= 3 && args[0].equals("decrypt")) {
            try {
                decrypt(readKey(args[1]), readCert(args[2]));
            } catch (Exception e) {
                System.err.println("PeerTool: refused: " + e);
                System.exit(1);
            }
        } else if (args.length >= 2 && args[0].equals("encrypt")) {
            encrypt(args);
        } else {
            System.err.println("usage: PeerTool decrypt KEY CERT | encrypt [options] CERT...");
            System.exit(2);
        }
    }

    static void decrypt(PrivateKey key, X509Certificate cert) throws Exception {
        byte[] message = System.in.readAllBytes();
        ASN1ObjectIdentifier type;
        try (ASN1InputStream in = new ASN1InputStream(message)) {
            type = ContentInfo.getInstance(in.readObject()).getContentType();
        }
        JceKeyTransRecipientId id = new JceKeyTransRecipientId(cert);
        byte[] content;
        if (type.equals(PKCSObjectIdentifiers.envelopedData)) {
            CMSEnvelopedDataParser parser = new CMSEnvelopedDataParser(message);
            RecipientInformation ri = only(parser.getRecipientInfos(), id);
            content = ri.getContent(new JceKeyTransEnvelopedRecipient(key).setProvider("BC"));
        } else if (type.equals(PKCSObjectIdentifiers.id_ct_authEnvelopedData)) {
            CMSAuthEnvelopedData data = new CMSAuthEnvelopedData(message);
            RecipientInformation ri = only(data.getRecipientInfos(), id);
            content = ri.getContent(new JceKeyTransAuthEnvelopedRecipient(key).setProvider("BC"));
        } else {
            throw new IllegalArgumentException("content type " + type + " is not an envelope");
        }
        System.out.write(content);
        System.out.flush();
    }

    static RecipientInformation only(RecipientInformationStore store, JceKeyTransRecipientId id) {
        RecipientInformation ri = store.get(id);
        if (ri == null) {
            throw new IllegalArgumentException("no RecipientInfo for this certificate");
        }
        return ri;
    }

    static void encrypt(String[] args) throws Exception {
        String cipher = "aes256-cbc";
        String oaep = null;
        boolean keyid = false;
        boolean stream = false;
        List<X509Certificate> certs = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--cipher": cipher = args[++i]; break;
                case "--oaep": oaep = args[++i]; break;
                case "--keyid": keyid = true; break;
                case "--stream": stream = true; break;
                default: certs.add(readCert(args[i]));
            }
        }
        byte[] content = System.in.readAllBytes();
        List<JceKeyTransRecipientInfoGenerator> recipients = new ArrayList<>();
        for (X509Certificate cert : certs) {
            recipients.add(recipient(cert, oaep, keyid));
        }
        OutputStream out = System.out;
        ASN1ObjectIdentifier alg = cipherOid(cipher);
        if (cipher.endsWith("-gcm")) {
            CMSAuthEnvelopedDataGenerator gen = new CMSAuthEnvelopedDataGenerator();
            recipients.forEach(gen::addRecipientInfoGenerator);
            OutputEncryptor enc = new JceCMSContentEncryptorBuilder(alg).setProvider("BC").build();
            CMSAuthEnvelopedData data =
                gen.generate(new CMSProcessableByteArray(content), (OutputAEADEncryptor) enc);
            out.write(data.toASN1Structure().getEncoded(ASN1Encoding.DER));
        } else if (stream) {
            CMSEnvelopedDataStreamGenerator gen = new CMSEnvelopedDataStreamGenerator();
            recipients.forEach(gen::addRecipientInfoGenerator);
            gen.setBufferSize(1000);
            OutputEncryptor enc = new JceCMSContentEncryptorBuilder(alg).setProvider("BC").build();
            try (OutputStream sealed = gen.open(out, enc)) {
                sealed.write(content);
            }
        } else {
            CMSEnvelopedDataGenerator gen = new CMSEnvelopedDataGenerator();
            recipients.forEach(gen::addRecipientInfoGenerator);
            OutputEncryptor enc = new JceCMSContentEncryptorBuilder(alg).setProvider("BC").build();
            out.write(gen.generate(new CMSProcessableByteArray(content), enc)
                .toASN1Structure().getEncoded(ASN1Encoding.DER));
        }
        out.flush();
    }

    static ASN1ObjectIdentifier cipherOid(String name) {
        switch (name) {
            case "aes256-cbc": return CMSAlgorithm.AES256_CBC;
            case "aes128-cbc": return CMSAlgorithm.AES128_CBC;
            case "des3": return CMSAlgorithm.DES_EDE3_CBC;
            case "aes256-gcm": return CMSAlgorithm.AES256_GCM;
            case "aes128-gcm": return CMSAlgorithm.AES128_GCM;
            default: throw new IllegalArgumentException("unknown cipher " + name);
        }
    }

    static JceKeyTransRecipientInfoGenerator recipient(X509Certificate cert, String oaep, boolean keyid)
            throws Exception {
        AlgorithmIdentifier alg = null;
        if (oaep != null) {
            OAEPParameterSpec spec = oaep.equals("sha256")
                ? new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT)
                : OAEPParameterSpec.DEFAULT;
            alg = new JcaAlgorithmParametersConverter()
                .getAlgorithmIdentifier(PKCSObjectIdentifiers.id_RSAES_OAEP, spec);
        }
        JceKeyTransRecipientInfoGenerator gen;
        if (keyid) {
            byte[] ski = subjectKeyId(cert);
            gen = alg == null
                ? new JceKeyTransRecipientInfoGenerator(ski, cert.getPublicKey())
                : new JceKeyTransRecipientInfoGenerator(ski, alg, cert.getPublicKey());
        } else {
            gen = alg == null
                ? new JceKeyTransRecipientInfoGenerator(cert)
                : new JceKeyTransRecipientInfoGenerator(cert, alg);
        }
        return gen.setProvider("BC");
    }

    static byte[] subjectKeyId(X509Certificate cert) throws Exception {
        byte[] ext = cert.getExtensionValue(Extension.subjectKeyIdentifier.getId());
        if (ext == null) {
            throw new IllegalArgumentException("certificate has no subjectKeyIdentifier");
        }
        return ASN1OctetString.getInstance(ASN1OctetString.getInstance(ext).getOctets()).getOctets();
    }

    static X509Certificate readCert(String path) throws Exception {
        try (PEMParser pem = new PEMParser(new FileReader(path))) {
            return new JcaX509CertificateConverter().setProvider("BC")
                .getCertificate((X509CertificateHolder) pem.readObject());
        }
    }

    static PrivateKey readKey(String path) throws Exception {
        try (PEMParser pem = new PEMParser(new FileReader(path))) {
            Object o = pem.readObject();
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter().setProvider("BC");
            if (o instanceof PEMKeyPair) {
                return conv.getKeyPair((PEMKeyPair) o).getPrivate();
            }
            return conv.getPrivateKey((PrivateKeyInfo) o);
        }
    }
}
