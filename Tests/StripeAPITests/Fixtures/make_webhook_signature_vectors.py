#!/usr/bin/env python3
"""Webhook signature test vectors from an independent implementation: Stripe's own
Python SDK (`stripe` on PyPI). StripeWebhookSignatureTests runs every case through our
Swift verifier and checks it reaches stripe-python's verdict.

Rerun (from the repository root), then review the diff:

    pip install stripe
    python3 Tests/StripeAPITests/Fixtures/make_webhook_signature_vectors.py

The committed webhook_signature_vectors.json was made with stripe-python 16.1.0 (the
version is recorded in the file, under "generator").

Signing uses stripe.WebhookSignature._compute_signature (HMAC-SHA256 over "<t>.<body>"
keyed with the whole whsec_ secret); each verdict is stripe.WebhookSignature.verify_header
with time.time patched to the case's fixed `now`, so the file is reproducible.

Where ChittyCharge deliberately differs from stripe-python, the case carries
"chittycharge_differs" (why) and the Swift test asserts our own outcome for it
explicitly. stripe-python's verdict is still recorded as it is:

- Future timestamps: stripe-python only rejects timestamps OLDER than the tolerance
  (`timestamp < time.time() - tolerance`); a timestamp any distance in the future is
  accepted. Our verifier rejects beyond the tolerance either way, so a captured
  signature cannot be post-dated to stay replayable for longer.
- Uppercase hex: stripe-python compares hex strings, so an uppercase v1 never matches.
  Our verifier decodes the hex and compares bytes, so the case of the digits does not
  matter (Stripe itself only sends lowercase).
- A stray element without '=': stripe-python ignores it; our verifier rejects the whole
  header as malformed (Stripe never sends one).
"""

import json
import os
import time
from unittest import mock

import stripe
from stripe import WebhookSignature

SECRET = "whsec_test_chittycharge_0123456789abcdef"
OTHER_SECRET = "whsec_test_some_other_endpoint_secret00"
NOW = 1_750_000_000
TOLERANCE = 300
PAYLOAD = (
    '{"id":"evt_1QvectorAAAAAAAAAAAAAAAA","object":"event","api_version":"2024-06-20",'
    '"created":1749999990,"data":{"object":{"id":"pi_3QvectorAAAAAAAAAAAAAAAA",'
    '"object":"payment_intent","amount":5000,"amount_capturable":5000,'
    '"status":"requires_capture"}},"livemode":false,'
    '"type":"payment_intent.amount_capturable_updated"}'
)
UNICODE_PAYLOAD = (
    '{"id":"evt_1QunicodeAAAAAAAAAAAAAAA","object":"event","data":{"object":'
    '{"description":"Chambre \u00e0 Z\u00fcrich \u2014 caf\u00e9 \u2615, \u6771\u4eac, '
    '\U0001F3E8","metadata":{"guest":"Ren\u00e9e O\u2019Brien"}}},'
    '"type":"payment_intent.canceled"}'
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "webhook_signature_vectors.json")


def sign(payload, secret, timestamp):
    """The v1 signature stripe-python computes for this payload, secret and t."""
    return WebhookSignature._compute_signature("%d.%s" % (timestamp, payload), secret)


def stripe_verdict(payload, header, secret, now, tolerance):
    """stripe-python's verdict with the clock fixed at `now`."""
    with mock.patch("time.time", return_value=float(now)):
        try:
            WebhookSignature.verify_header(payload, header, secret, tolerance)
            return {"valid": True}
        except stripe.SignatureVerificationError as error:
            return {"valid": False, "error": str(error), "error_kind": classify(str(error))}


def classify(message):
    """A stable name for stripe-python's error, which the Swift test maps to ours."""
    if message.startswith("No Stripe-Signature header"):
        return "missing_header"
    if message.startswith("Unable to extract timestamp and signatures"):
        return "unparsable_header"
    if message.startswith("No signatures found with expected scheme"):
        return "no_v1_signature"
    if message.startswith("No signatures found matching"):
        return "no_matching_signature"
    if message.startswith("Timestamp outside the tolerance zone"):
        return "timestamp_outside_tolerance"
    raise ValueError("unclassified stripe-python error: %r" % message)


def case(name, description, payload, header, secret=SECRET, now=NOW, tolerance=TOLERANCE, differs=None):
    entry = {
        "name": name,
        "description": description,
        "payload": payload,
        "header": header,
        "secret": secret,
        "now": now,
        "tolerance": tolerance,
        "stripe": stripe_verdict(payload, header, secret, now, tolerance),
    }
    if differs:
        entry["chittycharge_differs"] = differs
    return entry


def main():
    t = NOW - 5
    good = sign(PAYLOAD, SECRET, t)
    other = sign(PAYLOAD, OTHER_SECRET, t)
    one_byte_changed = PAYLOAD.replace('"amount":5000', '"amount":6000', 1)
    assert len(one_byte_changed) == len(PAYLOAD) and one_byte_changed != PAYLOAD

    cases = [
        case("valid", "Signed with the endpoint's secret, 5 s old.",
             PAYLOAD, "t=%d,v1=%s" % (t, good)),
        case("wrong_secret", "Signed with another endpoint's secret.",
             PAYLOAD, "t=%d,v1=%s" % (t, other)),
        case("modified_body", "One byte of the body changed after signing (5000 -> 6000).",
             one_byte_changed, "t=%d,v1=%s" % (t, good)),
        case("stale", "Correctly signed, but t is 301 s before now (tolerance 300 s).",
             PAYLOAD, "t=%d,v1=%s" % (NOW - 301, sign(PAYLOAD, SECRET, NOW - 301))),
        case("stale_at_boundary", "Correctly signed, t exactly 300 s before now: still inside.",
             PAYLOAD, "t=%d,v1=%s" % (NOW - 300, sign(PAYLOAD, SECRET, NOW - 300))),
        case("future_beyond_tolerance",
             "Correctly signed, t is 3600 s after now.",
             PAYLOAD, "t=%d,v1=%s" % (NOW + 3600, sign(PAYLOAD, SECRET, NOW + 3600)),
             differs="stripe-python accepts any future timestamp; ChittyCharge rejects beyond "
                     "the tolerance either way (timestampOutsideTolerance)."),
        case("two_v1_second_matches",
             "Two v1 signatures (secret rotation): the first from an old secret, the second ours.",
             PAYLOAD, "t=%d,v1=%s,v1=%s" % (t, other, good)),
        case("v0_only", "Only a v0 signature (even one that would match): the v1 scheme is required.",
             PAYLOAD, "t=%d,v0=%s" % (t, good)),
        case("v0_and_matching_v1", "A v0 next to a matching v1: v0 is ignored.",
             PAYLOAD, "t=%d,v0=%s,v1=%s" % (t, other, good)),
        case("missing_t", "A matching v1 but no t=.",
             PAYLOAD, "v1=%s" % good),
        case("missing_header", "No Stripe-Signature header at all.",
             PAYLOAD, ""),
        case("malformed_header", "Not a list of key=value pairs.",
             PAYLOAD, "this is not a signature header"),
        case("non_numeric_t", "t= is not an integer.",
             PAYLOAD, "t=yesterday,v1=%s" % good),
        case("stray_element",
             "A valid t and v1 with a stray element that has no '='.",
             PAYLOAD, "t=%d,garbage,v1=%s" % (t, good),
             differs="stripe-python ignores elements without '='; ChittyCharge rejects the header "
                     "as malformed (malformedHeader)."),
        case("uppercase_hex", "The matching v1 written in uppercase hex.",
             PAYLOAD, "t=%d,v1=%s" % (t, good.upper()),
             differs="stripe-python compares hex strings case-sensitively; ChittyCharge compares "
                     "the decoded bytes, so uppercase hex is accepted."),
        case("non_hex_v1_then_match", "A v1 that is not hex, then the matching v1.",
             PAYLOAD, "t=%d,v1=not-hex-at-all,v1=%s" % (t, good)),
        case("truncated_signature", "The matching v1 with its last two hex digits cut off.",
             PAYLOAD, "t=%d,v1=%s" % (t, good[:-2])),
        case("extreme_negative_t",
             "A correctly signed, absurdly old t (the most negative 64-bit integer).",
             PAYLOAD, "t=%d,v1=%s" % (-(2**63), sign(PAYLOAD, SECRET, -(2**63)))),
        case("unicode_payload", "A body with non-ASCII characters (signed over its UTF-8 bytes).",
             UNICODE_PAYLOAD, "t=%d,v1=%s" % (t, sign(UNICODE_PAYLOAD, SECRET, t))),
        case("unicode_payload_modified", "The unicode body with one character changed after signing.",
             UNICODE_PAYLOAD.replace("\u00e9", "e", 1), "t=%d,v1=%s" % (t, sign(UNICODE_PAYLOAD, SECRET, t))),
    ]

    document = {
        "generator": {
            "script": "Tests/StripeAPITests/Fixtures/make_webhook_signature_vectors.py",
            "package": "stripe (PyPI)",
            "version": stripe.VERSION,
            "functions": ["stripe.WebhookSignature._compute_signature",
                          "stripe.WebhookSignature.verify_header"],
        },
        "notes": [
            "payload is the raw body as text; it is signed and verified as its UTF-8 bytes.",
            "now and t are Unix seconds; stripe-python's time.time is patched to now.",
            "stripe.error_kind names stripe-python's error; the Swift test maps it to ours.",
            "chittycharge_differs marks a deliberate difference, asserted explicitly by the test.",
        ],
        "cases": cases,
    }
    with open(OUTPUT, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2, ensure_ascii=False)
        file.write("\n")
    print("wrote %d cases to %s (stripe-python %s)" % (len(cases), OUTPUT, stripe.VERSION))


if __name__ == "__main__":
    main()
