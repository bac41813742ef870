"""The calendar feed: a secret webcal URL per user that calendar apps subscribe to."""
