# Starts throwaway OpenVPN servers on loopback for scripts/demo and scripts/bench.
# Source it, then call: start_server MODE PROTO WRAP   (MODE p2p|multi, PROTO udp|tcp,
# WRAP none|tls-auth|tls-crypt|tls-crypt-v2). Each call sets SERVER_DIR, SERVER_PORT and
# SERVER_KEY (the key a client needs: ta.key, tc.key or the tls-crypt-v2 client key) for
# the server it started, whose folder also holds ca.crt and a client.crt/client.key (CN
# monitor) for the login stage, and crl.pem (the CA's CRL, 30 days); every server is
# killed and its folder removed on exit. Keys and certificates are generated fresh in a
# temporary folder. SERVER_EXTRA, if set, holds more config lines for the server.

OPENVPN=${OPENVPN:-$(command -v openvpn || echo /usr/sbin/openvpn)}

need() {
  command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || {
    echo "$0: '$1' is needed (Debian: apt-get install $2)" >&2
    exit 3
  }
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

SERVER_PIDS=()
SERVER_DIRS=()

stop_servers() {
  local pid dir
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  for dir in "${SERVER_DIRS[@]}"; do rm -rf "$dir"; done
  return 0
}

start_server() {
  local mode=$1 proto=$2 wrap=$3
  need "$OPENVPN" openvpn
  need openssl openssl
  SERVER_DIR=$(mktemp -d /tmp/check-openvpn-demo.XXXXXX)
  SERVER_DIRS+=("$SERVER_DIR")
  trap stop_servers EXIT
  (
    cd "$SERVER_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout ca.key -out ca.crt -days 90 -subj /CN=demo-ca 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout server.key -out server.csr -subj /CN=demo-server 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=serverAuth\n' > server.ext
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=clientAuth\n' > client.ext
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout client.key -out client.csr -subj /CN=monitor 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile client.ext -out client.crt -days 90 2>/dev/null
    chmod 600 client.key
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile server.ext -out server.crt -days 90 2>/dev/null
    mkdir crl-db && : > crl-db/index.txt && echo 01 > crl-db/crlnumber
    printf '[ca]\ndefault_ca = c\n[c]\ndatabase = crl-db/index.txt\ncrlnumber = crl-db/crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n' > crl.cnf
    openssl ca -gencrl -config crl.cnf -keyfile ca.key -cert ca.crt -out crl.pem
    "$OPENVPN" --genkey secret ta.key
    if [ "$wrap" = tls-crypt-v2 ]; then
      "$OPENVPN" --genkey tls-crypt-v2-server v2-server.key
      "$OPENVPN" --tls-crypt-v2 v2-server.key --genkey tls-crypt-v2-client v2-client.key
    fi
  ) >/dev/null 2>&1 || { echo "$0: could not generate keys" >&2; exit 3; }
  SERVER_KEY=$SERVER_DIR/ta.key
  [ "$wrap" = tls-crypt-v2 ] && SERVER_KEY=$SERVER_DIR/v2-client.key
  SERVER_PORT=$(free_port)
  {
    echo "local 127.0.0.1"
    echo "port $SERVER_PORT"
    if [ "$proto" = tcp ]; then echo "proto tcp4-server"; else echo "proto udp4"; fi
    echo "tls-server"
    echo "ca ca.crt"; echo "cert server.crt"; echo "key server.key"; echo "dh none"
    echo "disable-dco"
    echo "verb 3"
    echo "log server.log"
    if [ "$mode" = multi ]; then
      # Serves any number of probes; needs root and /dev/net/tun. The tun device
      # stays unconfigured: nothing on the host's network changes.
      echo "mode server"; echo "dev tun"; echo "topology subnet"
      echo "server 10.199.0.0 255.255.255.0"
      echo "ifconfig-noexec"; echo "route-noexec"
      # The default answers at most 100 new sessions per 10 s; a benchmark makes more.
      echo "connect-freq-initial 100000 10"
    else
      # Point-to-point: no tun device needed, but it serves its first peer only.
      echo "dev null"
    fi
    case $wrap in
      tls-auth) echo "tls-auth ta.key 0"; echo "auth SHA256" ;;
      tls-crypt) echo "tls-crypt ta.key" ;;
      tls-crypt-v2) echo "tls-crypt-v2 v2-server.key" ;;
    esac
    [ -n "${SERVER_EXTRA:-}" ] && printf '%s\n' "$SERVER_EXTRA"
  } > "$SERVER_DIR/server.conf"
  (cd "$SERVER_DIR" && exec "$OPENVPN" --config server.conf >/dev/null 2>&1) &
  SERVER_PID=$!
  SERVER_PIDS+=("$SERVER_PID")
  local ready="link local (bound)"
  [ "$proto" = tcp ] && ready="Listening for incoming TCP connection"
  for _ in $(seq 100); do
    if grep -q "$ready" "$SERVER_DIR/server.log" 2>/dev/null; then
      if [ "$mode" != multi ] || grep -q "Initialization Sequence Completed" "$SERVER_DIR/server.log"; then
        return 0
      fi
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "$0: the OpenVPN server did not start; its log:" >&2
  cat "$SERVER_DIR/server.log" >&2 2>/dev/null
  exit 3
}

can_tun() {
  [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ]
}
