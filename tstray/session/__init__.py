"""The token lifecycle: one session, its states, and the refresh loop."""
