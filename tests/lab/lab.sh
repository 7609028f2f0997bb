#!/usr/bin/env bash
# tests/lab/lab.sh: the dane crate's real-DNS interop lab (see README.md next to it).
#
# NSD is the authoritative server for dane.test. and its child zones. The zones
# are written and signed with ldns-signzone every time the lab comes up. Unbound
# is a validating resolver with a single trust anchor (the DS of dane.test.) and
# stub-zones that point at NSD. Both listen only on 127.0.0.1, on high ports.
# The TLSA records are computed from certificates that this script makes with
# openssl, so a test can check what it fetched against the PEM files.
#
#   lab.sh install   apt-get the Debian packages (idempotent; root or sudo)
#   lab.sh up        keys, certificates, zones, signing, start NSD + Unbound, write $LAB_DIR/env
#   lab.sh check     query every scenario (dig via Unbound, delv/drill/dig at NSD); exit 1 on a mismatch
#   lab.sh status    recorded daemons and one query to each; exit 1 if one is down
#   lab.sh env       print $LAB_DIR/env
#   lab.sh down      stop the daemons recorded in $LAB_DIR/run (and nothing else)
#   lab.sh clean     down, then delete $LAB_DIR
#
# Settings (environment): LAB_DIR (default ${TMPDIR:-/tmp}/dane-lab), LAB_AUTH_PORT
# (default 53530), LAB_RES_PORT (default 53531), LAB_REGEN=1 (new keys and certificates).
set -euo pipefail

CMD=${1:-}
LAB_DIR=${LAB_DIR:-${TMPDIR:-/tmp}/dane-lab}
LAB_DIR=${LAB_DIR%/}
case $LAB_DIR in /*) ;; *) LAB_DIR=$PWD/$LAB_DIR ;; esac   # the daemons' configs need absolute paths

# Commands other than `up` talk to the lab that `up` described in $LAB_DIR/env,
# unless the caller set the ports explicitly.
if [ "$CMD" != up ] && [ -f "$LAB_DIR/env" ]; then
  while IFS='=' read -r key val; do
    case $key in
      LAB_AUTH_PORT|LAB_RES_PORT) [ -n "${!key:-}" ] || printf -v "$key" '%s' "$val" ;;
    esac
  done < "$LAB_DIR/env"
fi

ADDR=127.0.0.1
AUTH_PORT=${LAB_AUTH_PORT:-53530}
RES_PORT=${LAB_RES_PORT:-53531}
APEX=dane.test
PACKAGES="nsd unbound ldnsutils openssl bind9-dnsutils"

# Child zones of $APEX: label, how it is signed, DNSSEC algorithm number.
#   nsec      signed, NSEC                        nsec3   signed, NSEC3 (RFC 9276: 0 iterations, no salt)
#   unsigned  not signed, delegated without DS    badsig  signed, then the RRSIG over one TLSA RRset is corrupted
#   badds     signed, parent publishes a wrong DS expired signatures valid 2020-01-01 .. 2020-02-01
#   future    signatures valid from now+10 days
CHILDREN="
secure    nsec      13
nsec3     nsec3     13
insecure  unsigned  -
bogus     badsig    13
badds     badds     13
expired   expired   13
future    future    13
rsa       nsec      8
ed        nsec      15
"
# Load zones for the resolver load test (examples/resolver_load.rs): load0 .. load19, each
# signed (NSEC, ECDSA P-256) with 50 TLSA names _25._tcp.h0 .. h49.
LOAD_ZONES=20
LOAD_NAMES=50
for ((i = 0; i < LOAD_ZONES; i++)); do CHILDREN+="load$i    nsec      13"$'\n'; done

KEYS=$LAB_DIR/keys
ZONES=$LAB_DIR/zones
CERTS=$LAB_DIR/certs
ANCHORS=$LAB_DIR/anchors
RUN=$LAB_DIR/run
LOGS=$LAB_DIR/logs

indent() { sed 's/^/        /'; }
say()  { printf '[lab] %s\n' "$*" >&2; }
die()  { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }
need() { local t; for t in "$@"; do command -v "$t" >/dev/null 2>&1 || die "'$t' not found; run: bash $0 install"; done; }
now_ms() { date +%s%3N; }
elapsed() { local ms=$(( $(now_ms) - $1 )); printf '%d.%03ds' $((ms / 1000)) $((ms % 1000)); }
children() { printf '%s\n' "$CHILDREN" | awk 'NF==3 && $1 !~ /^#/'; }

# ============================================================== install
missing_packages() {
  local p
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s ' "$p"
  done
}

cmd_install() {
  command -v dpkg-query >/dev/null 2>&1 || die "install supports Debian/Ubuntu (apt-get) only"
  local missing; missing=$(missing_packages)
  if [ -n "$missing" ]; then
    SUDO=()   # global: the EXIT trap below uses it after this function returned
    if [ "$(id -u)" != 0 ]; then
      command -v sudo >/dev/null 2>&1 || die "install needs root (missing: $missing)"
      SUDO=(sudo)
    fi
    # policy-rc.d answering 101 keeps the packages' init scripts from starting
    # system-wide nsd/unbound (which would want port 53). Only a guard we create is removed.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\n# temporary, from the dane crate tests/lab/lab.sh install\nexit 101\n' \
        | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
      "${SUDO[@]}" chmod 0755 /usr/sbin/policy-rc.d
      trap '"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    say "installing:$missing"
    local apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
    "${apt[@]}" update
    # shellcheck disable=SC2086
    "${apt[@]}" install -y --no-install-recommends $missing
    missing=$(missing_packages)
    [ -z "$missing" ] || die "still missing after apt-get: $missing"
  fi
  # shellcheck disable=SC2086
  dpkg-query -W -f='[lab] ${Package} ${Version}\n' $PACKAGES >&2
  ldns-keygen -a list 2>&1 | grep -qw ED25519 || die "this ldns-keygen cannot make ED25519 keys"
  ldns-keygen -a list 2>&1 | grep -qw RSASHA256 || die "this ldns-keygen cannot make RSASHA256 keys"
}

# ============================================================== certificates
# One small PKI: ca (self-signed root) -> intermediate (pathlen 0) -> leaves.
# Each leaf directory: key.pem, cert.pem, chain.pem (leaf + intermediate, what a
# server sends), fullchain.pem (leaf + intermediate + root).
new_key() {  # new_key FILE ec|rsa|ed25519
  case $2 in
    ec)      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
    rsa)     openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$1" 2>/dev/null ;;
  esac
}

serial() { printf '0x%s' "$(openssl rand -hex 12)"; }

make_ca() {
  local ca=$CERTS/ca im=$CERTS/intermediate
  if [ ! -s "$ca/cert.pem" ]; then
    mkdir -p "$ca"
    new_key "$ca/key.pem" ec
    openssl req -new -x509 -key "$ca/key.pem" -subj "/CN=dane crate test lab root" -days 7300 -sha256 \
      -set_serial "$(serial)" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$ca/cert.pem"
    rm -rf "$im"
  fi
  if [ ! -s "$im/cert.pem" ]; then
    mkdir -p "$im"
    new_key "$im/key.pem" ec
    openssl req -new -key "$im/key.pem" -subj "/CN=dane crate test lab intermediate" -out "$im/csr.pem"
    printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > "$im/ext.cnf"
    openssl x509 -req -in "$im/csr.pem" -CA "$ca/cert.pem" -CAkey "$ca/key.pem" -set_serial "$(serial)" \
      -days 7300 -sha256 -extfile "$im/ext.cnf" -out "$im/cert.pem" 2>/dev/null
    rm -f "$im/csr.pem" "$im/ext.cnf"
    cat "$im/cert.pem" > "$im/chain.pem"
    cat "$im/cert.pem" "$ca/cert.pem" > "$im/fullchain.pem"
  fi
}

leaf() {  # leaf NAME KEYTYPE DNS-NAME...   (names relative to $APEX; CN = first name)
  local kt=$2 d=$CERTS/$1 san="" n; shift 2
  [ -s "$d/cert.pem" ] && return 0
  mkdir -p "$d"
  for n in "$@"; do san="${san:+$san,}DNS:$n.$APEX"; done
  new_key "$d/key.pem" "$kt"
  openssl req -new -key "$d/key.pem" -subj "/CN=$1.$APEX" -out "$d/csr.pem"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature%s\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' \
    "$([ "$kt" = rsa ] && echo ,keyEncipherment)" "$san" > "$d/ext.cnf"
  openssl x509 -req -in "$d/csr.pem" -CA "$CERTS/intermediate/cert.pem" -CAkey "$CERTS/intermediate/key.pem" \
    -set_serial "$(serial)" -days 3650 -sha256 -extfile "$d/ext.cnf" -out "$d/cert.pem" 2>/dev/null
  rm -f "$d/csr.pem" "$d/ext.cnf"
  cat "$d/cert.pem" "$CERTS/intermediate/cert.pem" > "$d/chain.pem"
  cat "$d/cert.pem" "$CERTS/intermediate/cert.pem" "$CERTS/ca/cert.pem" > "$d/fullchain.pem"
}

make_certs() {
  make_ca
  leaf mx.secure        ec  mx.secure mx-cname.secure mx-cname-fallback.secure notlsa.secure \
                            mx-tlsacname.secure mx-tlsacname-ins.secure
  leaf www.secure       ec  www.secure
  leaf implicit.secure  ec  implicit.secure
  leaf mx-multi.old     ec  mx-multi.secure
  leaf mx-multi.new     ec  mx-multi.secure
  leaf mx-unusable      ec  mx-unusable.secure mx-mixed.secure
  leaf mx.nsec3         ec  mx.nsec3
  leaf wild             ec  '*.wild' '*.wild.nsec3'
  leaf mx.insecure      ec  mx.insecure mx-cname-ins.secure
  leaf mx.bogus         ec  mx.bogus
  leaf mx.badds         ec  mx.badds
  leaf mx.expired       ec  mx.expired
  leaf mx.future        ec  mx.future
  leaf mx.rsa           rsa mx.rsa
  leaf mx.ed            ed25519 mx.ed
}

# ============================================================== TLSA data from certificates
# tlsa_data CERTNAME SELECTOR MTYPE -> hex association data (lower case).
# Selector/matching type 255 (unusable, for the "unusable" scenarios) hash like 1/1.
tlsa_data() {
  local pem=$CERTS/$1/cert.pem sel=$2 mt=$3
  [ -s "$pem" ] || die "no certificate $pem"
  {
    if [ "$sel" = 0 ]; then openssl x509 -in "$pem" -outform DER
    else openssl x509 -in "$pem" -noout -pubkey | openssl pkey -pubin -outform DER; fi
  } | case $mt in
        0) od -An -v -tx1 | tr -d ' \n' ;;
        2) openssl dgst -sha512 -r | cut -d' ' -f1 ;;
        *) openssl dgst -sha256 -r | cut -d' ' -f1 ;;
      esac
}

# tlsa_spec "CERT:U.S.M,CERT:U.S.M..." -> one "U S M hex" line per item
tlsa_spec() {
  local item cert usm u s m
  for item in ${1//,/ }; do
    cert=${item%%:*}; usm=${item#*:}
    IFS=. read -r u s m <<< "$usm"
    printf '%s %s %s %s\n' "$u" "$s" "$m" "$(tlsa_data "$cert" "$s" "$m")"
  done
}

# ============================================================== zones
soa() { printf '@ SOA ns.%s. hostmaster.%s. %s 3600 600 86400 60\n' "$APEX" "$APEX" "$(date +%s)"; }

# zone_body LABEL: the records of one child zone. "T CERT:U.S.M" placeholders are
# replaced with TLSA records computed from the certificates (expand_tlsa).
zone_body() {
  case $1 in
    secure) cat <<'EOF'
@                          MX     10 mx.secure.dane.test.
mx                         A      127.0.0.1
_25._tcp.mx                T      mx.secure:3.1.1
_25._tcp.mx                T      mx.secure:3.1.2
www                        A      127.0.0.1
_443._tcp.www              T      intermediate:2.1.1
; authenticated denial (NSEC): the host exists, its TLSA name does not / has no TLSA
notlsa                     A      127.0.0.1
nodata                     A      127.0.0.1
_25._tcp.nodata            TXT    "this name exists but has no TLSA RRset"
; implicit MX (RFC 5321 5.1): a domain with an address and no MX
implicit                   A      127.0.0.1
_25._tcp.implicit          T      implicit.secure:3.1.1
; MX host is a CNAME (RFC 7672)
cname                      MX     10 mx-cname.secure.dane.test.
mx-cname                   CNAME  mx.secure.dane.test.
cname-ins                  MX     10 mx-cname-ins.secure.dane.test.
mx-cname-ins               CNAME  mx.insecure.dane.test.
cname-fallback             MX     10 mx-cname-fallback.secure.dane.test.
mx-cname-fallback          CNAME  notlsa.secure.dane.test.
_25._tcp.mx-cname-fallback T      mx.secure:3.1.1
; the TLSA owner itself is a CNAME
tlsacname                  MX     10 mx-tlsacname.secure.dane.test.
mx-tlsacname               A      127.0.0.1
_25._tcp.mx-tlsacname      CNAME  _25._tcp.mx.secure.dane.test.
tlsacname-ins              MX     10 mx-tlsacname-ins.secure.dane.test.
mx-tlsacname-ins           A      127.0.0.1
_25._tcp.mx-tlsacname-ins  CNAME  _25._tcp.mx.insecure.dane.test.
; a secure CNAME into the unsigned zone with TLSA at the alias (RFC 7672 2.2.2 as Postfix
; applies it: DANE at the original name), matching and not matching the server there
cname-ins-dane             MX     10 mx-cid.secure.dane.test.
mx-cid                     CNAME  mx.insecure.dane.test.
_25._tcp.mx-cid            T      mx.insecure:3.1.1
cname-ins-bad              MX     10 mx-cib.secure.dane.test.
mx-cib                     CNAME  mx.insecure.dane.test.
_25._tcp.mx-cib            T      mx.secure:3.1.1
; a next-hop domain that is a secure CNAME to the name holding the MX RRset
nh                         CNAME  cname.secure.dane.test.
; DNAME (RFC 6672): names below dn.secure are synthesised CNAMEs into rsa.dane.test
dn                         DNAME  rsa.dane.test.
; two customers whose MX hosts are CNAMEs to one provider host (signed provider), and two
; to an unsigned provider host
cust1                      MX     10 mx-cust1.secure.dane.test.
mx-cust1                   CNAME  mx.secure.dane.test.
cust3                      MX     10 mx-cust3.secure.dane.test.
mx-cust3                   CNAME  mx.insecure.dane.test.
; key rollover: two 3 1 1 (old and new key) plus 2 1 1 (intermediate) and 2 0 1 (root)
multi                      MX     10 mx-multi.secure.dane.test.
mx-multi                   A      127.0.0.1
_25._tcp.mx-multi          T      mx-multi.old:3.1.1
_25._tcp.mx-multi          T      mx-multi.new:3.1.1
_25._tcp.mx-multi          T      intermediate:2.1.1
_25._tcp.mx-multi          T      ca:2.0.1
; only unusable records / unusable records next to one usable record
unusable                   MX     10 mx-unusable.secure.dane.test.
mx-unusable                A      127.0.0.1
_25._tcp.mx-unusable       T      mx-unusable:255.1.1
mixed                      MX     10 mx-mixed.secure.dane.test.
mx-mixed                   A      127.0.0.1
_25._tcp.mx-mixed          T      mx-unusable:255.1.1
_25._tcp.mx-mixed          T      mx-unusable:3.255.1
_25._tcp.mx-mixed          T      mx-unusable:3.1.255
_25._tcp.mx-mixed          T      mx-unusable:3.1.1
; danecheck audit: DANE-EE of the full certificate (breaks on renewal), and only SHA2-512
full                       MX     10 mx-full.secure.dane.test.
mx-full                    A      127.0.0.1
_25._tcp.mx-full           T      mx.secure:3.0.1
sha512                     MX     10 mx-sha512.secure.dane.test.
mx-sha512                  A      127.0.0.1
_25._tcp.mx-sha512         T      mx.secure:3.1.2
EOF
    ;;
    nsec3) cat <<'EOF'
@                          MX     10 mx.nsec3.dane.test.
mx                         A      127.0.0.1
_25._tcp.mx                T      mx.nsec3:3.1.1
notlsa                     A      127.0.0.1
nodata                     A      127.0.0.1
_25._tcp.nodata            TXT    "this name exists but has no TLSA RRset"
wild                       MX     10 mx.wild.nsec3.dane.test.
*.wild                     A      127.0.0.1
*.wild                     T      wild:3.1.1
EOF
    ;;
    insecure) cat <<'EOF'
@                          MX     10 mx.insecure.dane.test.
mx                         A      127.0.0.1
_25._tcp.mx                T      mx.insecure:3.1.1
notlsa                     A      127.0.0.1
EOF
    ;;
    rsa) cat <<'EOF'
@                          MX     10 mx.rsa.dane.test.
mx                         A      127.0.0.1
_25._tcp.mx                T      mx.rsa:3.1.1
_25._tcp.mx                T      mx.rsa:3.0.1
cust2                      MX     10 mx-cust2.rsa.dane.test.
mx-cust2                   CNAME  mx.secure.dane.test.
cust4                      MX     10 mx-cust4.rsa.dane.test.
mx-cust4                   CNAME  mx.insecure.dane.test.
EOF
    ;;
    load*) local n; for ((n = 0; n < LOAD_NAMES; n++)); do printf '_25._tcp.h%d TLSA 3 1 1 %064x\n' "$n" "$n"; done ;;
    *) printf '@ MX 10 mx.%s.%s.\nmx A 127.0.0.1\n_25._tcp.mx T mx.%s:3.1.1\n' "$1" "$APEX" "$1" ;;
  esac
}

apex_body() {
  cat <<'EOF'
@                          MX     10 mx.secure.dane.test.
; wildcards (NSEC): every host under wild.dane.test, and any name under _25._tcp.wild.dane.test
wild                       MX     10 mx.wild.dane.test.
*.wild                     A      127.0.0.1
*.wild                     T      wild:3.1.1
*._25._tcp.wild            T      wild:3.1.1
; delegations (DS records are appended when the children are signed)
EOF
  local label
  while read -r label _ _; do printf '%-26s NS     ns.%s.\n' "$label" "$APEX"; done < <(children)
}

# expand_tlsa: turn "owner T CERT:U.S.M" lines into real TLSA records (fails loudly)
expand_tlsa() {
  local line owner rr spec data
  while IFS= read -r line; do
    read -r owner rr spec _ <<< "$line" || true
    if [ "${rr:-}" = T ]; then
      data=$(tlsa_spec "$spec") || die "could not compute TLSA for $spec"
      [ -n "$data" ] || die "empty TLSA for $spec"
      printf '%-26s TLSA   %s\n' "$owner" "$data"
    else
      printf '%s\n' "$line"
    fi
  done
}

write_zone() {  # write_zone ORIGIN BODY-COMMAND...
  local origin=$1 out=$ZONES/$1.zone; shift
  {
    # shellcheck disable=SC2016
    printf '$ORIGIN %s.\n$TTL 300\n' "$origin"
    soa
    printf '@ NS ns.%s.\n' "$APEX"
    [ "$origin" = "$APEX" ] && printf 'ns A %s\n' "$ADDR"
    "$@" | expand_tlsa
  } > "$out.tmp"
  mv "$out.tmp" "$out"
}

# ============================================================== keys and signing
alg_name() { case $1 in 8) echo RSASHA256 ;; 13) echo ECDSAP256SHA256 ;; 15) echo ED25519 ;; *) die "algorithm $1?" ;; esac; }

zone_key() {  # zone_key ZONE ALG -> key base path (one key per zone, flags 257, used as a CSK)
  local zone=$1 alg=$2 d=$KEYS/$1 f
  mkdir -p "$d"
  f=$(find "$d" -name "K$zone.+$(printf '%03d' "$alg")+*.private" | head -n 1)
  if [ -z "$f" ]; then
    local bits=(); [ "$alg" = 8 ] && bits=(-b 2048)
    ( cd "$d" && ldns-keygen -a "$(alg_name "$alg")" "${bits[@]}" -k "$zone" >/dev/null )
    f=$(find "$d" -name "K$zone.+$(printf '%03d' "$alg")+*.private" | head -n 1)
    [ -n "$f" ] || die "ldns-keygen made no key for $zone (algorithm $alg)"
  fi
  printf '%s\n' "${f%.private}"
}

# print "owner IN TYPE rdata" (no TTL, no comment) for the first record of TYPE
one_rr() { sed 's/;.*//' | awk -v t="$1" '{for (i = 2; i <= NF; i++) if ($i == t) { o = $1 " IN " t; for (j = i + 1; j <= NF; j++) o = o " " $j; print o; exit }}'; }

sign() {  # sign ZONE KEYBASE MODE
  local zone=$1 key=$2 mode=$3 now from until extra=()
  now=$(date -u +%s)
  from=$((now - 86400)); until=$((now + 30 * 86400))
  case $mode in
    nsec3)   extra=(-n -a 1 -t 0 -s '') ;;
    expired) from=20200101000000; until=20200201000000 ;;
    future)  from=$((now + 10 * 86400)); until=$((now + 40 * 86400)) ;;
  esac
  ldns-signzone "${extra[@]}" -i "$from" -e "$until" -f "$ZONES/$zone.signed" "$ZONES/$zone.zone" "$key" \
    || die "ldns-signzone failed for $zone"
}

corrupt_tlsa_rrsig() {  # corrupt_tlsa_rrsig ZONE OWNER: change one base64 character of the signature
  local f=$ZONES/$1.signed
  awk -v owner="$2." 'BEGIN { OFS = "\t" }
    $1 == owner && $4 == "RRSIG" && $5 == "TLSA" {
      s = $NF; c = substr(s, 20, 1); $NF = substr(s, 1, 19) (c == "Q" ? "R" : "Q") substr(s, 21); n++ }
    { print }
    END { if (n != 1) exit 3 }' "$f" > "$f.tmp" || die "no RRSIG TLSA at $2 to corrupt"
  mv "$f.tmp" "$f"
}

build_zones() {
  local label mode alg zone key ds dsfile=$ZONES/apex-ds.txt
  rm -f "$ZONES"/*.zone "$ZONES"/*.signed "$dsfile"
  : > "$dsfile"
  while read -r label mode alg; do
    zone=$label.$APEX
    write_zone "$zone" zone_body "$label"
    if [ "$mode" = unsigned ]; then
      cp "$ZONES/$zone.zone" "$ZONES/$zone.signed"
      continue                                   # and no DS in the parent: insecure delegation
    fi
    key=$(zone_key "$zone" "$alg")
    sign "$zone" "$key" "$mode"
    ds=$(ldns-key2ds -n -2 "$key.key" | one_rr DS)
    [ -n "$ds" ] || die "no DS for $zone"
    case $mode in
      badsig) corrupt_tlsa_rrsig "$zone" "_25._tcp.mx.$zone" ;;
      badds)  # the parent publishes a DS whose digest is off by one hex digit
              ds=$(awk '{ d = $NF; c = substr(d, length(d)); $NF = substr(d, 1, length(d) - 1) (c == "0" ? "1" : "0"); print }' <<< "$ds") ;;
    esac
    printf '%s\n' "$ds" >> "$dsfile"
  done < <(children)

  write_zone "$APEX" apex_body
  cat "$dsfile" >> "$ZONES/$APEX.zone"
  key=$(zone_key "$APEX" 13)
  sign "$APEX" "$key" nsec

  # The trust anchor, in the formats the tests and tools want.
  ldns-key2ds -n -2 "$key.key" | one_rr DS > "$ANCHORS/$APEX.ds"
  one_rr DNSKEY < "$key.key" > "$ANCHORS/$APEX.dnskey"
  if [ ! -s "$ANCHORS/$APEX.ds" ] || [ ! -s "$ANCHORS/$APEX.dnskey" ]; then die "could not write the trust anchor"; fi
  awk '{ printf "trust-anchors {\n    %s static-ds %s %s %s \"%s\";\n};\n", $1, $4, $5, $6, $7 }' \
    "$ANCHORS/$APEX.ds" > "$ANCHORS/delv-anchors.conf"
}

# ============================================================== daemon configuration
write_nsd_conf() {
  local label
  mkdir -p "$LAB_DIR/nsd"
  {
    cat <<EOF
# generated by tests/lab/lab.sh
server:
    ip-address: $ADDR@$AUTH_PORT
    port: $AUTH_PORT
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "$ZONES"
    database: ""
    zonelistfile: "$LAB_DIR/nsd/zone.list"
    xfrdfile: "$LAB_DIR/nsd/xfrd.state"
    xfrdir: "$LAB_DIR/nsd"
    pidfile: "$LAB_DIR/nsd/nsd.pid"
    logfile: "$LOGS/nsd.log"
    server-count: 1
    verbosity: 1
    hide-version: yes
    refuse-any: yes
    # response rate limiting off: a validator's burst of DNSKEY/DS queries from
    # 127.0.0.1 must never be answered with truncated (TC) or dropped replies
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "$APEX."
    zonefile: "$APEX.signed"
EOF
    while read -r label _ _; do
      printf 'zone:\n    name: "%s.%s."\n    zonefile: "%s.%s.signed"\n' "$label" "$APEX" "$label" "$APEX"
    done < <(children)
  } > "$LAB_DIR/nsd/nsd.conf"
}

write_unbound_conf() {
  local label
  mkdir -p "$LAB_DIR/unbound"
  {
    cat <<EOF
# generated by tests/lab/lab.sh
server:
    interface: $ADDR@$RES_PORT
    port: $RES_PORT
    do-ip6: no
    username: ""
    chroot: ""
    directory: "$LAB_DIR/unbound"
    pidfile: "$LAB_DIR/unbound/unbound.pid"
    logfile: "$LOGS/unbound.log"
    use-syslog: no
    log-time-ascii: yes
    verbosity: 1
    # the reason for every bogus answer goes to the log
    val-log-level: 2
    log-servfail: yes
    num-threads: 1
    so-reuseport: no
    access-control: 127.0.0.0/8 allow
    # NSD is on 127.0.0.1: without this Unbound never sends it a query
    do-not-query-localhost: no
    # test. is one of Unbound's built-in RFC 6761 local zones; switch that off
    local-zone: "test." nodefault
    # nothing outside the lab: answer REFUSED at once instead of asking the real root
    local-zone: "." refuse
    local-zone: "$APEX." transparent
    # the only trust anchor is the DS of $APEX. (no root key, no RFC 5011)
    trust-anchor-file: "$ANCHORS/$APEX.ds"
    trust-anchor-signaling: no
    root-key-sentinel: no
    module-config: "validator iterator"
    harden-dnssec-stripped: yes
    val-permissive-mode: no
    qname-minimisation: no
    prefetch: no
    serve-expired: no
    # short caches: a re-signed lab is seen within a minute, bogus results after 5 s
    cache-max-ttl: 60
    cache-max-negative-ttl: 10
    val-bogus-ttl: 5
    infra-host-ttl: 30
    msg-cache-size: 4m
    rrset-cache-size: 8m
    key-cache-size: 2m
    neg-cache-size: 1m
    outgoing-range: 64
remote-control:
    control-enable: no
EOF
    # A referral cannot carry a port, so every zone (apex and children) gets a
    # stub-zone pointing at NSD: Unbound never follows NS records to port 53.
    for label in "" $(children | awk '{ print $1 }'); do
      printf 'stub-zone:\n    name: "%s%s."\n    stub-addr: %s@%s\n    stub-prime: no\n' \
        "${label:+$label.}" "$APEX" "$ADDR" "$AUTH_PORT"
    done
  } > "$LAB_DIR/unbound/unbound.conf"
}

# ============================================================== processes
port_in_use() {  # UDP socket or TCP listener on the port (any address)
  local hex; hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'FNR > 1 && substr($2, length($2) - 4) == p && (FILENAME ~ /udp/ || $4 == "0A") { f = 1 }
                   END { exit !f }' /proc/net/udp /proc/net/tcp /proc/net/udp6 /proc/net/tcp6 2>/dev/null
}

ours() {  # ours NAME: the recorded PID is alive and runs our config file
  local f=$RUN/$1.pid pid state
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$LAB_DIR/$1/$1.conf"
}

start() {  # start NAME COMMAND...: foreground daemon in its own session, output to the log dir
  local name=$1; shift
  setsid "$@" < /dev/null > "$LOGS/$name.out" 2>&1 &
  printf '%s\n' "$!" > "$RUN/$name.pid"
}

stop() {
  local name=$1 pid _
  [ -f "$RUN/$name.pid" ] || return 0
  pid=$(cat "$RUN/$name.pid")
  if ours "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do ours "$name" || break; sleep 0.1; done
    if ours "$name"; then say "$name (pid $pid) ignored SIGTERM; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    say "stopped $name (pid $pid)"
  fi
  rm -f "$RUN/$name.pid"
}

answers() {  # answers PORT RD-FLAG: a NOERROR answer for the apex SOA
  dig +time=1 +tries=1 "$2" @"$ADDR" -p "$1" "$APEX" SOA 2>/dev/null | grep -q 'status: NOERROR'
}

wait_for() {  # wait_for NAME PORT RD-FLAG
  local _
  for _ in $(seq 1 100); do
    answers "$2" "$3" && return 0
    ours "$1" || break
    sleep 0.1
  done
  tail -n 20 "$LOGS/$1.log" "$LOGS/$1.out" >&2 2>/dev/null || true
  die "$1 did not answer on $ADDR port $2"
}

write_env() {
  cat > "$LAB_DIR/env.tmp" <<EOF
LAB_DIR=$LAB_DIR
LAB_AUTH=$ADDR:$AUTH_PORT
LAB_RESOLVER=$ADDR:$RES_PORT
LAB_ANCHOR_DS=$ANCHORS/$APEX.ds
LAB_ANCHOR_DNSKEY=$ANCHORS/$APEX.dnskey
LAB_CERTS=$CERTS
LAB_APEX=$APEX
LAB_AUTH_PORT=$AUTH_PORT
LAB_RES_PORT=$RES_PORT
EOF
  mv "$LAB_DIR/env.tmp" "$LAB_DIR/env"
}

# ============================================================== commands
cmd_up() {
  local t0; t0=$(now_ms)
  need nsd nsd-checkconf unbound unbound-checkconf ldns-keygen ldns-signzone ldns-key2ds dig openssl setsid
  case $AUTH_PORT$RES_PORT in *[!0-9]*) die "ports must be numbers" ;; esac
  [ "$AUTH_PORT" != "$RES_PORT" ] || die "LAB_AUTH_PORT and LAB_RES_PORT must differ"
  if ours nsd || ours unbound; then say "already running in $LAB_DIR: restarting"; stop unbound; stop nsd; fi
  local p
  for p in "$AUTH_PORT" "$RES_PORT"; do
    port_in_use "$p" && die "port $p is already in use (another lab with another LAB_DIR?); set LAB_AUTH_PORT/LAB_RES_PORT"
  done
  [ "${LAB_REGEN:-0}" = 1 ] && rm -rf "$KEYS" "$CERTS"
  mkdir -p "$KEYS" "$ZONES" "$CERTS" "$ANCHORS" "$RUN" "$LOGS"
  rm -f "$LAB_DIR/env"
  make_certs
  build_zones
  write_nsd_conf
  write_unbound_conf
  nsd-checkconf "$LAB_DIR/nsd/nsd.conf" || die "nsd.conf rejected"
  unbound-checkconf "$LAB_DIR/unbound/unbound.conf" >/dev/null || die "unbound.conf rejected"
  : > "$LOGS/nsd.log"; : > "$LOGS/unbound.log"
  start nsd nsd -d -c "$LAB_DIR/nsd/nsd.conf"
  wait_for nsd "$AUTH_PORT" +norec
  start unbound unbound -d -c "$LAB_DIR/unbound/unbound.conf"
  wait_for unbound "$RES_PORT" +rec
  write_env
  say "up in $(elapsed "$t0"): NSD $ADDR:$AUTH_PORT (pid $(cat "$RUN/nsd.pid")), Unbound $ADDR:$RES_PORT (pid $(cat "$RUN/unbound.pid"))"
  say "trust anchor: $(cat "$ANCHORS/$APEX.ds")"
  say "environment:  $LAB_DIR/env"
}

cmd_down() { stop unbound; stop nsd; }

cmd_status() {
  local rc=0 n
  for n in nsd unbound; do
    if ours $n; then echo "$n: running, pid $(cat "$RUN/$n.pid")"; else echo "$n: not running"; rc=1; fi
  done
  echo "NSD     $ADDR:$AUTH_PORT  $(dig +time=1 +tries=1 +norec @"$ADDR" -p "$AUTH_PORT" "$APEX" SOA 2>&1 | grep -o 'status: [A-Z]*' || echo 'no answer')"
  echo "Unbound $ADDR:$RES_PORT  $(dig +time=1 +tries=1 +dnssec @"$ADDR" -p "$RES_PORT" "$APEX" SOA 2>&1 | grep -oE 'status: [A-Z]*|flags:[a-z ]*' | tr '\n' ' ' || echo 'no answer')"
  [ -f "$LAB_DIR/env" ] || { echo "no $LAB_DIR/env"; rc=1; }
  return $rc
}

cmd_clean() {
  cmd_down
  if [ -d "$LAB_DIR/run" ] || [ -f "$LAB_DIR/env" ]; then rm -rf "$LAB_DIR"; say "removed $LAB_DIR"; fi
}

# ============================================================== check
# The scenario table. Columns: expectation, name, type, then options.
#   secure    NOERROR, AD, the answer holds a record of the type (through a CNAME is fine)
#   nxdomain  NXDOMAIN, AD (authenticated denial)       nodata   NOERROR, AD, no record of the type
#   insecure  NOERROR, no AD, a record of the type       bogus    SERVFAIL
#   refused   REFUSED (outside the lab)
#   auth      ask NSD directly (+dnssec +norec); only `has=` is checked
# Options:
#   tlsa=CERT:U.S.M,...  the TLSA records in the answer are exactly these (computed from $LAB_CERTS now)
#   has=REGEX            the answer section (auth: the whole reply) matches; '~' stands for one space
#   drill                also chase with `drill -S` at NSD from the DNSKEY anchor
# Every entry except refused/auth is also validated by delv at NSD from the DS anchor.
scenarios() {
  cat <<'EOF'
secure   dane.test                                 SOA
secure   dane.test                                 DNSKEY
secure   dane.test                                 MX    has=MX~10~mx\.secure\.dane\.test\.
refused  example.com                               A
refused  foo.test                                  A
# secure, NSEC (secure.dane.test)
secure   secure.dane.test                          MX    has=MX~10~mx\.secure\.dane\.test\.
secure   mx.secure.dane.test                       A     has=A~127\.0\.0\.1
secure   _25._tcp.mx.secure.dane.test              TLSA  tlsa=mx.secure:3.1.1,mx.secure:3.1.2 drill
secure   www.secure.dane.test                      A     has=A~127\.0\.0\.1
secure   _443._tcp.www.secure.dane.test            TLSA  tlsa=intermediate:2.1.1
nxdomain _25._tcp.notlsa.secure.dane.test          TLSA
nodata   _25._tcp.nodata.secure.dane.test          TLSA
nodata   implicit.secure.dane.test                 MX
secure   implicit.secure.dane.test                 A     has=A~127\.0\.0\.1
secure   _25._tcp.implicit.secure.dane.test        TLSA  tlsa=implicit.secure:3.1.1
# MX host is a CNAME
secure   cname.secure.dane.test                    MX    has=MX~10~mx-cname\.secure\.dane\.test\.
secure   mx-cname.secure.dane.test                 A     has=CNAME~mx\.secure\.dane\.test\.
nxdomain _25._tcp.mx-cname.secure.dane.test        TLSA
secure   cname-ins.secure.dane.test                MX    has=MX~10~mx-cname-ins\.secure\.dane\.test\.
insecure mx-cname-ins.secure.dane.test             A     has=CNAME~mx\.insecure\.dane\.test\.
secure   cname-fallback.secure.dane.test           MX    has=MX~10~mx-cname-fallback\.secure\.dane\.test\.
secure   mx-cname-fallback.secure.dane.test        A     has=CNAME~notlsa\.secure\.dane\.test\.
secure   _25._tcp.mx-cname-fallback.secure.dane.test TLSA tlsa=mx.secure:3.1.1
# TLSA owner is a CNAME
secure   tlsacname.secure.dane.test                MX    has=MX~10~mx-tlsacname\.secure\.dane\.test\.
secure   _25._tcp.mx-tlsacname.secure.dane.test    TLSA  tlsa=mx.secure:3.1.1,mx.secure:3.1.2 has=CNAME~_25\._tcp\.mx\.secure\.dane\.test\.
secure   tlsacname-ins.secure.dane.test            MX    has=MX~10~mx-tlsacname-ins\.secure\.dane\.test\.
insecure _25._tcp.mx-tlsacname-ins.secure.dane.test TLSA tlsa=mx.insecure:3.1.1 has=CNAME~_25\._tcp\.mx\.insecure\.dane\.test\.
# secure CNAME into the unsigned zone, TLSA at the alias
insecure mx-cid.secure.dane.test                   A     has=CNAME~mx\.insecure\.dane\.test\.
secure   mx-cid.secure.dane.test                   CNAME has=CNAME~mx\.insecure\.dane\.test\.
secure   _25._tcp.mx-cid.secure.dane.test          TLSA  tlsa=mx.insecure:3.1.1
secure   _25._tcp.mx-cib.secure.dane.test          TLSA  tlsa=mx.secure:3.1.1
# DNAME-synthesised CNAMEs (RFC 6672)
secure   mx.dn.secure.dane.test                    A     has=A~127\.0\.0\.1
secure   _25._tcp.mx.dn.secure.dane.test           TLSA  tlsa=mx.rsa:3.1.1,mx.rsa:3.0.1
# customer MX hosts that are CNAMEs to one provider host
secure   mx-cust1.secure.dane.test                 A     has=CNAME~mx\.secure\.dane\.test\.
secure   mx-cust2.rsa.dane.test                    A     has=CNAME~mx\.secure\.dane\.test\.
insecure mx-cust3.secure.dane.test                 A     has=CNAME~mx\.insecure\.dane\.test\.
insecure mx-cust4.rsa.dane.test                    A     has=CNAME~mx\.insecure\.dane\.test\.
# several records in one RRset
secure   multi.secure.dane.test                    MX    has=MX~10~mx-multi\.secure\.dane\.test\.
secure   _25._tcp.mx-multi.secure.dane.test        TLSA  tlsa=mx-multi.old:3.1.1,mx-multi.new:3.1.1,intermediate:2.1.1,ca:2.0.1
secure   unusable.secure.dane.test                 MX    has=MX~10~mx-unusable\.secure\.dane\.test\.
secure   _25._tcp.mx-unusable.secure.dane.test     TLSA  tlsa=mx-unusable:255.1.1
secure   mixed.secure.dane.test                    MX    has=MX~10~mx-mixed\.secure\.dane\.test\.
secure   _25._tcp.mx-mixed.secure.dane.test        TLSA  tlsa=mx-unusable:255.1.1,mx-unusable:3.255.1,mx-unusable:3.1.255,mx-unusable:3.1.1
secure   full.secure.dane.test                     MX    has=MX~10~mx-full\.secure\.dane\.test\.
secure   _25._tcp.mx-full.secure.dane.test         TLSA  tlsa=mx.secure:3.0.1
secure   sha512.secure.dane.test                   MX    has=MX~10~mx-sha512\.secure\.dane\.test\.
secure   _25._tcp.mx-sha512.secure.dane.test       TLSA  tlsa=mx.secure:3.1.2
# wildcards, NSEC (in the apex zone)
secure   wild.dane.test                            MX    has=MX~10~mx\.wild\.dane\.test\.
secure   mx.wild.dane.test                         A     has=^mx\.wild\.dane\.test\.~.*A~127\.0\.0\.1
secure   _25._tcp.mx.wild.dane.test                TLSA  tlsa=wild:3.1.1 has=^_25\._tcp\.mx\.wild\.dane\.test\.~
secure   foo._25._tcp.wild.dane.test               TLSA  tlsa=wild:3.1.1 has=^foo\._25\._tcp\.wild\.dane\.test\.~
auth     _25._tcp.mx.wild.dane.test                TLSA  has=RRSIG~TLSA~13~3~
auth     _25._tcp.mx.wild.dane.test                TLSA  has=~NSEC~
# NSEC3 (nsec3.dane.test: RFC 9276 parameters)
auth     nsec3.dane.test                           NSEC3PARAM has=NSEC3PARAM~1~0~0~-
secure   nsec3.dane.test                           MX    has=MX~10~mx\.nsec3\.dane\.test\.
secure   mx.nsec3.dane.test                        A     has=A~127\.0\.0\.1
secure   _25._tcp.mx.nsec3.dane.test               TLSA  tlsa=mx.nsec3:3.1.1 drill
nxdomain _25._tcp.notlsa.nsec3.dane.test           TLSA
auth     _25._tcp.notlsa.nsec3.dane.test           TLSA  has=~NSEC3~1~0~0~-~
nodata   _25._tcp.nodata.nsec3.dane.test           TLSA
secure   wild.nsec3.dane.test                      MX    has=MX~10~mx\.wild\.nsec3\.dane\.test\.
secure   _25._tcp.mx.wild.nsec3.dane.test          TLSA  tlsa=wild:3.1.1
auth     _25._tcp.mx.wild.nsec3.dane.test          TLSA  has=RRSIG~TLSA~13~4~
# insecure delegation (no DS for insecure.dane.test)
nodata   insecure.dane.test                        DS
insecure insecure.dane.test                        MX    has=MX~10~mx\.insecure\.dane\.test\.
insecure mx.insecure.dane.test                     A     has=A~127\.0\.0\.1
insecure _25._tcp.mx.insecure.dane.test            TLSA  tlsa=mx.insecure:3.1.1
# bogus: bad RRSIG over the TLSA RRset (the rest of the zone is fine)
secure   bogus.dane.test                           MX    has=MX~10~mx\.bogus\.dane\.test\.
secure   mx.bogus.dane.test                        A     has=A~127\.0\.0\.1
bogus    _25._tcp.mx.bogus.dane.test               TLSA  drill
auth     _25._tcp.mx.bogus.dane.test               TLSA  has=RRSIG~TLSA~13~
# bogus: the parent's DS does not match the child's key
bogus    badds.dane.test                           MX
bogus    mx.badds.dane.test                        A
bogus    _25._tcp.mx.badds.dane.test               TLSA
# bogus: signatures expired 2020-02-01 / not valid until 10 days from now
bogus    expired.dane.test                         MX
bogus    mx.expired.dane.test                      A
bogus    _25._tcp.mx.expired.dane.test             TLSA  drill
auth     _25._tcp.mx.expired.dane.test             TLSA  has=RRSIG~TLSA~13~[0-9]+~[0-9]+~20200201000000~
bogus    mx.future.dane.test                       A
bogus    _25._tcp.mx.future.dane.test              TLSA
# other DNSSEC algorithms: RSASHA256 (8) and ED25519 (15)
auth     rsa.dane.test                             DNSKEY has=DNSKEY~257~3~8~
secure   rsa.dane.test                             MX    has=MX~10~mx\.rsa\.dane\.test\.
secure   mx.rsa.dane.test                          A     has=A~127\.0\.0\.1
secure   _25._tcp.mx.rsa.dane.test                 TLSA  tlsa=mx.rsa:3.1.1,mx.rsa:3.0.1 drill
auth     ed.dane.test                              DNSKEY has=DNSKEY~257~3~15~
secure   ed.dane.test                              MX    has=MX~10~mx\.ed\.dane\.test\.
secure   mx.ed.dane.test                           A     has=A~127\.0\.0\.1
secure   _25._tcp.mx.ed.dane.test                  TLSA  tlsa=mx.ed:3.1.1 drill
EOF
}

PASSED=0; FAILED=0
pass() { PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$*"; }

# answer_section DIG-OUTPUT -> the answer section, whitespace squeezed to single spaces
answer_section() { sed -n '/^;; ANSWER SECTION:/,/^$/p' <<< "$1" | sed '1d;/^$/d' | tr -s ' \t' '  '; }

check_resolver() {  # check_resolver EXPECT NAME TYPE OPTIONS...
  local want=$1 name=$2 type=$3; shift 3
  local out rcode flags ad ans why="" opt
  out=$(dig +dnssec +nosplit +time=3 +tries=2 @"$ADDR" -p "$RES_PORT" "$name" "$type" 2>&1) || true
  rcode=$(sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<< "$out" | head -n 1)
  flags=$(sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<< "$out" | head -n 1)
  case " $flags " in *" ad "*) ad=yes ;; *) ad=no ;; esac
  ans=$(answer_section "$out")
  local has_type=no
  awk -v t="$type" '$4 == t { f = 1 } END { exit !f }' <<< "$ans" && has_type=yes
  case $want in
    secure)   [ "$rcode" = NOERROR ] && [ $ad = yes ] && [ $has_type = yes ] || why="want NOERROR+AD with $type" ;;
    insecure) [ "$rcode" = NOERROR ] && [ $ad = no ] && [ $has_type = yes ] || why="want NOERROR without AD, with $type" ;;
    nxdomain) [ "$rcode" = NXDOMAIN ] && [ $ad = yes ] || why="want NXDOMAIN+AD" ;;
    nodata)   [ "$rcode" = NOERROR ] && [ $ad = yes ] && [ $has_type = no ] || why="want NOERROR+AD, no $type" ;;
    bogus)    [ "$rcode" = SERVFAIL ] || why="want SERVFAIL" ;;
    refused)  [ "$rcode" = REFUSED ] || why="want REFUSED" ;;
  esac
  for opt in "$@"; do
    [ -z "$why" ] || break
    case $opt in
      has=*)
        grep -qE -- "$(tr '~' ' ' <<< "${opt#has=}")" <<< "$ans" || why="answer does not match /${opt#has=}/" ;;
      tlsa=*)
        local got wanted
        got=$(awk '$4 == "TLSA" { print $5, $6, $7, tolower($8) }' <<< "$ans" | sort)
        wanted=$(tlsa_spec "${opt#tlsa=}" | sort)
        [ "$got" = "$wanted" ] || why="TLSA RRset differs from the certificates ($(wc -l <<< "$got") got, $(wc -l <<< "$wanted") wanted)" ;;
    esac
  done
  local desc; desc=$(printf '%-8s %-44s %-6s -> %s%s' "$want" "$name" "$type" "${rcode:-no answer}" "$([ $ad = yes ] && echo ' AD')")
  if [ -z "$why" ]; then pass "unbound $desc"; else fail "unbound $desc: $why"; printf '%s\n' "$ans" | indent; fi
}

check_auth() {  # check_auth NAME TYPE has=REGEX
  local name=$1 type=$2 re=${3#has=} out
  out=$(dig +dnssec +norec +nosplit +time=2 +tries=2 @"$ADDR" -p "$AUTH_PORT" "$name" "$type" 2>&1 | grep -v '^;' | tr -s ' \t' '  ') || true
  if grep -qE -- "$(tr '~' ' ' <<< "$re")" <<< "$out"; then pass "nsd     $(printf '%-44s %-10s' "$name" "$type") has /$re/"
  else fail "nsd     $name $type: reply does not match /$re/"; fi
}

check_delv() {  # check_delv EXPECT NAME TYPE: validate at NSD from the DS anchor
  local want=$1 name=$2 type=$3 out got
  out=$(delv @"$ADDR" -p "$AUTH_PORT" -a "$ANCHORS/delv-anchors.conf" +root="$APEX" +nomtrace "$name" "$type" 2>&1) || true
  case $out in
    *"unsigned answer"*) got=insecure ;;            # also a signed CNAME into an unsigned zone
    *"; negative response, fully validated"*) got=negative ;;
    *"; fully validated"*) got=secure ;;
    *"resolution failed"*|*"no valid"*|*"broken trust chain"*|*"insecurity proof failed"*) got=bogus ;;
    *) got=unknown ;;
  esac
  local expect=$want
  case $want in nxdomain|nodata) expect=negative ;; esac
  if [ "$got" = "$expect" ]; then pass "delv    $(printf '%-8s %-44s %-6s' "$want" "$name" "$type") -> $got"
  else fail "delv    $want $name $type -> $got"; head -n 4 <<< "$out" | indent; fi
}

check_drill() {  # check_drill EXPECT NAME TYPE: drill -S (chase) at NSD from the DNSKEY anchor
  local want=$1 name=$2 type=$3 out got
  out=$(drill -S -k "$ANCHORS/$APEX.dnskey" -p "$AUTH_PORT" @"$ADDR" "$name" "$type" 2>&1) || true
  case $out in
    *"Chase successful"*) got=secure ;;
    *"Bogus DNSSEC signature"*|*"signature has expired"*|*"No DNSSEC public key"*|*"DNSSEC signature"*) got=bogus ;;
    *) got=unknown ;;
  esac
  if [ "$got" = "$want" ]; then pass "drill   $(printf '%-8s %-44s %-6s' "$want" "$name" "$type") -> $got"
  else fail "drill   $want $name $type -> $got"; tail -n 4 <<< "$out" | indent; fi
}

check_certs() {  # the certificate files the tests read are there and chain to the lab root
  local d n=0
  for d in "$CERTS"/*/; do
    d=${d%/}
    case ${d##*/} in ca|intermediate) continue ;; esac
    n=$((n + 1))
    if [ -s "$d/key.pem" ] && [ -s "$d/chain.pem" ] &&
       openssl verify -CAfile "$CERTS/ca/cert.pem" -untrusted "$CERTS/intermediate/cert.pem" "$d/cert.pem" >/dev/null 2>&1 &&
       [ "$(openssl x509 -in "$d/cert.pem" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r)" = \
         "$(openssl pkey -in "$d/key.pem" -pubout -outform DER | openssl dgst -sha256 -r)" ]; then :
    else fail "certs   ${d##*/}: missing file, key mismatch or does not chain to ca/cert.pem"; return; fi
  done
  pass "certs   $n leaf certificates: {key,cert,chain}.pem present, keys match, chains verify"
}

cmd_check() {
  local t0; t0=$(now_ms)
  need dig delv drill openssl
  if ! ours nsd || ! ours unbound; then die "the lab in $LAB_DIR is not running (run: bash $0 up)"; fi
  check_certs
  local want name type opts
  while read -r want name type opts; do
    case $want in ''|'#'*) continue ;; esac
    # shellcheck disable=SC2086
    set -- $opts
    if [ "$want" = auth ]; then check_auth "$name" "$type" "$@"; continue; fi
    check_resolver "$want" "$name" "$type" "$@"
    [ "$want" = refused ] && continue
    check_delv "$want" "$name" "$type"
    case " $opts " in *" drill "*) check_drill "$want" "$name" "$type" ;; esac
  done < <(scenarios)
  printf 'lab check: %d ok, %d mismatched (%s)\n' "$PASSED" "$FAILED" "$(elapsed "$t0")"
  [ "$FAILED" = 0 ]
}

# ============================================================== main
case $CMD in
  install) cmd_install ;;
  up)      cmd_up ;;
  down)    cmd_down ;;
  status)  cmd_status ;;
  check)   cmd_check ;;
  clean)   cmd_clean ;;
  env)     [ -f "$LAB_DIR/env" ] || die "no $LAB_DIR/env (run: bash $0 up)"; cat "$LAB_DIR/env" ;;
  *)       echo "usage: bash $0 install|up|down|status|check|env|clean   (LAB_DIR=$LAB_DIR)" >&2; exit 2 ;;
esac
