complete -c check_openvpn -s H -l hostname -d 'Server host name or IP address (same as HOST)' -r
complete -c check_openvpn -s p -l port -d 'Server port [default: 1194, or the config\'s]' -r
complete -c check_openvpn -s b -l bind -d 'Source address of the probe, as OpenVPN\'s `local` (a multi-homed host probes out of the interface the clients use) [default: the config\'s local, else the kernel\'s choice]' -r
complete -c check_openvpn -l remote -d 'With --config: check only this remote of the config, by its number (1: the first `remote` or `<connection>`) or its host [default: every remote, in parallel]' -r
complete -c check_openvpn -l timeout -d 'Seconds to wait: per attempt over UDP, for connect and answer over TCP (fractions allowed)' -r
complete -c check_openvpn -l retrycount -d 'Number of UDP attempts' -r
complete -c check_openvpn -l config -d 'Read remote, port, proto, auth, key-direction and the tls-auth/tls-crypt/tls-crypt-v2 key from an OpenVPN client config; flags override it' -r -F
complete -c check_openvpn -l tls-auth -d 'OpenVPN static key file used by the server\'s `tls-auth`' -r -F
complete -c check_openvpn -l tls-crypt -d 'OpenVPN static key file used by the server\'s `tls-crypt`' -r -F
complete -c check_openvpn -l tls-crypt-v2 -d 'tls-crypt-v2 client key file (made by `openvpn --tls-crypt-v2 SERVERKEY --genkey tls-crypt-v2-client`); with --server-config: a client key of that server for the probe, one its tls-crypt-v2-verify script allows' -r -F
complete -c check_openvpn -l digest -d 'HMAC digest of the server\'s `auth` option (MD5, SHA1, SHA256, SHA3-256, BLAKE2b512, ...) [default: SHA1, or the config\'s auth]' -r
complete -c check_openvpn -l digest-size -d 'Bytes of HMAC on the wire (default: the digest\'s full length)' -r
complete -c check_openvpn -l key-direction -d 'Key direction of the tls-auth key on this (client) side: 0, 1 or bidirectional [default: 1]' -r
complete -c check_openvpn -l digest-key-client -d 'HMAC key for packets to the server, in hex (tls-auth without a key file)' -r
complete -c check_openvpn -l digest-key-server -d 'HMAC key for packets from the server, in hex (verifies the answer)' -r
complete -c check_openvpn -l ca -d 'Verify the server\'s certificate chain against these PEM CA certificates, as an OpenVPN client does [default: the config\'s ca] (runs the TLS stage; without a client certificate a server that demands one logs a failed handshake: add --cert/--key for the login stage)' -r -F
complete -c check_openvpn -l verify-x509-name -d 'Require this server certificate name, as OpenVPN\'s verify-x509-name (runs the TLS stage)' -r
complete -c check_openvpn -l verify-x509-type -d 'How --verify-x509-name matches: subject (the whole DN, as OpenVPN prints it), name (the CN) or name-prefix [default: subject]' -r
complete -c check_openvpn -l remote-cert-tls -d 'Require the server certificate to carry key usage and TLS Web Server Authentication, as OpenVPN\'s `remote-cert-tls server` (runs the TLS stage)' -r
complete -c check_openvpn -l peer-fingerprint -d 'Require the server certificate\'s SHA-256 fingerprint (AB:CD:..., as `openssl x509 -fingerprint -sha256` prints it) to be one of these, comma-separated or repeated, as OpenVPN\'s peer-fingerprint; without --ca (or the config\'s ca) nothing else of the certificate is verified, its dates included, as OpenVPN\'s client does not [default: the config\'s peer-fingerprint] (runs the TLS stage)' -r
complete -c check_openvpn -l cert -d 'Client certificate (PEM) for the login stage [default: the config\'s cert] (runs the login stage)' -r -F
complete -c check_openvpn -l key -d 'Private key of --cert (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted) (runs the login stage)' -r -F
complete -c check_openvpn -l auth-user-pass -d 'OpenVPN auth-user-pass file: user name on line 1, password on line 2 (runs the login stage; passwords are never taken on the command line)' -r -F
complete -c check_openvpn -l totp-secret -d 'TOTP secret (base32, or an otpauth://totp/ URI) of the --login account, for a config with `static-challenge`: the password goes with the current code, as OpenVPN\'s clients send it (SCRV1, or the config\'s concat)' -r -F
complete -c check_openvpn -l cipher -d 'Data-channel cipher, as OpenVPN\'s `cipher` (e.g. AES-256-CBC for a server that does not negotiate) [default: the config\'s cipher]; told to the server in the options string' -r
complete -c check_openvpn -l data-ciphers -d 'Data-channel ciphers the client accepts, as OpenVPN\'s `data-ciphers` (colon-separated) [default: the config\'s data-ciphers or ncp-ciphers, else AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305]' -r
complete -c check_openvpn -l auth -d 'HMAC digest of a CBC data channel, as OpenVPN\'s `auth` (MD5, SHA1, SHA256, SHA512, ...); also the tls-auth digest when --digest is not given [default: --digest, else the config\'s auth, else SHA1]' -r
complete -c check_openvpn -l comp-lzo -d 'Compression framing as OpenVPN\'s `comp-lzo [yes|no|adaptive]` (the check never compresses; it frames its packets as the server expects) [default: the config\'s]' -r
complete -c check_openvpn -l compress -d 'Compression framing as OpenVPN\'s `compress [stub|stub-v2|lzo|lz4|lz4-v2|migrate]` (the check never compresses) [default: the config\'s]' -r
complete -c check_openvpn -l allow-compression -d 'Which compression the server may push, as OpenVPN 2.6\'s `allow-compression`: no (only the stubs: a pushed comp-lzo yes, compress lz4, ... is CRITICAL, as 2.6 clients stop on it), asym or yes (accepted) [default: the config\'s, else no unless the config\'s own comp-lzo/compress allows it, as in 2.6]' -r -f -a "no\t''
asym\t''
yes\t''"
complete -c check_openvpn -l tun-mtu -d 'MTU of the client\'s tun device, as OpenVPN\'s `tun-mtu` [default: the config\'s, else 1500]' -r
complete -c check_openvpn -l ping-address -d 'Send the echoes to this address instead of the server\'s tunnel address (IPv4, or IPv6 when the server pushes ifconfig-ipv6); a pushed route or the pushed subnet must cover it' -r
complete -c check_openvpn -l ping-count -d 'Number of echo requests, 1 to 20 [default: 3]' -r
complete -c check_openvpn -l ping-warning -d 'Echo thresholds that raise WARNING, as check_ping: round trip average in ms, and packet loss in percent (at or above either), e.g. 100,20%' -r
complete -c check_openvpn -l ping-critical -d 'Echo thresholds that raise CRITICAL, as check_ping: round trip average in ms, and packet loss in percent (at or above either), e.g. 500,60%' -r
complete -c check_openvpn -l dns -d 'After the login, look NAME up through the tunnel (from the pushed ifconfig address, no root or tun device needed) at the DNS server the server pushes (dhcp-option DNS, dns server), or --dns-server; OK when it answers with a record' -r
complete -c check_openvpn -l dns-type -d 'The record type to ask for: A, AAAA, MX, TXT, ... [default: A]' -r
complete -c check_openvpn -l dns-server -d 'Ask this DNS server (through the tunnel) instead of the pushed one, for --dns and for the name in --http\'s URL; a pushed route or the pushed subnet must cover it' -r
complete -c check_openvpn -l dns-expect -d 'An address the answer must hold; another answer is CRITICAL' -r
complete -c check_openvpn -l tcp-connect -d 'After the login, open a TCP connection through the tunnel to ADDRESS:PORT (IPv6 as [ADDRESS]:PORT) from the pushed ifconfig address, then reset it; OK when the handshake completes; a pushed route or the pushed subnet must cover the address' -r
complete -c check_openvpn -l http -d 'After the login, GET this http:// or https:// URL through the tunnel (a name in it is looked up through the tunnel\'s DNS server, as for --dns); OK for a 2xx or 3xx answer, or one of --http-expect; for https the server\'s certificate must be valid for the name and lead to the system\'s trust store or --http-ca, and -C applies to its chain' -r
complete -c check_openvpn -l http-ca -d 'The CA certificates (PEM) an https server of --http must lead to [default: the system\'s trust store]' -r
complete -c check_openvpn -l http-expect -d 'Status codes that are OK for --http, separated by commas [default: any 2xx or 3xx]' -r
complete -c check_openvpn -l server-config -d 'Check a server from its own config, on the server host: its CRL and certificates on disk, the live server probed with its own settings (does it present the certificate on disk?), and its clients from the management interface or status file' -r -F
complete -c check_openvpn -l clients-warning -d 'With --server-config: number of connected clients that raises WARNING, as a Nagios range (1: means at least one)' -r
complete -c check_openvpn -l clients-critical -d 'With --server-config: number of connected clients that raises CRITICAL, as a Nagios range (1: means at least one)' -r
complete -c check_openvpn -s w -l warning -d 'Response time (seconds) that raises WARNING, as a Nagios range' -r
complete -c check_openvpn -s c -l critical -d 'Response time (seconds) that raises CRITICAL, as a Nagios range' -r
complete -c check_openvpn -s C -l certificate -d 'Certificate days left: WARNING under the first number, CRITICAL under the second (one number: CRITICAL once expired); applies to every certificate of the chain (runs the TLS stage; a server that demands a client certificate logs a failed handshake unless --cert/--key log in)' -r
complete -c check_openvpn -s t -l tcp -d 'Use TCP instead of UDP'
complete -c check_openvpn -s 4 -d 'Use IPv4 only'
complete -c check_openvpn -s 6 -d 'Use IPv6 only'
complete -c check_openvpn -l all-addresses -d 'Probe every address HOST resolves to (of the -4/-6 family), in parallel; the worst state wins'
complete -c check_openvpn -l tls-auth-inverse -d 'Use the tls-auth key with key direction 0 instead of 1'
complete -c check_openvpn -l diagnose -d 'Try every plausible way to use the given key at once and report which ones the server answers'
complete -c check_openvpn -l no-validation -d 'Accept any answer from the server without validating it'
complete -c check_openvpn -l tls -d 'Go on after the reset: a TLS handshake over the control channel; report the TLS version, cipher suite and the server certificate (verifies nothing by itself). A server that demands a client certificate logs a failed handshake for each such check (fail2ban\'s openvpn filter counts it): log in with --cert/--key or --auth-user-pass instead to stay out of its log'
complete -c check_openvpn -l login -d 'Log in like a real client with what the config provides (cert, key, auth-user-pass): key-method 2, PUSH_REPLY or the server\'s refusal, then EXIT'
complete -c check_openvpn -l wait-for-close -d 'Login stage over TCP: after EXIT, wait until the server closes the connection (its delayed exit, about 5 s; needs --timeout 7 or more), so its log shows a clean exit instead of a connection reset that fail2ban\'s openvpn filter bans'
complete -c check_openvpn -l ping -d 'After the login, send ICMP echoes through the tunnel (from the pushed ifconfig address, no root or tun device needed) to the server\'s own tunnel address; proves the data channel, the server\'s tun device and its ICMP answer'
complete -c check_openvpn -l no-probe -d 'With --server-config: check the files and clients only, do not probe the live server'
complete -c check_openvpn -s v -l verbose -d 'More output after the status line (-v details, -vv packet trace, -vvv packet hex)'
complete -c check_openvpn -s h -l help -d 'Print this help, exit 0'
complete -c check_openvpn -s V -l version -d 'Print the version, exit 0'
