"""The test client the suite uses (conftest's client fixture), and the benchmarks too."""

import django.test
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


class Client(django.test.Client):
    """Django's test client, where force_login also passes the second factor of a person who has one.

    As entering a right code would (django_otp.login): the session holds the person's
    confirmed device. A person without a device (a CME staff member who has not enrolled)
    is signed in unverified, as after their password alone.
    """

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
