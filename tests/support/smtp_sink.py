"""A real SMTP receiver for aduan's email tests (Debian's python3-aiosmtpd).

Usage: smtp_sink.py PORT DIR
Accepts mail on 127.0.0.1:PORT with AUTH PLAIN/LOGIN (user `aduan`, password `rahasia`,
allowed without TLS on loopback) and writes each message to DIR/<n>.eml atomically, with the
envelope recipients on the first line as `X-Envelope-To:`. A recipient whose local part starts
with `tolak` is refused with 550 (permanent), `tunda` with 451 (transient).
"""
import asyncio
import os
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.dir = directory

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("tolak"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("tunda"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = "%d-%d" % (time.time_ns(), os.getpid())
        tmp = os.path.join(self.dir, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(("X-Envelope-To: %s\r\n" % ",".join(envelope.rcpt_tos)).encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.dir, name + ".eml"))
        return "250 2.0.0 accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"aduan" and auth_data.password == b"rahasia"
    return AuthResult(success=ok)


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    c = Controller(
        Sink(directory),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    c.start()
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()


if __name__ == "__main__":
    main()
