# Certificates for the TLS tests (server_tls.sh, http_tls.sh), made with
# openssl in $WN_TMP/pki.

# pki_key NAME: an EC key (fast to make) in pki/NAME.key.
pki_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "pki/$1.key" 2>/dev/null; }

# pki_ca NAME: a self-signed CA in pki/NAME.pem.
pki_ca() {
	pki_key "$1"
	openssl req -x509 -new -key "pki/$1.key" -out "pki/$1.pem" -days 30 -subj "/CN=$1" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		2>/dev/null
}

# pki_cert NAME CA SAN [START END]: a certificate for SAN (subjectAltName
# entries) signed by CA, valid for 30 days or from START to END
# (YYYYMMDDHHMMSSZ), in pki/NAME.pem with its key pki/NAME.key.
pki_cert() {
	local name=$1 ca=$2 san=$3
	pki_key "$name"
	openssl req -new -key "pki/$name.key" -out "pki/$name.csr" -subj "/CN=$name" 2>/dev/null
	# `openssl ca` takes any validity period, past ones included
	mkdir -p "pki/$ca.db"
	[ -f "pki/$ca.db/index" ] || : >"pki/$ca.db/index"
	[ -f "pki/$ca.db/serial" ] || echo 1000 >"pki/$ca.db/serial"
	cat >"pki/$name.cnf" <<EOF
[ca]
default_ca = this
[this]
dir = pki/$ca.db
database = \$dir/index
serial = \$dir/serial
new_certs_dir = \$dir
certificate = pki/$ca.pem
private_key = pki/$ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
x509_extensions = ext
[any]
commonName = supplied
[ext]
basicConstraints = CA:FALSE
subjectAltName = $san
EOF
	local when=(-days 30)
	[ $# -lt 5 ] || when=(-startdate "$4" -enddate "$5")
	openssl ca -batch -config "pki/$name.cnf" -in "pki/$name.csr" -out "pki/$name.pem" \
		-notext "${when[@]}" 2>/dev/null || fail "openssl ca could not make $name"
}

# pki_make: the CA, a server certificate for localhost and 127.0.0.1 (as a
# DNS name too: mbedTLS 2 matches names only), a client certificate, and
# the wrong ones: another CA and a server certificate it signed, a
# certificate for another name, one that expired, a client certificate of
# the other CA.
pki_make() {
	mkdir -p pki
	pki_ca ca
	pki_ca otherca
	local names="DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1"
	pki_cert server ca "$names"
	pki_cert client ca "DNS:worker1"
	pki_cert foreign otherca "$names"
	pki_cert elsewhere ca "DNS:db.example.org"
	pki_cert expired ca "$names" 20200101000000Z 20200201000000Z
	pki_cert stranger otherca "DNS:worker2"
}
