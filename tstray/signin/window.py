"""The sign-in window: TradeStation's sign-in page in an embedded Chromium
(QtWebEngine), which ends by catching the redirect that carries the code.

Nothing ever listens on the redirect address: the window refuses the
navigation to it, so no request leaves for that port, and hands the URL on
through a signal. This module never logs that URL (it carries the
authorization code), only hosts and paths; it refuses certificate errors
rather than ignoring them; and it is imported only by the sign-in window's
child process, never by the tray process.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWebEngineCore import (
    QWebEngineCertificateError,
    QWebEngineNewWindowRequest,
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from tstray.oauth.authorize import is_redirect_target
from tstray.ui.texts import tr

logger = logging.getLogger(__name__)

_ENCODED = QUrl.ComponentFormattingOption.FullyEncoded

# Only these schemes are ever handed to the system browser; a page must not
# be able to make the desktop open a local file or launch a URL handler.
_BROWSER_SCHEMES = frozenset({"http", "https"})


def describe_url(url: QUrl) -> str:
    """Returns ``scheme://host:port/path`` of ``url``: safe to log or show.

    The query and the fragment are dropped, because on the sign-in URL they
    carry the state and on the redirect they carry the code.
    """
    port = f":{url.port()}" if url.port() != -1 else ""
    return f"{url.scheme()}://{url.host()}{port}{url.path() or '/'}"


class _RedirectCatchingPage(QWebEnginePage):
    """A page that refuses every navigation to the redirect address, and
    keeps the window on the sign-in service's host.

    Qt 6 asks ``acceptNavigationRequest`` about server redirects too
    (``NavigationTypeRedirect``), so a 302 from the sign-in service to the
    redirect address stops here before Chromium requests anything from it.

    Signals:
        redirect_caught(str): the full redirect URL, for a main-frame
            navigation to the redirect address.
        external_link_requested(QUrl): a main-frame navigation to another
            web host (a help or terms link), refused here.
    """

    redirect_caught = Signal(str)
    external_link_requested = Signal(QUrl)

    def __init__(
        self,
        profile: QWebEngineProfile,
        redirect_uri: str,
        sign_in_host: str,
        parent: QObject | None,
    ) -> None:
        super().__init__(profile, parent)
        self._redirect_uri = redirect_uri
        self._sign_in_host = sign_in_host.lower()

    def acceptNavigationRequest(
        self,
        url: QUrl | str,
        navigation_type: QWebEnginePage.NavigationType,
        is_main_frame: bool,
        /,
    ) -> bool:
        qurl = QUrl(url)
        url_text = qurl.toString(_ENCODED)
        if not is_redirect_target(url_text, self._redirect_uri):
            if (
                is_main_frame
                and qurl.scheme().lower() in _BROWSER_SCHEMES
                and qurl.host().lower() != self._sign_in_host
            ):
                # The password is typed only on the sign-in service's own
                # pages; anything else belongs in the user's own browser.
                self.external_link_requested.emit(qurl)
                return False
            return super().acceptNavigationRequest(qurl, navigation_type, is_main_frame)

        if is_main_frame:
            self.redirect_caught.emit(url_text)
        else:
            # Only the page itself ends the sign-in; a frame inside it
            # (an advert, a widget) must not.
            logger.warning(
                "Refused a frame's navigation to the redirect address %s",
                describe_url(qurl),
            )
        return False


class _RedirectBlocker(QWebEngineUrlRequestInterceptor):
    """Blocks every request to the redirect address that gets past the page.

    The page's ``acceptNavigationRequest`` catches navigations; this catches
    the rest (images, scripts, ``fetch``), and also a main-frame request should
    a Qt version ever stop routing redirects through the page.

    Signals:
        redirect_caught(str): the full URL of a blocked main-frame request.
    """

    redirect_caught = Signal(str)

    def __init__(self, redirect_uri: str, parent: QObject | None) -> None:
        super().__init__(parent)
        self._redirect_uri = redirect_uri

    def interceptRequest(self, info: QWebEngineUrlRequestInfo, /) -> None:
        url = info.requestUrl()
        url_text = url.toString(_ENCODED)
        if not is_redirect_target(url_text, self._redirect_uri):
            return

        info.block(True)
        if (
            info.resourceType()
            == QWebEngineUrlRequestInfo.ResourceType.ResourceTypeMainFrame
        ):
            self.redirect_caught.emit(url_text)
        else:
            logger.warning(
                "Blocked a request for %s to the redirect address", describe_url(url)
            )


class SignInWindow(QWidget):
    """A window showing the sign-in page until it redirects or the user quits.

    The window is used once: it ends either with ``redirect_reached`` (and
    closes itself) or, when the user closes it first, with ``closed``. Only
    one of the two is ever emitted.

    Signals:
        redirect_reached(str): the full redirect URL, carrying the code.
        closed(): the user closed the window before the sign-in finished.
    """

    redirect_reached = Signal(str)
    closed = Signal()

    def __init__(
        self,
        sign_in_url: str,
        redirect_uri: str,
        profile_dir: Path,
        profile_name: str,
        title: str = "Sign in to TradeStation",
    ) -> None:
        super().__init__()
        self._finished = False
        self._redirect_uri = redirect_uri
        self.setWindowTitle(title)
        self.resize(520, 760)

        # The folder holds the sign-in service's cookies: the user's alone.
        profile_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        profile = QWebEngineProfile(profile_name)
        profile.setPersistentStoragePath(str(profile_dir / "storage"))
        profile.setCachePath(str(profile_dir / "cache"))
        # Session cookies too, so "keep me signed in" is not needed for the
        # next sign-in to skip the password.
        profile.setPersistentCookiesPolicy(
            QWebEngineProfile.PersistentCookiesPolicy.ForcePersistentCookies
        )

        self._address_label = QLabel(self)
        self._address_label.setObjectName("address")
        self._view = QWebEngineView(self)
        self._sign_in_host = QUrl(sign_in_url).host().lower()
        page = _RedirectCatchingPage(
            profile, redirect_uri, self._sign_in_host, self._view
        )
        self._blocker = _RedirectBlocker(redirect_uri, page)
        page.setUrlRequestInterceptor(self._blocker)
        self._view.setPage(page)
        self._page = page

        # A profile must outlive its pages. Children are deleted in the order
        # they were added, so adopting the profile last deletes it last.
        profile.setParent(self)
        self._profile = profile

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._address_label)
        layout.addWidget(self._view, 1)

        # Queued: the window closes after Chromium's navigation callback has
        # returned, never from inside it (Chromium aborts on that).
        queued = Qt.ConnectionType.QueuedConnection
        page.redirect_caught.connect(self.on_page_redirect_caught, queued)
        self._blocker.redirect_caught.connect(self.on_page_redirect_caught, queued)
        page.certificateError.connect(self.on_page_certificate_error)
        page.newWindowRequested.connect(self.on_page_new_window_requested)
        page.external_link_requested.connect(
            self.on_page_external_link_requested, queued
        )
        self._view.urlChanged.connect(self.on_view_url_changed)

        start_url = QUrl(sign_in_url)
        self.on_view_url_changed(start_url)
        logger.info("Opening the sign-in page at %s", describe_url(start_url))
        self._view.setUrl(start_url)

    def page(self) -> QWebEnginePage:
        """The page shown in the window."""
        return self._page

    @property
    def address_text(self) -> str:
        """What the address line shows: a lock or a warning, then the host."""
        return self._address_label.text()

    def on_page_redirect_caught(self, url: str) -> None:
        """Ends the sign-in with the redirect URL, once."""
        if self._finished:
            return
        self._finished = True

        logger.info("The sign-in page redirected to %s", describe_url(QUrl(url)))
        self.redirect_reached.emit(url)
        self.close()

    def on_page_certificate_error(self, error: QWebEngineCertificateError) -> None:
        """Refuses a page whose certificate does not check out.

        Users type their password here, so an untrusted certificate is never
        accepted, not even on request.
        """
        logger.warning(
            "Refused %s: its certificate is not valid (%s)",
            describe_url(error.url()),
            error.description(),
        )
        error.rejectCertificate()

    def on_page_new_window_requested(self, request: QWebEngineNewWindowRequest) -> None:
        """Shows a page's pop-up here when it stays on the same host.

        A pop-up to another host (help pages, terms, social links) goes to
        the system browser instead, so this window stays on the sign-in.
        """
        url = request.requestedUrl()
        if url.isEmpty() or not url.isValid():
            # window.open() with no address, filled in by script: nothing
            # the sign-in needs.
            logger.warning("Refused a pop-up without an address")
            return

        same_host = url.host().lower() == self._sign_in_host
        if same_host or is_redirect_target(url.toString(_ENCODED), self._redirect_uri):
            logger.info(
                "Opening the pop-up %s in the sign-in window", describe_url(url)
            )
            self._view.setUrl(url)
            return

        if url.scheme().lower() not in _BROWSER_SCHEMES:
            logger.warning("Refused a pop-up to %s", describe_url(url))
            return

        logger.info("Opening the pop-up %s in the system browser", describe_url(url))
        QDesktopServices.openUrl(url)

    def on_page_external_link_requested(self, url: QUrl) -> None:
        """Opens a link away from the sign-in service in the system browser."""
        logger.info("Opening %s in the system browser", describe_url(url))
        QDesktopServices.openUrl(url)

    def on_view_url_changed(self, url: QUrl) -> None:
        """Shows where the user is about to type: the host, and a lock on https."""
        host = url.host() or f"{url.scheme()}:"
        if url.scheme().lower() == "https":
            self._address_label.setText(f"\N{LOCK} {host}")
        else:
            warning = tr("Not secure: {host}").format(host=host)
            self._address_label.setText(f"\N{WARNING SIGN} {warning}")

    def closeEvent(self, event: QCloseEvent) -> None:
        """Counts a close before the redirect as the user cancelling."""
        if not self._finished:
            self._finished = True
            logger.info("The sign-in window was closed before the sign-in finished")
            self.closed.emit()
        super().closeEvent(event)
