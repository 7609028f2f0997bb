#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets into fuzz/corpus/<target>/seed-*.

Certificates come from `openssl` (P-256, RSA-2048 and Ed25519 keys, SANs, a root CA with
name constraints, an intermediate, a CN-only leaf, a wildcard leaf, a v1 certificate); the
DNS messages for `resolver_judge` from dnspython (`pip install dnspython`; skipped when it
is missing). Usage: python3 fuzz/seeds.py [corpus-dir]
"""

import hashlib
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")


def openssl(*args, stdin=None):
    return subprocess.run(
        ["openssl", *args], input=stdin, check=True, capture_output=True
    ).stdout


class Pki:
    """Keys and certificates in a temporary directory."""

    def __init__(self, tmp):
        self.tmp = tmp

    def path(self, name):
        return os.path.join(self.tmp, name)

    def key(self, name, kind):
        args = {
            "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "ed25519": ["-algorithm", "ED25519"],
        }[kind]
        openssl("genpkey", *args, "-out", self.path(name + ".key"))

    def cert(self, name, subject, exts, issuer=None, days="3650"):
        """A certificate for key `name`, self-signed or signed by `issuer`; `exts` is a
        list of extension lines (none: a v1 certificate)."""
        ext_file = self.path(name + ".ext")
        with open(ext_file, "w") as f:
            f.write("[v3]\n" + "\n".join(exts) + "\n")
        ext_args = ["-extfile", ext_file, "-extensions", "v3"] if exts else []
        csr = openssl("req", "-new", "-key", self.path(name + ".key"), "-subj", subject)
        if issuer is None:
            sign = ["-signkey", self.path(name + ".key")]
        else:
            sign = [
                "-CA", self.path(issuer + ".pem"),
                "-CAkey", self.path(issuer + ".key"),
                "-set_serial", str(sum(name.encode()) * 7919),
            ]
        pem = openssl("x509", "-req", "-days", days, *sign, *ext_args, stdin=csr)
        with open(self.path(name + ".pem"), "wb") as f:
            f.write(pem)
        return openssl("x509", "-outform", "DER", stdin=pem)


def spki_of(der):
    pub = openssl("x509", "-inform", "DER", "-pubkey", "-noout", stdin=der)
    return openssl("pkey", "-pubin", "-outform", "DER", stdin=pub)


def rdata(usage, selector, matching, cert):
    selected = cert if selector == 0 else spki_of(cert)
    data = {0: selected, 1: hashlib.sha256(selected).digest(),
            2: hashlib.sha512(selected).digest()}[matching]
    return bytes([usage, selector, matching]) + data


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def prefixed16(items):
    return b"".join(struct.pack(">H", len(i)) + i for i in items)


def certificates():
    with tempfile.TemporaryDirectory() as tmp:
        pki = Pki(tmp)
        for name, kind in [("root", "rsa"), ("inter", "p256"), ("leaf", "p256"),
                           ("cn", "p256"), ("cnbad", "p256"), ("wild", "rsa"),
                           ("ed", "ed25519"), ("v1", "p256")]:
            pki.key(name, kind)
        ca = ["basicConstraints=critical,CA:true", "keyUsage=critical,keyCertSign,cRLSign",
              "subjectKeyIdentifier=hash"]
        leaf_exts = ["basicConstraints=CA:false", "keyUsage=critical,digitalSignature",
                     "extendedKeyUsage=serverAuth", "authorityKeyIdentifier=keyid"]
        c = {}
        c["root"] = pki.cert("root", "/CN=Fuzz Root", ca + [
            "nameConstraints=critical,permitted;DNS:example.net,excluded;DNS:bad.example.net"])
        c["inter"] = pki.cert("inter", "/CN=Fuzz Intermediate",
                              ca + ["authorityKeyIdentifier=keyid"], issuer="root")
        c["leaf"] = pki.cert("leaf", "/CN=mx.example.net", leaf_exts + [
            "subjectAltName=DNS:mx.example.net,DNS:example.net,IP:192.0.2.1"], issuer="inter")
        c["cn"] = pki.cert("cn", "/O=Fuzz/CN=mx.example.net", leaf_exts, issuer="inter")
        c["cnbad"] = pki.cert("cnbad", "/CN=mx.bad.example.net", leaf_exts, issuer="inter")
        c["wild"] = pki.cert("wild", "/CN=wild", leaf_exts + [
            "subjectAltName=DNS:*.example.net"], issuer="root")
        c["ed"] = pki.cert("ed", "/CN=ed", ["subjectAltName=DNS:mx.example.net"])
        c["v1"] = pki.cert("v1", "/CN=mx.example.net", [])
        return c


def cert_seeds(c):
    for name, der in c.items():
        write("der_walk", name, der)

    records = {
        "311-leaf": rdata(3, 1, 1, c["leaf"]),
        "301-leaf": rdata(3, 0, 1, c["leaf"]),
        "312-ed": rdata(3, 1, 2, c["ed"]),
        "310-v1": rdata(3, 1, 0, c["v1"]),
        "201-root": rdata(2, 0, 1, c["root"]),
        "211-inter": rdata(2, 1, 1, c["inter"]),
        "202-inter": rdata(2, 0, 2, c["inter"]),
        "210-root": rdata(2, 1, 0, c["root"]),
        "001-root": rdata(0, 0, 1, c["root"]),
        "111-leaf": rdata(1, 1, 1, c["leaf"]),
        "private": bytes([255, 1, 1]) + bytes(32),
        "badlen": bytes([3, 1, 1]) + bytes(31),
    }
    for name, r in records.items():
        write("tlsa_rdata", name, r)
    write("tlsa_rdata", "200-root", rdata(2, 0, 0, c["root"]))
    write("tlsa_rdata", "rrset", b"".join(
        bytes([len(r)]) + r for r in records.values() if len(r) < 256))
    write("tlsa_rdata", "agility", b"".join(bytes([len(r)]) + r for r in [
        rdata(3, 1, 1, c["leaf"]), rdata(3, 1, 2, c["leaf"]), rdata(3, 1, 0, c["ed"])]))

    names = ["DANE-EE", "PKIX-TA", "SPKI", "Cert", "SHA2-256", "SHA2-512", "Full"]
    for name, r in list(records.items())[:6]:
        u, s, m, data = r[0], r[1], r[2], r[3:]
        write("tlsa_text", name, f"{u} {s} {m} {data.hex()}".encode())
    r = records["311-leaf"]
    write("tlsa_text", "mnemonic", f"DANE-EE SPKI SHA2-256 ( {r[3:19].hex()}\n\t{r[19:].hex().upper()} )".encode())
    write("tlsa_text", "generic", f"\\# {len(r)} {r.hex()}".encode())
    write("tlsa_text", "names", " ".join(names).encode())

    def fe(i, u, s, m):
        return bytes([0xFE, i, u, s, m])

    def verify_seed(name, mode, chain, recs):
        ncert = len(chain)
        assert ncert < 16
        write("verify", name, bytes([(ncert << 4) | mode]) + prefixed16(chain + recs))

    leaf, inter, root = c["leaf"], c["inter"], c["root"]
    verify_seed("ee", 0, [leaf], [records["311-leaf"], records["private"]])
    verify_seed("ee-names", 2 | 8, [leaf, inter], [records["301-leaf"]])
    verify_seed("ta-root", 0, [leaf, inter, root], [records["201-root"]])
    verify_seed("ta-inter", 1, [leaf, inter], [records["211-inter"], records["badlen"]])
    verify_seed("ta-any-order", 8, [leaf, root, inter], [fe(1, 2, 1, 1)])
    verify_seed("ta-from-record", 0, [leaf, inter], [rdata(2, 0, 0, root)])
    verify_seed("ta-key-record", 1, [leaf, inter], [records["210-root"]])
    verify_seed("ta-cn", 0, [c["cn"], inter], [fe(1, 2, 0, 1)])
    verify_seed("ta-cn-excluded", 0, [c["cnbad"], inter, root], [fe(2, 2, 0, 2)])
    verify_seed("ta-wildcard", 1, [c["wild"], root], [fe(1, 2, 1, 1)])
    verify_seed("pkix-ta", 1 | 4, [leaf, inter, root], [records["001-root"]])
    verify_seed("pkix-ee", 1 | 4, [leaf, inter, root], [records["111-leaf"]])
    verify_seed("v1", 2, [c["v1"]], [fe(0, 3, 0, 1), fe(0, 2, 0, 1)])
    verify_seed("ed", 0, [c["ed"]], [records["312-ed"]])


def dns_seeds():
    try:
        import dns.flags
        import dns.message
        import dns.rcode
        import dns.rrset
    except ImportError:
        print("dnspython missing: no resolver_judge seeds", file=sys.stderr)
        return
    # TTL low bits give the validator's proof: 0 secure, 1 insecure, 2 bogus, 3
    # indeterminate; message ID % 5 gives the verdict on the denial (4: none).
    secure, insecure, bogus = 3600, 3601, 3602
    q = "_25._tcp.mx.example.net."
    sig = ("TLSA 13 5 3600 20380101000000 20260101000000 12345 example.net. "
           + "AAAA" * 22)
    soa = "ns.example.net. hostmaster.example.net. 1 7200 3600 1209600 300"
    soa_sig = sig.replace("TLSA", "SOA")
    nsec_sig = sig.replace("TLSA", "NSEC")

    def message(name, qname, qtype, rcode, answer=(), authority=(), ident=4):
        m = dns.message.make_query(qname, qtype, want_dnssec=True)
        r = dns.message.make_response(m)
        r.id = ident
        r.flags |= dns.flags.AD
        r.set_rcode(rcode)
        for owner, ttl, rtype, texts in answer:
            r.answer.append(dns.rrset.from_text_list(owner, ttl, "IN", rtype, texts))
        for owner, ttl, rtype, texts in authority:
            r.authority.append(dns.rrset.from_text_list(owner, ttl, "IN", rtype, texts))
        write("resolver_judge", name, r.to_wire())

    tlsa = ["3 1 1 " + "ab" * 32, "2 0 1 " + "cd" * 32]
    message("positive", q, "TLSA", dns.rcode.NOERROR,
            [(q, secure, "TLSA", tlsa), (q, secure, "RRSIG", [sig])])
    message("positive-insecure", q, "TLSA", dns.rcode.NOERROR,
            [(q, insecure, "TLSA", tlsa)])
    message("positive-bogus", q, "TLSA", dns.rcode.NOERROR,
            [(q, bogus, "TLSA", tlsa)])
    message("nxdomain", q, "TLSA", dns.rcode.NXDOMAIN, [], [
        ("example.net.", secure, "SOA", [soa]),
        ("example.net.", secure, "RRSIG", [soa_sig]),
        ("_tcp.example.net.", secure, "NSEC", ["mx.example.net. A RRSIG NSEC"]),
        ("_tcp.example.net.", secure, "RRSIG", [nsec_sig]),
    ], ident=5)
    message("nodata", q, "TLSA", dns.rcode.NOERROR, [], [
        ("example.net.", secure, "SOA", [soa]),
        (q, secure, "NSEC", ["mx.example.net. CNAME RRSIG NSEC"]),
    ], ident=10)
    message("nodata-insecure", q, "TLSA", dns.rcode.NOERROR, [], [
        ("example.net.", insecure, "SOA", [soa]),
    ], ident=6)
    message("nsec3", q, "TLSA", dns.rcode.NXDOMAIN, [], [
        ("example.net.", secure, "SOA", [soa]),
        ("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.net.", secure, "NSEC3",
         ["1 0 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG"]),
    ], ident=0)
    message("forged-soa", q, "TLSA", dns.rcode.NXDOMAIN, [], [
        ("example.org.", insecure, "SOA", [soa]),
    ], ident=9)
    target = "_25._tcp.mx.example.org."
    message("cname-chain", q, "TLSA", dns.rcode.NOERROR, [
        (q, secure, "CNAME", ["_dane.example.net."]),
        ("_dane.example.net.", secure, "CNAME", [target]),
        (target, secure, "TLSA", tlsa),
    ])
    message("cname-follow", q, "TLSA", dns.rcode.NOERROR, [
        (q, insecure, "CNAME", [target]),
    ])
    message("cname-nxdomain", q, "TLSA", dns.rcode.NXDOMAIN, [
        (q, secure, "CNAME", [target]),
    ], [("example.org.", secure, "SOA", [soa])], ident=15)
    message("mx", "example.net.", "MX", dns.rcode.NOERROR, [
        ("example.net.", secure, "MX", ["10 mx.example.net.", "20 mx2.example.net."]),
    ])
    message("a", "mx.example.net.", "A", dns.rcode.NOERROR, [
        ("mx.example.net.", insecure, "A", ["192.0.2.1"]),
        ("mx.example.net.", insecure, "AAAA", ["2001:db8::1"]),
    ])
    message("servfail", q, "TLSA", dns.rcode.SERVFAIL)


def main():
    cert_seeds(certificates())
    dns_seeds()
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files if f.startswith("seed-"))
    print(f"seeds written to {OUT}: {total} bytes")


if __name__ == "__main__":
    main()
