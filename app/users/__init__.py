"""Users: the profile and its representation."""
