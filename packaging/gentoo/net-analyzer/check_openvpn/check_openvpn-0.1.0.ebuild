# Copyright 2026 The check_openvpn authors
# Distributed under the terms of the MIT license

# CRATES lists every crates.io package of Cargo.lock. `cargo xtask gen` rewrites it, and
# `cargo test` fails when it does not match Cargo.lock. Run `ebuild ... manifest` after
# copying this ebuild into an overlay.

EAPI=8

CRATES="
	aead@0.6.1
	aes@0.9.4
	aes-gcm@0.11.1
	aho-corasick@1.1.5
	alloca@0.4.0
	anes@0.1.6
	anstream@1.0.0
	anstyle@1.0.14
	anstyle-parse@1.0.0
	anstyle-query@1.1.5
	anstyle-wincon@3.0.11
	asn1-rs@0.7.2
	asn1-rs-derive@0.6.0
	asn1-rs-impl@0.2.0
	async-trait@0.1.92
	autocfg@1.5.1
	base16ct@1.0.0
	base64@0.22.1
	base64ct@1.8.3
	bit-set@0.11.1
	bit-vec@0.10.2
	bitflags@1.3.2
	bitflags@2.13.2
	blake2@0.11.0
	block-buffer@0.12.1
	block-padding@0.4.2
	borsh@1.8.1
	borsh-derive@1.8.1
	byteorder@1.5.0
	bytes@1.12.2
	cast@0.3.0
	cbc@0.2.1
	cc@1.11.3
	cfg-if@1.0.5
	cfg_aliases@0.2.2
	chacha20@0.10.2
	ciborium@0.2.2
	ciborium-io@0.2.2
	ciborium-ll@0.2.2
	cipher@0.5.2
	clap@4.6.9
	clap_builder@4.6.7
	clap_complete@4.6.11
	clap_derive@4.6.9
	clap_lex@1.1.2
	clap_mangen@0.3.3
	cmov@0.5.4
	cms@0.3.0-pre.1
	colorchoice@1.0.5
	const-oid@0.10.3
	core-foundation@0.10.1
	core-foundation-sys@0.8.7
	core_detect@1.0.0
	cpubits@0.1.1
	cpufeatures@0.3.1
	criterion@0.8.2
	criterion-plot@0.8.2
	critical-section@1.2.0
	crunchy@0.2.4
	crypto-bigint@0.7.11
	crypto-common@0.2.2
	crypto-primes@0.7.2
	ctr@0.10.1
	ctutils@0.4.8
	data-encoding@2.11.1
	defmt@0.3.101
	defmt@1.2.0
	defmt-macros@1.2.0
	defmt-parser@1.1.0
	der@0.8.3
	der-parser@10.0.0
	der_derive@0.8.0
	deranged@0.5.9
	des@0.9.0
	digest@0.11.3
	displaydoc@0.2.7
	ecdsa@0.17.0
	either@1.19.0
	elliptic-curve@0.14.3
	enum-as-inner@0.6.1
	equivalent@1.0.3
	errno@0.3.15
	fastrand@2.5.0
	ff@0.14.0
	find-msvc-tools@0.1.15
	flagset@0.4.7
	fnv@1.0.7
	form_urlencoded@1.2.3
	futures-channel@0.3.34
	futures-core@0.3.34
	futures-io@0.3.34
	futures-task@0.3.34
	futures-util@0.3.34
	getrandom@0.2.17
	getrandom@0.3.4
	getrandom@0.4.3
	ghash@0.6.0
	group@0.14.0
	half@2.7.1
	hash32@0.3.1
	hashbrown@0.17.2
	heapless@0.8.0
	heck@0.5.0
	hex@0.4.3
	hickory-proto@0.25.2
	hkdf@0.13.0
	hmac@0.13.0
	httparse@1.10.1
	hybrid-array@0.4.15
	icu_collections@2.4.0
	icu_locale_core@2.4.0
	icu_normalizer@2.4.0
	icu_normalizer_data@2.4.0
	icu_properties@2.4.0
	icu_properties_data@2.4.0
	icu_provider@2.4.0
	idna@1.1.0
	idna_adapter@1.2.2
	if-addrs@0.15.0
	indexmap@2.14.2
	inout@0.2.6
	ipnet@2.12.2
	is_terminal_polyfill@1.70.2
	itertools@0.13.0
	itoa@1.0.19
	keccak@0.2.2
	lazy_static@1.5.1
	libc@0.2.191
	linux-raw-sys@0.12.1
	litemap@0.8.3
	managed@0.8.0
	md-5@0.11.0
	memchr@2.8.3
	minimal-lexical@0.2.1
	nom@7.1.3
	num-bigint@0.4.8
	num-conv@0.2.2
	num-integer@0.1.47
	num-traits@0.2.19
	oid-registry@0.8.1
	once_cell@1.21.4
	once_cell_polyfill@1.70.2
	oorandom@11.1.5
	openssl-probe@0.2.2
	p12-keystore@0.4.1
	p521@0.14.0
	page_size@0.6.0
	pbkdf2@0.13.0
	pem-rfc7468@1.0.0
	percent-encoding@2.3.2
	pin-project-lite@0.2.18
	pkcs1@0.8.0
	pkcs12@0.2.0-pre.0
	pkcs5@0.8.1
	pkcs8@0.11.0
	polyval@0.7.3
	portable-atomic@1.15.0
	potential_utf@0.1.6
	powerfmt@0.2.1
	ppv-lite86@0.2.21
	primefield@0.14.0
	primeorder@0.14.0
	proc-macro-crate@3.5.0
	proc-macro2@1.0.107
	proptest@1.12.0
	quick-error@1.2.3
	quote@1.0.47
	r-efi@5.3.0
	r-efi@6.0.0
	rand@0.9.5
	rand@0.10.4
	rand_chacha@0.9.0
	rand_core@0.9.5
	rand_core@0.10.1
	rand_xorshift@0.5.0
	rc2@0.9.0
	regex@1.13.2
	regex-automata@0.4.19
	regex-syntax@0.8.12
	rfc6979@0.6.0
	ring@0.17.14
	ripemd@0.2.0
	roff@1.1.1
	rsa@0.10.0
	rusticata-macros@4.1.0
	rustix@1.1.6
	rustls@0.23.46
	rustls-native-certs@0.8.5
	rustls-pki-types@1.16.0
	rustls-webpki@0.103.17
	rusty-fork@0.3.1
	salsa20@0.11.0
	same-file@1.0.6
	schannel@0.1.30
	scrypt@0.12.0
	sec1@0.8.1
	security-framework@3.7.0
	security-framework-sys@2.17.0
	serde@1.0.229
	serde_core@1.0.229
	serde_derive@1.0.229
	serde_json@1.0.154
	serdect@0.4.3
	sha1@0.11.0
	sha2@0.11.1
	sha3@0.12.0
	shlex@2.0.1
	signature@3.0.0
	slab@0.4.12
	sm3@0.5.0
	smallvec@1.16.6
	smoltcp@0.12.0
	socket2@0.6.5
	spki@0.8.1
	sponge-cursor@0.1.0
	stable_deref_trait@1.2.1
	strsim@0.11.1
	subtle@2.6.1
	syn@2.0.119
	syn@3.0.10
	synstructure@0.13.2
	synstructure@0.14.0
	tempfile@3.27.0
	thiserror@2.0.21
	thiserror-impl@2.0.21
	time@0.3.55
	time-core@0.1.9
	time-macros@0.2.32
	tinystr@0.8.5
	tinytemplate@1.2.1
	tinyvec@1.13.3
	toml_datetime@1.1.3+spec-1.1.0
	toml_edit@0.25.20+spec-1.1.0
	toml_parser@1.1.6+spec-1.1.0
	tracing@0.1.44
	tracing-core@0.1.36
	typenum@1.20.1
	unarray@0.1.4
	unicode-ident@1.0.27
	universal-hash@0.6.1
	untrusted@0.9.0
	url@2.5.9
	utf8_iter@1.1.0
	utf8parse@0.2.2
	utf_types@1.0.0
	wait-timeout@0.2.1
	walkdir@2.5.1
	wasi@0.11.1+wasi-snapshot-preview1
	wasip2@1.0.4+wasi-0.2.12
	winapi@0.3.9
	winapi-i686-pc-windows-gnu@0.4.0
	winapi-util@0.1.11
	winapi-x86_64-pc-windows-gnu@0.4.0
	windows-link@0.2.1
	windows-sys@0.52.0
	windows-sys@0.61.2
	windows-targets@0.52.6
	windows_aarch64_gnullvm@0.52.6
	windows_aarch64_msvc@0.52.6
	windows_i686_gnu@0.52.6
	windows_i686_gnullvm@0.52.6
	windows_i686_msvc@0.52.6
	windows_x86_64_gnu@0.52.6
	windows_x86_64_gnullvm@0.52.6
	windows_x86_64_msvc@0.52.6
	winnow@1.0.5
	wit-bindgen@0.57.1
	wnaf@0.14.1
	writeable@0.6.4
	x509-cert@0.3.0
	x509-parser@0.18.1
	yoke@0.8.4
	yoke-derive@0.8.4
	zerocopy@0.8.64
	zerocopy-derive@0.8.64
	zerofrom@0.1.8
	zerofrom-derive@0.1.8
	zeroize@1.9.2
	zerotrie@0.2.5
	zerovec@0.11.9
	zerovec-derive@0.11.7
	zmij@1.0.23
"

inherit cargo shell-completion

DESCRIPTION="Nagios/Icinga plugin that checks an OpenVPN server by its control-channel handshake"
HOMEPAGE="https://crates.io/crates/check-openvpn"
SRC_URI="
	https://crates.io/api/v1/crates/check-openvpn/${PV}/download
		-> check-openvpn-${PV}.crate
	${CARGO_CRATE_URIS}
"
S="${WORKDIR}/check-openvpn-${PV}"

LICENSE="MIT"
# Dependent crate licenses
LICENSE+=" MIT Unicode-3.0"
SLOT="0"
KEYWORDS="~amd64"

# einstalldocs installs these with dodoc -r: every flag is documented under docs/.
DOCS=( README.md docs )

src_compile() {
	cargo_src_compile --package check-openvpn --bin check_openvpn
}

src_test() {
	# The integration tests start OpenVPN servers and monitoring daemons; the unit
	# tests need nothing.
	cargo_src_test --package check-openvpn --lib --bins
}

src_install() {
	exeinto /usr/$(get_libdir)/nagios/plugins
	doexe "$(cargo_target_dir)/check_openvpn"

	insinto /usr/share/icinga2/include/plugins-contrib.d
	doins packaging/icinga2/openvpn.conf

	insinto /etc/nagios/objects
	doins packaging/nagios/check_openvpn.cfg

	doman packaging/man/check_openvpn.1
	newbashcomp packaging/completions/check_openvpn.bash check_openvpn
	dozshcomp packaging/completions/_check_openvpn
	dofishcomp packaging/completions/check_openvpn.fish
	einstalldocs
}

pkg_postinst() {
	elog "check_openvpn is installed in ${EROOT}/usr/$(get_libdir)/nagios/plugins."
	elog "Icinga 2 loads the CheckCommand \"openvpn\" with 'include <plugins-contrib>'."
	elog "For Nagios, add to nagios.cfg:"
	elog "  cfg_file=${EROOT}/etc/nagios/objects/check_openvpn.cfg"
}
