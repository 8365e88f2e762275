"""SIP signalling at the byte level, with hand-made messages over UDP/TCP from Python: digest with and without
qop, wrong password (403, not registered), per-device password through the API, Date header, Expires: 0,
keepalives (unknown device refused with 404, known device online), a 20 KB catalog over UDP (beyond libre's
8 KiB default), and bad input (wrong Content-Length, XML bomb, garbage XML, unknown CmdType, invalid IDs) that
must be answered and counted without harming the registry."""
import hashlib
import os
import random
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402

SERVER_ID = "34020000002000000001"
DOMAIN = "3402000000"


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


class RawDevice:
    """A device made of a UDP (or TCP) socket and string templates; answers nothing by itself."""

    def __init__(self, gw, dev_id, tcp=False):
        self.gw, self.id, self.tcp = gw, dev_id, tcp
        kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.settimeout(5)
        if tcp:
            self.sock.connect(("127.0.0.1", gw.sip_port))
        else:
            self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.cseq = 0
        self.call_id = f"{random.getrandbits(48):x}@test"
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        if self.tcp:
            self.sock.sendall(data)
        else:
            self.sock.sendto(data, ("127.0.0.1", self.gw.sip_port))

    def recv(self, timeout=5):
        """Next SIP message as (first line, headers dict (lower-case names, last wins), body bytes)."""
        self.sock.settimeout(timeout)
        if not self.tcp:
            data, _ = self.sock.recvfrom(70000)
            return parse(data)
        while True:
            m = re.search(rb"\r\n\r\n", self.buf)
            if m:
                head = self.buf[:m.end()]
                clen = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
                if len(self.buf) >= m.end() + clen:
                    data, self.buf = self.buf[:m.end() + clen], self.buf[m.end() + clen:]
                    return parse(data)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def response(self, method, timeout=5):
        """Waits for the response to our last `method`, answering requests the gateway sends meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            first, hdrs, body = self.recv(max(0.1, deadline - time.monotonic()))
            if first.startswith("SIP/2.0"):
                if hdrs.get("cseq", "").endswith(method):
                    return int(first.split()[1]), hdrs, body
            else:
                self.answer_request(first, hdrs)

    def wait_query(self, cmdtype, timeout=10):
        """Answers the gateway's requests with 200 until a query of `cmdtype` comes; returns its SN."""
        deadline = time.monotonic() + timeout
        while True:
            first, hdrs, body = self.recv(max(0.1, deadline - time.monotonic()))
            if first.startswith("SIP/2.0"):
                continue
            self.answer_request(first, hdrs)
            if f"<CmdType>{cmdtype}</CmdType>".encode() in body:
                return int(re.search(rb"<SN>(\d+)</SN>", body).group(1))

    def answer_request(self, first, hdrs):
        """200 to a request from the gateway (its queries), so its transactions end quietly."""
        resp = (f"SIP/2.0 200 OK\r\nVia: {hdrs['via']}\r\nFrom: {hdrs['from']}\r\nTo: {hdrs['to']};tag=x\r\n"
                f"Call-ID: {hdrs['call-id']}\r\nCSeq: {hdrs['cseq']}\r\nContent-Length: 0\r\n\r\n")
        self.send(resp.encode())

    def request(self, method, headers="", body=b"", ruri=None, from_user=None, clen=None):
        self.cseq += 1
        transport = "TCP" if self.tcp else "UDP"
        ruri = ruri or f"sip:{SERVER_ID}@{DOMAIN}"
        user = self.id if from_user is None else from_user
        clen = len(body) if clen is None else clen
        msg = (f"{method} {ruri} SIP/2.0\r\n"
               f"Via: SIP/2.0/{transport} 127.0.0.1:{self.port};rport;branch=z9hG4bK{random.getrandbits(40):x}\r\n"
               f"From: <sip:{user}@{DOMAIN}>;tag={random.getrandbits(32):x}\r\n"
               f"To: <sip:{user}@{DOMAIN}>\r\n"
               f"Call-ID: {self.call_id}\r\nCSeq: {self.cseq} {method}\r\n"
               f"Contact: <sip:{self.id}@127.0.0.1:{self.port}>\r\nMax-Forwards: 70\r\n{headers}"
               f"Content-Length: {clen}\r\n\r\n").encode() + body
        self.send(msg)

    def register(self, password=None, expires=3600, qop=True, realm=None, answer_after_s=0):
        """REGISTER, answer the 401 when a password is given (answer_after_s later: a nonce that went stale);
        returns (status, headers) of the last answer."""
        self.request("REGISTER", f"Expires: {expires}\r\n")
        status, hdrs, _ = self.response("REGISTER")
        if status != 401 or password is None:
            return status, hdrs
        time.sleep(answer_after_s)
        chall = dict(re.findall(r'(\w+)="?([^",]*)"?', hdrs["www-authenticate"]))
        uri = f"sip:{SERVER_ID}@{DOMAIN}"
        r = realm or chall["realm"]
        ha1 = md5(f"{self.id}:{r}:{password}")
        ha2 = md5(f"REGISTER:{uri}")
        if qop and "qop" in chall:
            cnonce, nc = f"{random.getrandbits(32):08x}", "00000001"
            resp = md5(f"{ha1}:{chall['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            auth = (f'Digest username="{self.id}", realm="{r}", nonce="{chall["nonce"]}", uri="{uri}", '
                    f'response="{resp}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"')
        else:
            resp = md5(f"{ha1}:{chall['nonce']}:{ha2}")
            auth = (f'Digest username="{self.id}", realm="{r}", nonce="{chall["nonce"]}", uri="{uri}", '
                    f'response="{resp}", algorithm=MD5')
        self.request("REGISTER", f"Authorization: {auth}\r\nExpires: {expires}\r\n")
        status, hdrs, _ = self.response("REGISTER")
        return status, hdrs

    def message(self, body, clen=None, from_user=None):
        self.request("MESSAGE", "Content-Type: Application/MANSCDP+xml\r\n", body, clen=clen, from_user=from_user)
        return self.response("MESSAGE")[0]


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs, body


def keepalive_body(dev_id, sn=1):
    return (f'<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>\r\n<CmdType>Keepalive</CmdType>\r\n<SN>{sn}</SN>\r\n'
            f'<DeviceID>{dev_id}</DeviceID>\r\n<Status>OK</Status>\r\n</Notify>\r\n').encode("gb2312")


def catalog_body(dev_id, items, sum_num=None):
    parts = [f'<?xml version="1.0" encoding="GB2312"?>\r\n<Response>\r\n<CmdType>Catalog</CmdType>\r\n<SN>9</SN>\r\n'
             f'<DeviceID>{dev_id}</DeviceID>\r\n<SumNum>{sum_num if sum_num is not None else len(items)}</SumNum>\r\n'
             f'<DeviceList Num="{len(items)}">\r\n']
    for cid, name in items:
        parts.append(f"<Item>\r\n<DeviceID>{cid}</DeviceID>\r\n<Name>{name}</Name>\r\n<Manufacturer>Test</Manufacturer>\r\n"
                     f"<Model>M</Model>\r\n<Owner>O</Owner>\r\n<CivilCode>340200</CivilCode>\r\n<Address>地址</Address>\r\n"
                     f"<Parental>0</Parental>\r\n<ParentID>{dev_id}</ParentID>\r\n<SafetyWay>0</SafetyWay>\r\n"
                     f"<RegisterWay>1</RegisterWay>\r\n<Secrecy>0</Secrecy>\r\n<Status>ON</Status>\r\n"
                     f"<Longitude>117.1</Longitude>\r\n<Latitude>31.8</Latitude>\r\n<Info><PTZType>1</PTZType></Info>\r\n</Item>\r\n")
    parts.append("</DeviceList>\r\n</Response>\r\n")
    return "".join(parts).encode("gb2312")


def device(gw, dev_id):
    status, obj = gw.api("GET", f"/api/v1/devices/{dev_id}")
    return obj if status == 200 else None


def main():
    c = gbtest.Check("sip_protocol")
    gw = gbtest.Gateway(overrides={"sip.auth": "on", "sip.password": "12345678", "sip.auth_ban_failures": 50},
                        name="sip_protocol")
    try:
        # --- digest with and without qop, Date header
        d1 = RawDevice(gw, "34020000001320000001")
        status, hdrs = d1.register(password=None)
        c.eq("REGISTER without Authorization: 401", status, 401)
        www = hdrs.get("www-authenticate", "")
        c.ok("challenge: realm is sip.domain, MD5, qop offered", f'realm="{DOMAIN}"' in www and "MD5" in www
             and 'qop="auth"' in www, www)
        status, hdrs = d1.register(password="12345678", qop=True)
        c.eq("digest with qop=auth: 200", status, 200)
        c.ok("200 has a Date header like 2026-11-24T09:30:15.123",
             re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", hdrs.get("date", "")), hdrs.get("date"))
        c.eq("200 echoes Expires", hdrs.get("expires"), "3600")
        dev = device(gw, d1.id)
        c.ok("API: device registered and online", dev and dev["online"] and dev["registered"], dev)
        c.eq("API: address is the REGISTER's source", dev and dev["address"], f"127.0.0.1:{d1.port}")

        d2 = RawDevice(gw, "34020000001320000002")
        status, _ = d2.register(password="12345678", qop=False)
        c.eq("digest without qop (RFC 2069 device): 200", status, 200)
        d3 = RawDevice(gw, "34020000001320000003")
        status, _ = d3.register(password="12345678", realm="hik")
        c.eq("digest with another realm (quirk): 200", status, 200)

        # --- wrong password: 403, stays unregistered
        d4 = RawDevice(gw, "34020000001320000004")
        status, _ = d4.register(password="wrong")
        c.eq("wrong password: 403", status, 403)
        c.ok("wrong password: device not registered", not (device(gw, d4.id) or {}).get("registered"))

        # --- per-device password through the API
        status, obj = gw.api("PUT", f"/api/v1/devices/{d4.id}", {"password": "s3cret", "name": "门口",
                                                                  "media_transport": "tcp-passive"})
        c.ok("PUT password on a new device: 201", status == 201 and obj["password_set"] and obj["name"] == "门口"
             and obj["media_transport"] == "tcp-passive", (status, obj))
        c.eq("the default password no longer works for it", d4.register(password="12345678")[0], 403)
        c.eq("its own password works", d4.register(password="s3cret")[0], 200)
        status, obj = gw.api("PUT", f"/api/v1/devices/{d4.id}", {"media_transport": "carrier-pigeon"})
        c.eq("PUT with a bad media_transport: 400", status, 400)
        status, obj = gw.api("PUT", "/api/v1/devices/bad%20id", {"name": "x"})
        c.ok("PUT on an invalid ID: 400 or 404", status in (400, 404), status)

        # --- keepalive
        c.eq("keepalive from a registered device: 200", d1.message(keepalive_body(d1.id)), 200)
        c.ok("keepalive_at set", (device(gw, d1.id) or {}).get("keepalive_at"))
        stranger = RawDevice(gw, "34020000001320000099")
        c.eq("keepalive from an unknown device: 404", stranger.message(keepalive_body(stranger.id)), 404)
        c.ok("unknown device not created by its keepalive", device(gw, stranger.id) is None)

        # --- a catalog of 20 KB over UDP (more than libre's default 8 KiB datagram buffer)
        items = [(f"3402000000131{i:07d}", f"大门摄像机{i}") for i in range(40)]
        body = catalog_body(d2.id, items)
        c.ok("the catalog body is over 8 KiB", len(body) > 9000, len(body))
        c.eq("big catalog MESSAGE over UDP: 200", d2.message(body), 200)
        gbtest.wait_until(lambda: (device(gw, d2.id) or {}).get("channel_count") == 40, 5, "40 channels")
        status, obj = gw.api("GET", f"/api/v1/devices/{d2.id}/channels")
        names = {ch["id"]: ch["name"] for ch in obj["channels"]} if status == 200 else {}
        c.eq("channel name decoded from GB2312", names.get("34020000001310000007"), "大门摄像机7")
        ch7 = next((ch for ch in obj["channels"] if ch["id"] == "34020000001310000007"), {})
        c.ok("channel fields: parent, civil code, position, PTZ type",
             ch7.get("parent_id") == d2.id and ch7.get("civil_code") == "340200" and ch7.get("ptz_type") == 1
             and abs(ch7.get("longitude", 0) - 117.1) < 1e-9, ch7)

        # --- bad input, all answered, none harmful
        c.eq("Content-Length larger than the body: 400", d1.message(keepalive_body(d1.id), clen=5000), 400)
        bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
                '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><Notify><CmdType>Keepalive</CmdType><SN>1</SN>'
                f'<DeviceID>{d1.id}</DeviceID><Status>&lol3;</Status></Notify>').encode()
        c.eq("XML bomb: 400", d1.message(bomb), 400)
        c.eq("not XML: 400", d1.message(b"\x00\xff garbage <<<"), 400)
        c.eq("truncated XML: 400", d1.message(keepalive_body(d1.id)[:60]), 400)
        unknown = (f'<?xml version="1.0"?><Notify><CmdType>Teleport</CmdType><SN>1</SN>'
                   f'<DeviceID>{d1.id}</DeviceID></Notify>').encode()
        c.eq("unknown CmdType: 200 (ignored)", d1.message(unknown), 200)
        c.eq("MESSAGE from an invalid ID: 400", d1.message(keepalive_body("x"), from_user="bad\"id"), 400)
        d1.request("REGISTER", "Expires: 60\r\n", from_user="")
        c.eq("REGISTER without a user in From: 400", d1.response("REGISTER")[0], 400)
        big = b"<Notify>" + b"A" * 60000 + b"</Notify>"
        c.eq("60 KB body of junk over UDP: 400", d1.message(big), 400)

        # --- TCP: registration and a request back over the same connection
        t1 = RawDevice(gw, "34020000001320000011", tcp=True)
        c.eq("REGISTER over TCP: 200", t1.register(password="12345678")[0], 200)
        first, hdrs, _ = t1.recv(5)
        while first.startswith("SIP/2.0"):
            first, hdrs, _ = t1.recv(5)
        c.ok("the gateway's query came back over the device's TCP connection", first.startswith("MESSAGE "), first)
        t1.answer_request(first, hdrs)
        c.eq("API: transport tcp", (device(gw, t1.id) or {}).get("transport"), "tcp")

        # --- unregister
        c.eq("Expires: 0 unregisters: 200", d3.register(password="12345678", expires=0)[0], 200)
        dev = device(gw, d3.id) or {}
        c.ok("unregistered device offline", dev.get("online") is False and dev.get("registered") is False, dev)
        c.eq("keepalive after unregister: 404", d3.message(keepalive_body(d3.id)), 404)

        # --- the registry survived all of this
        status, obj = gw.api("GET", "/api/v1/devices")
        ids = sorted(d["id"] for d in obj["devices"]) if status == 200 else []
        c.eq("registry holds exactly the devices that registered or were added",
             ids, sorted([d1.id, d2.id, d3.id, d4.id, t1.id]))
        c.ok("gateway alive", gw.alive())
        for d in (d1, d2, d3, d4, stranger, t1):
            d.close()
    finally:
        code = gw.stop()
    c.eq("gbgate exits 0 on SIGTERM", code, 0)

    # --- second gateway: auth off, no Date header, keepalive timeout, partial catalog, periodic catalog refresh
    gw2 = gbtest.Gateway(overrides={"sip.auth": "off", "sip.date_header": "off", "sip.keepalive_timeout_s": 10,
                                    "sip.catalog_timeout_s": 2, "sip.catalog_interval_s": 4},
                         name="sip_protocol_noauth")
    try:
        d = RawDevice(gw2, "34020000001320000021")
        status, hdrs = d.register(password=None)
        t0 = time.monotonic()
        c.eq("sip.auth=off: REGISTER accepted without Authorization", status, 200)
        c.ok("sip.date_header=off: no Date", "date" not in hdrs, hdrs)

        cat = RawDevice(gw2, "34020000001320000022")
        c.eq("second device registered", cat.register(password=None)[0], 200)
        sn = cat.wait_query("Catalog")
        c.ok("Catalog queried after the registration", sn > 0)
        items = [("34020000001310000221", "一号"), ("34020000001310000222", "二号")]
        body = catalog_body(cat.id, items, sum_num=3).replace(b"<SN>9</SN>", f"<SN>{sn}</SN>".encode())
        c.eq("2 of SumNum 3 items: 200", cat.message(body), 200)
        t_part = time.monotonic()
        gbtest.wait_until(lambda: (device(gw2, cat.id) or {}).get("catalog_at"), 6, "partial catalog kept")
        c.ok("partial catalog kept after sip.catalog_timeout_s", 1.5 <= time.monotonic() - t_part <= 4.5,
             time.monotonic() - t_part)
        c.eq("partial catalog: 2 channels", (device(gw2, cat.id) or {}).get("channel_count"), 2)
        t_ref = time.monotonic()
        cat.wait_query("Catalog", timeout=10)
        c.ok("periodic refresh: Catalog queried again after sip.catalog_interval_s (4 s)",
             2.5 <= time.monotonic() - t_ref <= 7, time.monotonic() - t_ref)
        cat.close()

        gbtest.wait_until(lambda: (device(gw2, d.id) or {}).get("online") is False, 20, "keepalive timeout")
        waited = time.monotonic() - t0
        c.ok("offline after sip.keepalive_timeout_s (10 s) without keepalives", 8.5 <= waited <= 14, waited)
        c.eq("keepalive from the timed-out but registered device: 200", d.message(keepalive_body(d.id)), 200)
        c.ok("back online", (device(gw2, d.id) or {}).get("online") is True)
        d.close()
    finally:
        c.eq("gbgate (auth off) exits 0", gw2.stop(), 0)

    gw3 = gbtest.Gateway(overrides={"sip.auth_ban_failures": 3, "sip.auth_ban_s": 3, "sip.nonce_lifetime_s": 1},
                         name="sip_protocol_ban")
    try:
        # --- a nonce answered after sip.nonce_lifetime_s: 401 stale=true, not a failure (no 403, no ban)
        slow = RawDevice(gw3, "34020000001320000033")
        status, hdrs = slow.register(password="12345678", answer_after_s=2.5)
        c.eq("nonce older than sip.nonce_lifetime_s: 401", status, 401)
        c.ok("... with stale=true and a fresh nonce", "stale=true" in hdrs.get("www-authenticate", "").lower(),
             hdrs.get("www-authenticate"))
        c.eq("answering the fresh nonce at once: 200", slow.register(password="12345678")[0], 200)

        def stale_count():  # /metrics is a snapshot the control thread refreshes, so wait for it
            lines = gbtest.http_get_bytes(gw3.url("/metrics"), 1 << 20).decode().splitlines()
            return [float(x.split()[-1]) for x in lines if x.startswith("gbgate_sip_auth_stale_nonce_total")][0]
        try:
            counted = gbtest.wait_until(lambda: stale_count() >= 1, 5, "the stale nonce in /metrics")
        except TimeoutError as e:
            counted = e
        c.ok("stale nonces counted in /metrics", counted is True, counted)
        slow.close()

        bad = RawDevice(gw3, "34020000001320000031")
        codes = [bad.register(password="nope")[0] for _ in range(3)]
        c.eq("three wrong passwords: 403 each", codes, [403, 403, 403])
        bad.request("REGISTER", "Expires: 3600\r\n")
        status, hdrs, _ = bad.response("REGISTER")
        c.eq("banned: even the first REGISTER gets 403 without a challenge", status, 403)
        other = RawDevice(gw3, "34020000001320000032")
        c.eq("the ban covers the address: another ID from it gets 403", other.register(password="12345678")[0], 403)
        time.sleep(3.5)
        c.eq("after sip.auth_ban_s the right password works", bad.register(password="12345678")[0], 200)
        bad.close()
        other.close()
    finally:
        c.eq("gbgate (ban) exits 0", gw3.stop(), 0)
    c.summary([gw, gw2, gw3])


if __name__ == "__main__":
    main()
