"""The "It's time to update your contact information" reminders (to be built)."""
