"""Admin API: trigger and inspect jobs, look at the email log."""
