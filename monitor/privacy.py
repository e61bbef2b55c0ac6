"""What a mention may keep about people: PII redacted to typed placeholders, ids pseudonymised.

Redaction runs on every stored text, whichever source it came from, and is idempotent: the
placeholders themselves never match again.

>>> redact_text("Mail ana.b+crisis@mail.example.com or call +44 20 7946 0958")
'Mail [EMAIL] or call [PHONE]'
>>> redact_text("Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, from 10.0.0.7")
'Card [CARD], IBAN [IBAN], from [IP]'
>>> redact_text("Order 4111 1111 1111 1112 shipped at 10:42 on 2024-03-14")
'Order 4111 1111 1111 1112 shipped at 10:42 on 2024-03-14'
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
CARD = "[CARD]"
IBAN = "[IBAN]"
IP = "[IP]"

DEFAULT_PHONE_REGION = "US"

# Local part as people write it (RFC 5322 allows more, e.g. '/' and '=', which would swallow
# URL paths and query strings); the domain's labels, and a TLD of 2+ letters.
_EMAIL_RE = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24}\b"
)
# 13-19 digits, optionally grouped by single spaces or dashes (as printed on cards).
_CARD_RE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# Country code, check digits, then 11-30 alphanumerics, optionally in groups of four.
_IBAN_RE = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}\b")
_IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)")
_IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_DIGITS_RE = re.compile(r"\d")

PSEUDONYM_PREFIX = "psn:"
PSEUDONYM_KEY_FILE = "pseudonym.key"  # this install's key, in the data folder
MIN_KEY_LENGTH = 16
_PSEUDONYM_RE = re.compile(r"^psn:[0-9a-f]{24}$")


def _cards(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _CARD_RE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if luhn.is_valid(digits):
            spans.append(match.span())
    return spans


def _ibans(text: str) -> list[tuple[int, int]]:
    """Valid IBANs; the pattern may run on into following words, so try shorter cuts too."""
    spans = []
    for match in _IBAN_RE.finditer(text):
        found = match.group()
        # Cut points: the end of the match and each space inside it, longest first.
        cuts = [len(found)] + [i for i in range(len(found) - 1, 0, -1) if found[i] == " "]
        for cut in cuts:
            if stdnum_iban.is_valid(found[:cut].upper()):
                spans.append((match.start(), match.start() + cut))
                break
    return spans


def _ips(text: str) -> list[tuple[int, int]]:
    spans = []
    for pattern in (_IPV4_RE, _IPV6_RE):
        for match in pattern.finditer(text):
            candidate = match.group()
            if candidate.count(":") < 2 and ":" in candidate:
                continue
            try:
                ipaddress.ip_address(candidate)
            except ValueError:
                continue
            spans.append(match.span())
    return spans


def _emails(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _EMAIL_RE.finditer(text)]


@dataclass(frozen=True, slots=True)
class Redactor:
    """Replaces emails, phone numbers, Luhn-valid card numbers, IBANs and IP addresses.

    ``phone_region`` is the ISO country whose national formats count as phone numbers
    (``+``-prefixed international numbers are found whatever it is).
    """

    phone_region: str = DEFAULT_PHONE_REGION

    def redact(self, text: str) -> str:
        # Order matters: an email can hold digits, a card number looks like a phone number.
        text = _replace(text, _emails(text), EMAIL)
        if len(_DIGITS_RE.findall(text)) < 4:
            return text  # every other kind needs digits
        finders: list[tuple[str, Callable[[str], list[tuple[int, int]]]]] = [
            (CARD, _cards),
            (IBAN, _ibans),
            (IP, _ips),
            (PHONE, self._phones),
        ]
        for placeholder, find in finders:
            text = _replace(text, find(text), placeholder)
        return text

    def _phones(self, text: str) -> list[tuple[int, int]]:
        if len(_DIGITS_RE.findall(text)) < 7:
            return []
        matcher = phonenumbers.PhoneNumberMatcher(
            text, self.phone_region, leniency=phonenumbers.Leniency.VALID, max_tries=200
        )
        return [(match.start, match.end) for match in matcher]


def _replace(text: str, spans: list[tuple[int, int]], placeholder: str) -> str:
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if start < position:  # overlapping finds: the first one already covers it
            continue
        parts.append(text[position:start])
        parts.append(placeholder)
        position = end
    parts.append(text[position:])
    return "".join(parts)


_DEFAULT_REDACTOR = Redactor()


def redact_text(text: str, redactor: Redactor = _DEFAULT_REDACTOR) -> str:
    """``text`` with PII replaced by typed placeholders such as ``[EMAIL]``."""
    return redactor.redact(text)


def redact_emails(text: str) -> str:
    """Only emails: for URLs, where digit runs are ids, not phone numbers.

    >>> redact_emails("https://x.example/u?mail=ana@example.org&id=4155552671")
    'https://x.example/u?mail=[EMAIL]&id=4155552671'
    """
    return _replace(text, _emails(text), EMAIL)


class PseudonymKeyMissing(ValueError):
    """An identity must be pseudonymised but CRISISMON_PSEUDONYM_KEY is not set."""


class PseudonymKeyError(RuntimeError):
    """No pseudonym key can be had (a damaged or unwritable key file, or several machines
    without a shared key); one readable line."""


logger = logging.getLogger(__name__)


def install_key(path: Path) -> str:
    """This install's pseudonym key, read from ``path``, or made there on first use.

    The file is written whole (mode 0600) under a temporary name and then hard-linked into
    place, which fails if it exists: when two processes start together, one key wins and both
    use it. Only the process that made the key says so, and never prints it.
    """
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    except OSError as exc:
        raise PseudonymKeyError(_cannot_write(path, exc)) from exc
    try:
        key = secrets.token_hex(32)
        with os.fdopen(fd, "w") as out:
            out.write(key + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read_key(path)  # another process made it first
        except OSError as exc:
            raise PseudonymKeyError(_cannot_write(path, exc)) from exc
    finally:
        os.unlink(temporary)
    logger.warning(
        "generated a pseudonym key at %s; back it up: losing it changes every pseudonym", path
    )
    return key


def _read_key(path: Path) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        key = ""
    except FileNotFoundError:
        raise  # install_key makes one
    except OSError as exc:
        raise PseudonymKeyError(f"cannot read the pseudonym key file {path}: {exc}") from exc
    if len(key) < MIN_KEY_LENGTH:
        raise PseudonymKeyError(
            f"the pseudonym key file {path} holds no usable key: restore it from your backup "
            "(a new key changes every pseudonym), or set CRISISMON_PSEUDONYM_KEY"
        )
    return key


def _cannot_write(path: Path, exc: OSError) -> str:
    reason = exc.strerror or type(exc).__name__
    return (
        f"cannot create the pseudonym key file {path} ({reason}): make the data folder "
        "writable, or set CRISISMON_PSEUDONYM_KEY (e.g. to `openssl rand -hex 32`)"
    )


@dataclass(frozen=True, slots=True)
class Pseudonymiser:
    """Keyed HMAC-SHA256 of an identity: stable per key, not reversible without it.

    >>> p = Pseudonymiser(b"k" * 32)
    >>> p.pseudonym("customer", "Ana@Example.com") == p.pseudonym("customer", " ana@example.com")
    True
    >>> p.pseudonym("author", "ana").startswith("psn:")
    True
    >>> p.pseudonym("author", p.pseudonym("author", "ana")) == p.pseudonym("author", "ana")
    True
    """

    key: bytes | None

    def pseudonym(self, kind: str, value: str) -> str:
        """The pseudonym of ``value``; a value that already is one passes through."""
        if is_pseudonym(value):
            return value
        if not self.key:
            raise PseudonymKeyMissing(
                f"{kind} {_hint(value)} must be pseudonymised before it is stored, but "
                "CRISISMON_PSEUDONYM_KEY is not set: set it (e.g. to "
                "`openssl rand -hex 32`) or leave the field out"
            )
        message = f"{kind}\x1f{value.strip().casefold()}".encode()
        digest = hmac.new(self.key, message, hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + digest[:24]


CUSTOMER_ID = "customer_id"  # the pseudonym kind of the customer ids mentions carry


def customer_pseudonym(pseudonymiser: Pseudonymiser, external_id: str) -> str:
    """The id a mention carries for this customer: how customers and mentions meet.

    >>> p = Pseudonymiser(b"k" * 32)
    >>> customer_pseudonym(p, "C-1001") == p.pseudonym("customer_id", "c-1001 ")
    True
    """
    return pseudonymiser.pseudonym(CUSTOMER_ID, external_id)


def _hint(value: str) -> str:
    """Name a field without echoing the identity it holds."""
    return f"({len(value)} characters)"


def is_pseudonym(value: str) -> bool:
    return bool(_PSEUDONYM_RE.match(value))


@dataclass(frozen=True, slots=True)
class Privacy:
    """The per-mention privacy rules a parser applies: one bundle, passed explicitly."""

    redactor: Redactor = _DEFAULT_REDACTOR
    pseudonymiser: Pseudonymiser = Pseudonymiser(None)

    @classmethod
    def from_key(cls, key: str | None, *, phone_region: str = DEFAULT_PHONE_REGION) -> Privacy:
        return cls(Redactor(phone_region), Pseudonymiser(key.encode() if key else None))

    @property
    def can_pseudonymise(self) -> bool:
        return bool(self.pseudonymiser.key)


NO_KEY = Privacy()
