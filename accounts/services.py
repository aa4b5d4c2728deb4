"""Writes about a person's sign-in: two-factor devices and sessions. Each view or admin action calls one.

Two-factor sign-in uses django-otp: one TOTP device (an authenticator app) and one
static device holding the backup codes, each code good once. CME staff must have both;
provider users may.
"""

import math
from base64 import b32decode, b32encode
from dataclasses import dataclass

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp.models import MAX_THROTTLE_DELAY_SECONDS
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

User = get_user_model()

BACKUP_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_CODES_NAME = "Backup codes"

WRONG_CODE = "That code is not right. Enter the 6-digit code your app shows now, or one of your backup codes."
WRONG_FIRST_CODE = (
    "That code is not right. Check that the time on your phone is correct, then enter the code the app shows now."
)
TOO_MANY_CODES = "Too many wrong codes. Wait {seconds} seconds, then enter the code your app shows."
STAFF_KEEP_TWO_FACTOR = "CME staff keep two-factor sign-in on: it is required for the admin."
RESET_LOGGED = "Two-factor sign-in reset: the person enrols again at their next sign-in."


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    backup_codes: tuple[str, ...]


@dataclass(frozen=True)
class CodeCheck:
    """The device that accepted the code (None: refused), and for how long checking is paused."""

    device: TOTPDevice | StaticDevice | None
    wait_seconds: int = 0


@dataclass(frozen=True)
class TwoFactorRemoved:
    devices_removed: int


def two_factor_secret_new() -> str:
    """A new TOTP secret, as the hex django-otp stores (20 random bytes)."""
    return random_hex(20)


def two_factor_secret_text(key: str) -> str:
    """The secret as authenticator apps and oathtool take it: base32, without padding."""
    return b32encode(bytes.fromhex(key)).decode("ascii").rstrip("=")


def two_factor_key_from_text(text: str) -> str:
    """The hex key of a base32 secret (two_factor_secret_text's inverse)."""
    padded = text.upper() + "=" * (-len(text) % 8)
    return b32decode(padded).hex()


def two_factor_config_url(*, person: User, key: str) -> str:
    """The otpauth:// address the QR code holds, issuer and account name included."""
    return TOTPDevice(user=person, key=key, name=AUTHENTICATOR_NAME).config_url


def _backup_codes_replace(person: User) -> tuple[str, ...]:
    StaticDevice.objects.filter(user=person).delete()
    device = StaticDevice.objects.create(user=person, name=BACKUP_CODES_NAME, confirmed=True)
    codes = tuple(StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT))
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def two_factor_enrol(*, person: User, key: str, code: str) -> Enrolment:
    """Turn on two-factor sign-in with the secret the person's app holds, proven by a first code.

    Replaces any earlier device and backup codes. The first code is used up, as any code
    is once accepted. Raises ValidationError(WRONG_FIRST_CODE) if the code does not match.
    """
    with transaction.atomic():  # a wrong code raises out of it: nothing changes, an earlier device stays
        TOTPDevice.objects.filter(user=person).delete()
        device = TOTPDevice.objects.create(user=person, key=key, name=AUTHENTICATOR_NAME, confirmed=False)
        if not device.verify_token(code.strip()):
            raise ValidationError(WRONG_FIRST_CODE, code="wrong_code")
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return Enrolment(device=device, backup_codes=_backup_codes_replace(person))


def two_factor_verify(*, person: User, code: str) -> CodeCheck:
    """Check a code from the app, or a backup code (used up once accepted), against the person's devices.

    Each device pauses after wrong codes (django-otp's throttling: 2**(n-1) seconds after the
    n-th wrong code in a row); a paused device checks nothing until the pause
    is over. The caller also counts a refused code as a failed sign-in (django-axes).
    """
    code = code.strip().replace(" ", "").lower()
    # Six digits are the app's; anything else can only be a backup code: a mistyped
    # backup code does not pause the app's codes, nor the other way round.
    model = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    wait = 0
    with transaction.atomic():
        for device in model.objects.select_for_update().filter(user=person, confirmed=True):
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                wait = max(wait, _seconds_left(device))
            elif device.verify_token(code):
                return CodeCheck(device=device)
    return CodeCheck(device=None, wait_seconds=wait)


def _seconds_left(device) -> int:
    pause = min(device.get_throttle_factor() * 2 ** (device.throttling_failure_count - 1), MAX_THROTTLE_DELAY_SECONDS)
    elapsed = (timezone.now() - device.throttling_failure_timestamp).total_seconds()
    return max(1, math.ceil(pause - elapsed))


def _sessions_end(person: User) -> None:
    User.objects.filter(pk=person.pk).update(session_version=F("session_version") + 1)
    person.refresh_from_db(fields=["session_version"])


def _devices_delete(person: User) -> int:
    """Delete the person's authenticator and backup codes; how many devices there were."""
    removed = 0
    for model in (TOTPDevice, StaticDevice):
        devices = model.objects.filter(user=person)
        removed += devices.count()
        devices.delete()
    return removed


def two_factor_remove(*, person: User) -> TwoFactorRemoved:
    """A provider user turns two-factor sign-in off for themselves; CME staff may not (they must have it)."""
    if person.is_staff:
        raise ValidationError(STAFF_KEEP_TWO_FACTOR, code="staff_required")
    with transaction.atomic():
        return TwoFactorRemoved(devices_removed=_devices_delete(person))


def two_factor_reset(*, person: User, by: User) -> TwoFactorRemoved:
    """A superuser removes a person's devices (a lost phone): they enrol again at their next sign-in.

    Every session of the person ends, and the admin's log records who did it.
    """
    with transaction.atomic():
        removed = _devices_delete(person)
        _sessions_end(person)
        LogEntry.objects.log_actions(
            user_id=by.pk, queryset=[person], action_flag=CHANGE, change_message=RESET_LOGGED, single_object=True
        )
    return TwoFactorRemoved(devices_removed=removed)


def sessions_end_others(*, person: User) -> int:
    """End every session of the person; the caller keeps its own (update_session_auth_hash). The new version."""
    _sessions_end(person)
    return person.session_version
