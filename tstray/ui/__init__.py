"""The desktop face of tstray: the tray icon and its menu, notifications,
the first-run window and the status window.

Widgets here only show ``SessionSnapshot``s and emit signals for what the
user asks; they own no logic about tokens, never show one, and never call
the session themselves. ``tstray.app`` connects them.
"""
