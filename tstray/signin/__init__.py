"""The sign-in window and the code that runs it in its own process.

``launcher`` (imported by the tray) starts ``window_process`` as a child
process and awaits its one-line answer; only that child imports ``window``
and so QtWebEngine. Nothing in this package logs the redirect URL or the
authorization code it carries.
"""
