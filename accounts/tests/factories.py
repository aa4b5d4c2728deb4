"""People for the accounts tests: the factories live with the organizations they belong to."""

from contacts.tests.factories import PASSWORD, InvitedUserFactory, StaffUserFactory, UserFactory, totp_code

__all__ = ["PASSWORD", "InvitedUserFactory", "StaffUserFactory", "UserFactory", "totp_code"]
