"""A real SMTP server for Wijklog's tests (aiosmtpd), on loopback only.

    python smtp_sink.py PORT DIR [--refuse-first N] [--hold-first SECS]

Listens on 127.0.0.1:PORT. Every message it accepts is written to DIR as
<n>.eml (the raw message as received) plus <n>.json (the envelope sender and
recipients, and the decoded Subject, Message-ID, From, To and text body), the
.json last and atomically, so a reader that sees the .json can read it all. Prints "ready" on stdout once it listens; stops on
SIGTERM/SIGINT. With --refuse-first N, the first N DATA commands are
answered "451 try again later" (a transient refusal). With --hold-first SECS,
the first accepted message is stored and then its "250" answer is held back
for SECS seconds (a client killed meanwhile never learns it was accepted).
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import sys

try:
    from aiosmtpd.controller import Controller
except ImportError:
    sys.stderr.write(
        "aiosmtpd is not installed for this python (%s); run `make smtp-venv`\n" % sys.executable
    )
    sys.exit(3)


class Sink:
    def __init__(self, directory, refuse_first, hold_first):
        self.directory = directory
        self.refuse_left = refuse_first
        self.hold = hold_first
        self.count = len([f for f in os.listdir(directory) if f.endswith(".json")])

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_left > 0:
            self.refuse_left -= 1
            return "451 4.3.0 try again later"
        self.count += 1
        base = os.path.join(self.directory, "%05d" % self.count)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        with open(base + ".eml", "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp = base + ".json.tmp"
        with open(tmp, "w") as f:
            msg = email.message_from_bytes(data, policy=email.policy.default)
            body = msg.get_body(preferencelist=("plain",))
            json.dump(
                {
                    "envelope_from": envelope.mail_from,
                    "envelope_to": list(envelope.rcpt_tos),
                    "from": str(msg.get("From", "")),
                    "to": str(msg.get("To", "")),
                    "subject": str(msg.get("Subject", "")),
                    "message_id": str(msg.get("Message-ID", "")),
                    "body": body.get_content() if body is not None else "",
                },
                f,
            )
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, base + ".json")
        if self.hold > 0:
            hold, self.hold = self.hold, 0
            await asyncio.sleep(hold)
        return "250 OK"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("directory")
    ap.add_argument("--refuse-first", type=int, default=0)
    ap.add_argument("--hold-first", type=float, default=0)
    a = ap.parse_args()
    os.makedirs(a.directory, exist_ok=True)
    controller = Controller(
        Sink(a.directory, a.refuse_first, a.hold_first),
        hostname="127.0.0.1",
        port=a.port,
        decode_data=False,
    )
    controller.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
