#!/usr/bin/env python3
"""Writes the unsigned messages of the end-to-end benchmark (tests/bench/e2e-bench.sh).

Why: every setup of the benchmark must carry exactly the same bytes, and the messages must look
like what a campus mail server really gets, so that ecomm-milter's checks all run on them:
  5k.eml       5 KB text/plain from the registered sender (to be DKIM-signed)
  60k-html.eml 60 KB HTML newsletter, multipart/alternative (text + HTML, quoted-printable),
               List-Unsubscribe in the header and an unsubscribe link in the HTML (to be signed)
  1m.eml       1 MB report, multipart/alternative (text quoted-printable + HTML base64), no
               attachment: the registered sender may not send one (to be signed)
  5k-unsigned.eml  5 KB text/plain from an external sender, never signed
Sizes are of the whole message before signing (a 2048-bit signature adds about 0.6 KB).
Lines end in LF: smtp-source -F sends each line with CRLF.  The text is pseudo-random words
from a fixed seed, so every run sends the same bytes.

Usage:  make-messages.py OUTDIR SENDER_DOMAIN EXTERNAL_DOMAIN RECIPIENT
Run by: tests/bench/e2e-bench.sh (which signs the three signed ones with dkimsign).
"""
import base64
import os
import quopri
import random
import sys

WORDS = ("campus student faculty research library semester registration advising tuition "
         "housing dining parking athletics commencement scholarship deadline seminar lecture "
         "department office calendar event workshop grant laboratory alumni giving community "
         "health wellness safety transit weather closure reminder update newsletter report "
         "budget committee provost dean chair graduate undergraduate international").split()


def words(rng, size):
    """Plain text of about SIZE bytes in lines of at most 76 characters."""
    lines, line, total = [], [], 0
    while total < size:
        word = rng.choice(WORDS)
        if sum(len(w) + 1 for w in line) + len(word) > 72:
            text = " ".join(line).capitalize() + "."
            lines.append(text)
            total += len(text) + 1
            line = []
        line.append(word)
    return "\n".join(lines) + "\n"


def html(rng, size, unsubscribe):
    """An HTML newsletter of about SIZE bytes, with an unsubscribe link at the end."""
    parts = ['<!DOCTYPE html>', '<html><head><meta charset="utf-8"><title>Campus News</title>',
             '<style>body{font-family:sans-serif}td{padding:8px}</style></head>',
             '<body><table width="600" align="center">']
    total = sum(len(p) for p in parts)
    n = 0
    while total < size - 400:
        n += 1
        block = ('<tr><td><h2>%s</h2><p>%s</p><p><a href="https://news.example.edu/story/%d">'
                 'Read more</a></p></td></tr>' % (words(rng, 40).strip(),
                                                  words(rng, 600).replace("\n", " ").strip(), n))
        parts.append(block)
        total += len(block)
    parts.append('<tr><td><small>You receive this as a member of the campus community. '
                 '<a href="%s">Unsubscribe</a> or <a href="%s">manage your preferences</a>.'
                 '</small></td></tr></table></body></html>' % (unsubscribe, unsubscribe + "/prefs"))
    return "\n".join(parts) + "\n"


def qp(text):
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def b64(text):
    data = base64.encodebytes(text.encode("utf-8")).decode("ascii")   # 76-character lines
    return data


def headers(sender, recipient, subject, ident, extra):
    lines = ["From: %s" % sender, "To: %s" % recipient, "Subject: %s" % subject,
             "Date: Mon, 30 Nov 2026 09:00:00 -0700",
             "Message-ID: <%s@bench.example.edu>" % ident, "MIME-Version: 1.0"]
    return "\n".join(lines + extra) + "\n"


def alternative(rng, boundary, text_part, html_part):
    return ("This is a multi-part message in MIME format.\n\n"
            "--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n%s\n"
            "--%s\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: %s\n\n%s\n"
            "--%s--\n" % (boundary, text_part, boundary, html_part[0], html_part[1], boundary))


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    out, domain, external, recipient = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(7)
    sender = '"Campus News" <news@%s>' % domain
    unsubscribe = "https://%s/unsubscribe/bench7" % domain
    listed = ["List-Unsubscribe: <mailto:unsubscribe-bench7@%s>, <%s>" % (domain, unsubscribe),
              "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
              "List-Id: Campus News <news.%s>" % domain]
    plain = ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 7bit"]

    def write(name, text):
        with open(os.path.join(out, name), "w", encoding="ascii", newline="\n") as f:
            f.write(text)

    head = headers(sender, recipient, "Campus news: this week", "bench-5k", listed + plain)
    write("5k.eml", head + "\n" + words(rng, 5 * 1024 - len(head) - 1))

    boundary = "=_bench_60k_boundary"
    head = headers(sender, recipient, "Campus News: the November issue", "bench-60k",
                   listed + ['Content-Type: multipart/alternative; boundary="%s"' % boundary])
    body = alternative(rng, boundary, qp(words(rng, 12 * 1024)),
                       ("quoted-printable", qp(html(rng, 46 * 1024, unsubscribe))))
    write("60k-html.eml", head + "\n" + body)

    boundary = "=_bench_1m_boundary"
    head = headers(sender, recipient, "Campus News: annual report", "bench-1m",
                   listed + ['Content-Type: multipart/alternative; boundary="%s"' % boundary])
    body = alternative(rng, boundary, qp(words(rng, 240 * 1024)),
                       ("base64", b64(html(rng, 570 * 1024, unsubscribe))))
    write("1m.eml", head + "\n" + body)

    head = headers("Conference Desk <desk@%s>" % external, recipient, "Call for papers",
                   "bench-5k-unsigned", plain)
    write("5k-unsigned.eml", head + "\n" + words(rng, 5 * 1024 - len(head) - 1))


if __name__ == "__main__":
    main()
