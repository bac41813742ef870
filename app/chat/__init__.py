"""The coach chat: access by meeting window, history, send."""
